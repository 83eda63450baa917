/**
 * MySQL/MariaDB specifics on real servers: the migrator, the password kept secret, read
 * replicas, pool gauges, and an outage the client rides out without being reopened.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import {
  freePort,
  skipUnlessInstalled,
  startMariaDb,
  type MariaDbServer,
} from '@foundation/test-servers';
import { createConnection } from 'mariadb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  describeServer,
  isDatabaseUnavailable,
  migrateDatabase,
  openDatabase,
  type PoolOptions,
} from '../src/index.js';
import { migrateMysql, mysqlMigrationsDir, readMysqlMigrations } from '../src/mysql-migrate.js';
import { prismaDir, repoRoot } from '../src/paths.js';

/** Runs `pnpm db:migrate`'s script as a process with `databaseUrl`; never rejects. */
function dbMigrate(databaseUrl: string): Promise<{ code: number; output: string }> {
  return new Promise((resolve) => {
    execFile(
      path.join(repoRoot, 'node_modules', '.bin', 'tsx'),
      [path.join(prismaDir, 'scripts', 'migrate.ts')],
      { env: { ...process.env, DATABASE_URL: databaseUrl }, timeout: 60_000 },
      (error, stdout, stderr) =>
        resolve({ code: error ? Number(error.code ?? 1) : 0, output: stdout + stderr }),
    );
  });
}

const skip = skipUnlessInstalled('mariadbd', 'mariadb-server');

/*
 * KNOWN DRIVER ISSUE, tolerated here only: closing a mariadb 3.4.5 pool around a server
 * stop/restart sometimes leaves a connection with no 'error' listener, whose socket closing
 * later surfaces as an unhandled rejection (ER_SOCKET_UNEXPECTED_CLOSE, roughly one run in
 * three of this file). Services never close a pool while the database restarts, and the
 * service-level outage test (subgraphs/user/test/database-outage.test.ts) runs without this
 * tolerance. Any other unhandled rejection still fails the run; this one is counted and
 * reported loudly rather than hidden.
 */
const tolerated = (reason: unknown) =>
  (reason as { code?: unknown } | null)?.code === 'ER_SOCKET_UNEXPECTED_CLOSE';
let toleratedCount = 0;
const vitestHandlers = process.listeners('unhandledRejection');
process.removeAllListeners('unhandledRejection');
process.on('unhandledRejection', (reason, promise) => {
  if (tolerated(reason)) {
    toleratedCount++;
    console.warn(
      `!!! mariadb driver: unhandled ER_SOCKET_UNEXPECTED_CLOSE tolerated (${toleratedCount})`,
    );
    return;
  }
  for (const handler of vitestHandlers) handler(reason, promise);
});

/** Short timeouts so failures come quickly; the defaults are in config/config.yaml. */
const pool: PoolOptions = {
  connectionLimit: 4,
  minimumIdle: 1,
  acquireTimeoutMs: 1_500,
  connectTimeoutMs: 1_000,
  idleTimeoutSeconds: 60,
};

/** Runs SQL as root on `server`, outside the code under test. */
async function asRoot<T>(server: MariaDbServer, database: string | null, sql: string): Promise<T> {
  const connection = await createConnection({
    host: '127.0.0.1',
    port: server.port,
    user: 'root',
    ...(database ? { database } : {}),
  });
  try {
    return await connection.query<T>(sql);
  } finally {
    await connection.end();
  }
}

