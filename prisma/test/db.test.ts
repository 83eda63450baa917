import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startMariaDb, skipUnlessInstalled, type MariaDbServer } from '@foundation/test-servers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
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

describe('SQLite migrations', () => {
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
    await expect(openDatabase({ url: 'mysql://app:pw@db.internal:3306/' })).rejects.toThrow(
      /must name one database/,
    );
    // An option the driver would silently ignore is refused, naming it but not its value.
    const typo = await openDatabase({ url: 'mysql://app:pw@db/app?sslmode=pw-lookalike' }).catch(
      (e: unknown) => e,
    );
    expect(String(typo)).toMatch(/parameter "sslmode" is not supported; the only one is ssl=true/);
    expect(String(typo)).not.toContain('pw-lookalike');
    await expect(
      openDatabase({ url: 'mysql://app@db/app', replicaUrls: ['file:./replica.db'] }),
    ).rejects.toThrow(/replicaUrls must be mysql:\/\/ or mariadb:\/\/ URLs/);
  });

  it('runs SQLite in WAL mode', async () => {
    const db = await openDatabase({ url: url('wal.db'), migrate: true });
    const [mode] =
      await db.prisma.$queryRawUnsafe<{ journal_mode: string }[]>('PRAGMA journal_mode');
    expect(mode?.journal_mode).toBe('wal');
    expect(db.poolStats()).toEqual([]);
    await db.close();
  });
});

/**
 * One backend the repository tests run on: a fresh, migrated database per call of
 * `database()`. The same tests below run on each.
 */
interface Backend {
  name: string;
  skip: boolean;
  start(): Promise<void>;
  database(name: string): Promise<string>;
  stop(): Promise<void>;
}

let mariadb: MariaDbServer | undefined;
const backends: Backend[] = [
  {
    name: 'SQLite',
    skip: false,
    start: async () => undefined,
    database: async (name) => url(`${name}.db`),
    stop: async () => undefined,
  },
  {
    name: 'MariaDB',
    skip: skipUnlessInstalled('mariadbd', 'mariadb-server'),
    async start() {
      mariadb = await startMariaDb();
    },
    database: (name) => {
      if (!mariadb) throw new Error('MariaDB not started');
      return mariadb.createDatabase(name);
    },
    stop: async () => mariadb?.dispose(),
  },
];

describe.each(backends)('the repository on $name', (backend) => {
  beforeAll(() => (backend.skip ? undefined : backend.start()));
  afterAll(() => (backend.skip ? undefined : backend.stop()));

  it.skipIf(backend.skip)(
    'creates UUIDv7 ids and cascades credential deletes (foreign keys on)',
    async () => {
      const db = await openDatabase({ url: await backend.database('crud'), migrate: true });
      const user = await db.prisma.user.create({
        data: {
          username: 'ada',
          email: 'ada@example.com',
          displayName: 'Ada',
          credential: { create: { passwordHash: 'h' } },
        },
      });
      expect(user.id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7/); // UUIDv7
      expect(user.role).toBe('user');
      expect(user.createdAt).toBeInstanceOf(Date);
      expect(Math.abs(user.createdAt.getTime() - Date.now())).toBeLessThan(60_000);
      const found = await db.prisma.user.findUnique({
        where: { username: 'ada' },
        include: { credential: true },
      });
      expect(found?.credential?.passwordHash).toBe('h');
      await db.prisma.user.delete({ where: { id: user.id } });
      expect(await db.prisma.credential.count()).toBe(0);
      await db.close();
    },
  );

  it.skipIf(backend.skip)('reports which field a unique violation collided on', async () => {
    const db = await openDatabase({ url: await backend.database('uniq'), migrate: true });
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

  it.skipIf(backend.skip)(
    'keeps times to the millisecond and nulls as nulls, and pages by id',
    async () => {
      const db = await openDatabase({ url: await backend.database('types'), migrate: true });
      const owner = await db.prisma.user.create({
        data: { username: 'grace', email: 'grace@example.com', displayName: 'Grace' },
      });
      const expiresAt = new Date('2031-02-03T04:05:06.789Z');
      await db.prisma.apiKey.create({
        data: {
          id: 'a'.repeat(16),
          name: 'k',
          secretHash: 'x',
          scopes: 'a b',
          ownerId: owner.id,
          expiresAt,
        },
      });
      await db.prisma.apiKey.create({
        data: { id: 'b'.repeat(16), name: 'bootstrap', secretHash: 'y', scopes: '', ownerId: null },
      });
      const keys = await db.prisma.apiKey.findMany({ orderBy: { id: 'asc' } });
      expect(keys.map((k) => [k.id[0], k.expiresAt?.toISOString() ?? null, k.ownerId])).toEqual([
        ['a', expiresAt.toISOString(), owner.id],
        ['b', null, null],
      ]);
      const page = await db.prisma.apiKey.findMany({
        where: { id: { gt: 'a'.repeat(16) } },
        orderBy: { id: 'asc' },
        take: 1,
      });
      expect(page.map((k) => k.name)).toEqual(['bootstrap']);
      // Interactive transactions roll back as a whole.
      await expect(
        db.prisma.$transaction(async (tx) => {
          await tx.apiKey.update({ where: { id: 'a'.repeat(16) }, data: { name: 'renamed' } });
          throw new Error('abort');
        }),
      ).rejects.toThrow('abort');
      expect(
        (await db.prisma.apiKey.findUniqueOrThrow({ where: { id: 'a'.repeat(16) } })).name,
      ).toBe('k');
      await db.close();
    },
  );
});
