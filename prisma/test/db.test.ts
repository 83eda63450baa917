import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  isUniqueViolation,
  migrateDatabase,
  openDatabase,
  pendingSchemaChange,
} from '../src/index.js';
import { migrationsDir } from '../src/migrate.js';

const dir = mkdtempSync(path.join(tmpdir(), 'foundation-db-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const url = (name: string) => `file:${path.join(dir, name)}`;

describe('migrations', () => {
  it('create the database, apply once, and record checksums like migrate deploy', async () => {
    const first = await migrateDatabase(url('fresh/nested/app.db'));
    const all = readdirSync(migrationsDir('sqlite'))
      .filter((name) => /^\d{14}_/.test(name))
      .sort();
    expect(all[0]).toMatch(/^\d{14}_init$/);
    expect(first.applied).toEqual(all);
    expect((await migrateDatabase(url('fresh/nested/app.db'))).applied).toEqual([]);

    const db = await openDatabase({ url: url('fresh/nested/app.db') });
    const rows = await db.prisma.$queryRawUnsafe<
      { migration_name: string; checksum: string; finished_at: unknown }[]
    >('SELECT migration_name, checksum, finished_at FROM _prisma_migrations');
    await db.close();
    expect(rows).toEqual(
      all.map((name) => ({
        migration_name: name,
        checksum: createHash('sha256')
          .update(readFileSync(path.join(migrationsDir('sqlite'), name, 'migration.sql'), 'utf8'))
          .digest('hex'),
        finished_at: expect.anything(),
      })),
    );
  });

  it('match the schema: a model change without a migration fails here', async () => {
    expect(await pendingSchemaChange()).toBe('');
  });

  it('refuse to go on when an applied migration was edited, saying what to do', async () => {
    await migrateDatabase(url('tampered.db'));
    const db = await openDatabase({ url: url('tampered.db') });
    await db.prisma.$executeRawUnsafe("UPDATE _prisma_migrations SET checksum = 'f00d'");
    await db.close();
    await expect(migrateDatabase(url('tampered.db'))).rejects.toThrow(
      /was changed after it was applied.*Restore its migration\.sql.*pnpm db:migration:new/s,
    );
  });
});

describe('openDatabase', () => {
  it('refuses URLs it cannot serve, naming the supported schemes', async () => {
    await expect(openDatabase({ url: 'postgres://db/app' })).rejects.toThrow(
      'Unsupported database URL scheme "postgres:" in DATABASE_URL; supported: file:',
    );
    await expect(openDatabase({ url: 'file::memory:' })).rejects.toThrow(/must name a file/);
  });

  it('runs in WAL mode with foreign keys on, cascading credential deletes', async () => {
    const db = await openDatabase({ url: url('crud.db'), migrate: true });
    const [mode] =
      await db.prisma.$queryRawUnsafe<{ journal_mode: string }[]>('PRAGMA journal_mode');
    expect(mode?.journal_mode).toBe('wal');
    const user = await db.prisma.user.create({
      data: {
        username: 'ada',
        email: 'ada@example.com',
        displayName: 'Ada',
        credential: { create: { passwordHash: 'h' } },
      },
    });
    expect(user.id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7/); // UUIDv7
    await db.prisma.user.delete({ where: { id: user.id } });
    expect(await db.prisma.credential.count()).toBe(0);
    await db.close();
  });

  it('reports which field a unique violation collided on', async () => {
    const db = await openDatabase({ url: url('unique.db'), migrate: true });
    await db.prisma.user.create({
      data: { username: 'ada', email: 'ada@example.com', displayName: 'Ada' },
    });
    const byName = await db.prisma.user
      .create({ data: { username: 'ada', email: 'other@example.com', displayName: 'A' } })
      .catch((e: unknown) => e);
    const byEmail = await db.prisma.user
      .create({ data: { username: 'other', email: 'ada@example.com', displayName: 'A' } })
      .catch((e: unknown) => e);
    expect(isUniqueViolation(byName)).toEqual({ fields: ['username'] });
    expect(isUniqueViolation(byEmail)).toEqual({ fields: ['email'] });
    expect(isUniqueViolation(new Error('other'))).toBeNull();
    await db.close();
  });
});