describe.skipIf(skip)('MySQL on a real MariaDB', () => {
  let server: MariaDbServer;
  let tmp: string;
  beforeAll(async () => {
    server = await startMariaDb();
    tmp = mkdtempSync(path.join(tmpdir(), 'foundation-mysql-'));
  });
  afterAll(async () => {
    await server?.dispose();
    rmSync(tmp, { recursive: true, force: true });
  });

  describe('pnpm db:migrate (migrateDatabase)', () => {
    it('creates a missing database, applies each migration once, recording it as Prisma does', async () => {
      const url = server.url.replace(/\/\w+$/, '/created_by_migrate');
      const all = await readMysqlMigrations();
      expect(all.length).toBeGreaterThan(0);
      const logs: string[] = [];
      expect(await migrateDatabase(url, { log: (m) => logs.push(m) })).toEqual({
        applied: all.map((m) => m.name),
      });
      expect(logs).toEqual(all.map((m) => `applied migration ${m.name}`));
      expect(await migrateDatabase(url)).toEqual({ applied: [] });
      const rows = await asRoot<
        {
          migration_name: string;
          checksum: string;
          finished: number | bigint;
          applied_steps_count: number;
        }[]
      >(
        server,
        'created_by_migrate',
        'SELECT migration_name, checksum, finished_at IS NOT NULL AS finished, applied_steps_count FROM _prisma_migrations',
      );
      expect(rows.map((r) => ({ ...r, finished: Number(r.finished) }))).toEqual(
        all.map((m) => ({
          migration_name: m.name,
          checksum: createHash('sha256')
            .update(readFileSync(path.join(mysqlMigrationsDir, m.name, 'migration.sql'), 'utf8'))
            .digest('hex'),
          finished: 1,
          applied_steps_count: 1,
        })),
      );
    });

    it('takes turns when several processes migrate at once', async () => {
      const url = await server.createDatabase('concurrent');
      const results = await Promise.all([1, 2, 3].map(() => migrateDatabase(url)));
      expect(results.flatMap((r) => r.applied)).toHaveLength((await readMysqlMigrations()).length);
    });

    it('refuses to go on when an applied migration was edited, saying what to do', async () => {
      const url = await server.createDatabase('edited');
      await migrateDatabase(url);
      await asRoot(server, 'edited', "UPDATE _prisma_migrations SET checksum = 'f00d'");
      await expect(migrateDatabase(url)).rejects.toThrow(
        /was changed after it was applied to root@127\.0\.0\.1:\d+\/edited.*Restore its migration\.sql/s,
      );
    });

    it('records a failed migration and blocks later runs until it is resolved', async () => {
      const dir = path.join(tmp, 'migrations');
      cpSync(mysqlMigrationsDir, dir, { recursive: true });
      const broken = path.join(dir, '29990101000000_broken');
      cpSync(path.join(dir, (await readMysqlMigrations(dir))[0]!.name), broken, {
        recursive: true,
      });
      writeFileSync(
        path.join(broken, 'migration.sql'),
        'ALTER TABLE `users` ADD COLUMN `bio` VARCHAR(191) NULL;\nALTER TABLE `no_such_table` ADD COLUMN `x` INT;\n',
      );
      const url = await server.createDatabase('failing');
      await expect(migrateMysql(url, { dir })).rejects.toThrow(
        /Migration 29990101000000_broken failed on root@127\.0\.0\.1:\d+\/failing: .*no_such_table.*half applied/s,
      );
      await expect(migrateMysql(url, { dir })).rejects.toThrow(
        /29990101000000_broken failed earlier .* mark it rolled back .*rolled_back_at/s,
      );
      // Resolved by hand (the half-applied column removed, the attempt marked rolled back),
      // and the migration fixed: it applies.
      await asRoot(server, 'failing', 'ALTER TABLE users DROP COLUMN bio');
      await asRoot(
        server,
        'failing',
        'UPDATE _prisma_migrations SET rolled_back_at = NOW(3) WHERE finished_at IS NULL',
      );
      writeFileSync(
        path.join(broken, 'migration.sql'),
        'ALTER TABLE `users` ADD COLUMN `bio` VARCHAR(191) NULL;\n',
      );
      expect(await migrateMysql(url, { dir })).toEqual({ applied: ['29990101000000_broken'] });
    });
  });

  describe('the database password', () => {
    const password = 'Sup3r-Secret-Pa55word';
    beforeAll(async () => {
      await asRoot(server, null, `CREATE USER 'app'@'127.0.0.1' IDENTIFIED BY '${password}'`);
      await asRoot(server, null, `GRANT ALL ON *.* TO 'app'@'127.0.0.1'`);
    });

    const everythingSaid = (error: unknown) =>
      [
        String(error),
        (error as Error).stack ?? '',
        JSON.stringify(error, Object.getOwnPropertyNames(error)),
      ].join('\n');

    it('works when right, and is named nowhere when the server cannot be reached', async () => {
      const good = `mysql://app:${encodeURIComponent(password)}@127.0.0.1:${server.port}/foundation`;
      await migrateDatabase(good);
      const db = await openDatabase({ url: good, pool });
      expect(await db.prisma.user.count()).toBe(0);
      await db.close();

      const closedPort = await freePort();
      const unreachable = `mysql://app:${password}@127.0.0.1:${closedPort}/foundation`;
      const down = await openDatabase({ url: unreachable, pool });
      const queryError = await down.prisma.user.count().catch((e: unknown) => e);
      await down.close();
      expect(isDatabaseUnavailable(queryError)).toBe(true);
      expect(everythingSaid(queryError)).not.toContain(password);

      const migrateError = await migrateDatabase(unreachable, { pool }).catch((e: unknown) => e);
      expect(migrateError).toBeInstanceOf(Error);
      expect(everythingSaid(migrateError)).not.toContain(password);
      expect(describeServer(unreachable)).toBe(`app@127.0.0.1:${closedPort}/foundation`);
    });

    it('is never printed by pnpm db:migrate, which names the server instead', async () => {
      const good = `mysql://app:${encodeURIComponent(password)}@127.0.0.1:${server.port}/by_script`;
      const first = await dbMigrate(good);
      expect(first.code).toBe(0);
      expect(first.output).toContain(`migrating app@127.0.0.1:${server.port}/by_script`);
      expect(first.output).toMatch(/applied migration \d{14}_init\n\d+ migration\(s\) applied/);
      expect((await dbMigrate(good)).output).toContain('database is up to date');
      const wrong = await dbMigrate(good.replace('@127', '-wrong@127'));
      expect(wrong.code).toBe(1);
      expect(wrong.output).toMatch(/migration failed: .*Access denied for user 'app'/);
      for (const run of [first, wrong]) expect(run.output).not.toContain(password);
    });

    it('is named nowhere when it is wrong', async () => {
      const wrong = `mysql://app:${password}-wrong@127.0.0.1:${server.port}/foundation`;
      const db = await openDatabase({ url: wrong, pool });
      const queryError = await db.prisma.user.count().catch((e: unknown) => e);
      await db.close();
      expect(queryError).toBeInstanceOf(Error);
      expect(everythingSaid(queryError)).not.toContain(password);
      const migrateError = await migrateDatabase(wrong, { pool }).catch((e: unknown) => e);
      expect(String(migrateError)).toMatch(/Access denied for user 'app'/);
      expect(everythingSaid(migrateError)).not.toContain(password);
    });

    it('is refused in a URL that is not a URL, without echoing it', async () => {
      const error = await openDatabase({ url: `mysql://app:${password}@[bad` }).catch(
        (e: unknown) => e,
      );
      expect(String(error)).toMatch(/not a valid URL/);
      expect(everythingSaid(error)).not.toContain(password);
    });
  });

  it('asks for TLS with ssl=true (this test server has none, so it refuses)', async () => {
    const plain = await openDatabase({ url: server.url, pool });
    expect(await plain.ping()).toBe(true);
    await plain.close();
    const tls = await openDatabase({ url: `${server.url}?ssl=true`, pool });
    const error = await tls.prisma.user.count().catch((e: unknown) => e);
    await tls.close();
    expect(JSON.stringify(error, Object.getOwnPropertyNames(error))).toMatch(/SSL|TLS|ssl/);
  });

  it('reports pool gauges: active, idle and waiting connections', async () => {
    const url = await server.createDatabase('gauges');
    const db = await openDatabase({ url, pool: { ...pool, connectionLimit: 2 }, migrate: true });
    await db.prisma.user.count();
    const [idle] = db.poolStats();
    expect(idle).toMatchObject({
      role: 'primary',
      server: describeServer(url),
      active: 0,
      waiting: 0,
    });
    expect(idle!.idle).toBeGreaterThanOrEqual(1);
    // Two transactions hold both connections; a third query waits for one.
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    const transactions = [1, 2].map(() =>
      db.prisma.$transaction(async (tx) => {
        await tx.user.count();
        await held;
      }),
    );
    await until(() => db.poolStats()[0]!.active === 2);
    // Prisma queries are lazy: then() sends it.
    const waiting = db.prisma.user.count().then((n) => n);
    await until(() => db.poolStats()[0]!.waiting === 1);
    expect(db.poolStats()[0]).toMatchObject({ active: 2, idle: 0, waiting: 1 });
    release();
    await Promise.all([...transactions, waiting]);
    await db.close();
  });

  it('fails fast with a recognisable error while the server is down, and recovers by itself', async () => {
    const url = await server.createDatabase('outage');
    const db = await openDatabase({ url, pool, migrate: true });
    expect(await db.ping()).toBe(true);
    await server.stop();
    const started = Date.now();
    const error = await db.prisma.user.count().catch((e: unknown) => e);
    // Bounded by the pool's acquire timeout (1.5 s here), not a hang.
    expect(Date.now() - started).toBeLessThan(pool.acquireTimeoutMs + 3_000);
    expect(isDatabaseUnavailable(error)).toBe(true);
    expect(isDatabaseUnavailable(new Error('some bug'))).toBe(false);
    expect(await db.ping(1_000)).toBe(false);
    await server.start();
    // The same client, not reopened.
    await until(() => db.ping(1_000));
    expect(await db.prisma.user.count()).toBe(0);
    // Let the pool finish reopening its idle connections before closing it (see below).
    await until(() => db.poolStats()[0]!.idle >= pool.minimumIdle);
    await db.close();
  });
});

describe.skipIf(skip)('read replicas (two real MariaDB servers)', () => {
  // Real replication is not needed to prove the routing: the "replica" is a second,
  // independent server, migrated and seeded by the test with different rows, so every
  // answer shows which server gave it.
  let primaryServer: MariaDbServer;
  let replicaServer: MariaDbServer;
  beforeAll(async () => {
    [primaryServer, replicaServer] = await Promise.all([startMariaDb(), startMariaDb()]);
    await Promise.all([migrateDatabase(primaryServer.url), migrateDatabase(replicaServer.url)]);
    const seed = (name: string) => ({
      data: { username: name, email: `${name}@example.com`, displayName: name },
    });
    for (const [url, name] of [
      [primaryServer.url, 'on_primary'],
      [replicaServer.url, 'on_replica'],
    ] as const) {
      const db = await openDatabase({ url, pool });
      await db.prisma.user.create(seed(name));
      await db.close();
    }
  });
  afterAll(async () => {
    await Promise.all([primaryServer?.dispose(), replicaServer?.dispose()]);
  });

  it('sends model reads to the replica; writes, transactions and db.primary to the primary', async () => {
    const db = await openDatabase({
      url: primaryServer.url,
      replicaUrls: [replicaServer.url],
      pool,
    });
    const names = async (rows: Promise<{ username: string }[]>) =>
      (await rows).map((u) => u.username);

    expect(await names(db.prisma.user.findMany())).toEqual(['on_replica']);
    expect(await db.prisma.user.count()).toBe(1);
    expect((await db.prisma.user.findUnique({ where: { username: 'on_replica' } }))?.username).toBe(
      'on_replica',
    );

    const written = await db.prisma.user.create({
      data: { username: 'written', email: 'w@example.com', displayName: 'W' },
    });
    // The write went to the primary: a replica read does not see it (as under lag) ...
    expect(await db.prisma.user.findUnique({ where: { id: written.id } })).toBeNull();
    // ... and reading your own write means asking the primary.
    expect(await names(db.primary.user.findMany({ orderBy: { username: 'asc' } }))).toEqual([
      'on_primary',
      'written',
    ]);
    // A transaction runs wholly on the primary, its reads included.
    const inTransaction = await db.prisma.$transaction((tx) =>
      tx.user.findMany({ orderBy: { username: 'asc' } }),
    );
    expect(inTransaction.map((u) => u.username)).toEqual(['on_primary', 'written']);
    // Raw SQL may write, so it goes to the primary too.
    const [raw] = await db.prisma.$queryRawUnsafe<{ n: bigint | number }[]>(
      'SELECT COUNT(*) AS n FROM users',
    );
    expect(Number(raw?.n)).toBe(2);

    expect(db.poolStats().map((p) => [p.role, p.server])).toEqual([
      ['primary', describeServer(primaryServer.url)],
      ['replica', describeServer(replicaServer.url)],
    ]);
    await db.close();
  });

  it('takes several replicas in turn', async () => {
    const db = await openDatabase({
      url: primaryServer.url,
      replicaUrls: [replicaServer.url, primaryServer.url],
      pool,
    });
    const seen = new Set<string>();
    for (let i = 0; i < 4; i++) {
      for (const user of await db.prisma.user.findMany({
        where: { username: { startsWith: 'on_' } },
      })) {
        seen.add(user.username);
      }
    }
    expect([...seen].sort()).toEqual(['on_primary', 'on_replica']);
    await db.close();
  });

  it('answers from the primary while a replica is down, and says so', async () => {
    const logs: string[] = [];
    const db = await openDatabase({
      url: primaryServer.url,
      replicaUrls: [replicaServer.url],
      pool,
      log: (message) => logs.push(message),
    });
    expect(await db.prisma.user.count({ where: { username: 'on_replica' } })).toBe(1);
    await replicaServer.stop();
    // The first read waits for the replica's acquire timeout, then the primary answers.
    const names = await db.prisma.user.findMany({ where: { username: { startsWith: 'on_' } } });
    expect(names.map((u) => u.username)).toEqual(['on_primary']);
    expect(logs).toEqual([
      `replica ${describeServer(replicaServer.url)} is unavailable: its reads go to the primary for a while`,
    ]);
    // Left out now: the next read goes straight to the primary, without waiting.
    const started = Date.now();
    expect(await db.prisma.user.count({ where: { username: 'on_primary' } })).toBe(1);
    expect(Date.now() - started).toBeLessThan(pool.acquireTimeoutMs);
    // Closed while the replica is still down: a pool closed while it is reconnecting to a
    // live server can leave mariadb 3.4.5 with a stray connection that throws later.
    await db.close();
    await replicaServer.start();
  });

  it('refuses replicas for SQLite, which has none', async () => {
    await expect(
      openDatabase({ url: 'file:./.data/never.db', replicaUrls: [replicaServer.url] }),
    ).rejects.toThrow(/needs a MySQL DATABASE_URL/);
  });
});

async function until(probe: () => boolean | Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await probe())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
