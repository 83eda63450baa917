/**
 * @foundation/db: the database of Foundation. `openDatabase()` gives a Prisma client for
 * the URL in config: SQLite (`file:`, embedded mode) or MySQL/MariaDB (`mysql://`,
 * `mariadb://`, distributed mode), with reads sent to replicas when there are any.
 */
import { PrismaBetterSqlite3 } from '@prisma/adapter-better-sqlite3';
import { PrismaMariaDb } from '@prisma/adapter-mariadb';
import { PrismaClient as MysqlPrismaClient } from './__generated__/mysql/client.js';
import { PrismaClient as SqlitePrismaClient } from './__generated__/sqlite/client.js';
import { isDatabaseUnavailable } from './errors.js';
import { migrateDatabase, type MigrateOptions } from './migrate.js';
import {
  connectionConfigOf,
  createMysqlPool,
  defaultPoolOptions,
  type MysqlPool,
  type PoolOptions,
} from './mysql-pool.js';
import { providerOf, sqliteFileOf, type Provider } from './paths.js';
import { routeReadsToReplicas } from './replicas.js';

export type { ApiKey, Credential, User } from './__generated__/sqlite/client.js';
export { migrateDatabase, pendingSchemaChange } from './migrate.js';
export { defaultPoolOptions, describeServer, type PoolOptions } from './mysql-pool.js';
export { providerOf, type Provider } from './paths.js';
export { isDatabaseUnavailable, isUniqueViolation } from './errors.js';

type Portable<Delegate> = Omit<Delegate, 'createManyAndReturn' | 'updateManyAndReturn'>;

/**
 * The Prisma client every service codes against, whatever the database. Both generated
 * clients come from the same models and differ only in provider-specific extras; this type
 * (the SQLite client's) drops the SQLite-only ones (`createManyAndReturn`,
 * `updateManyAndReturn`), and the MySQL client's extras (full-text `search`) are not used.
 * TypeScript cannot relate the two generated type trees, so the MySQL client is handed out
 * under this type by a cast; the same repository tests run on both (test/db.test.ts).
 */
export type PrismaClient = Omit<SqlitePrismaClient, 'user' | 'credential' | 'apiKey'> & {
  user: Portable<SqlitePrismaClient['user']>;
  credential: Portable<SqlitePrismaClient['credential']>;
  apiKey: Portable<SqlitePrismaClient['apiKey']>;
};

/** Connections of one MySQL pool, for the `db_pool_*` gauges. */
export interface PoolStats {
  /** `primary` or `replica` */
  role: 'primary' | 'replica';
  /** `user@host:port/database` (never the password). */
  server: string;
  /** Connections running a query or a transaction. */
  active: number;
  /** Open connections waiting for work. */
  idle: number;
  /** Queries waiting for a connection. */
  waiting: number;
}

/** An open database: the Prisma client and how to close it. */
export interface Database {
  /**
   * The client to use. With replicas configured, model reads (`findMany`, `count`, …) are
   * served by a replica and may lag the primary by a moment; writes, transactions and raw
   * SQL go to the primary.
   */
  prisma: PrismaClient;
  /**
   * The primary alone: for reads that must see a write just made (read-your-writes), such as
   * a user's own record right after registering or editing it, and for security decisions
   * (credentials, API key revocation) that must never act on stale rows.
   */
  primary: PrismaClient;
  provider: Provider;
  /** Whether the primary answers a trivial query within `timeoutMs` (for `/ready`). */
  ping(timeoutMs?: number): Promise<boolean>;
  /** The connections of each pool; empty for SQLite, which has no pool. */
  poolStats(): PoolStats[];
  close(): Promise<void>;
}

export interface OpenDatabaseOptions extends MigrateOptions {
  /**
   * `file:` URL (SQLite; a relative path is resolved against the repository root) or
   * `mysql://user:password@host:port/database` (MySQL/MariaDB; `mariadb://` too).
   */
  url: string;
  /** MySQL only: replicas that serve reads, URLs like `url`. @default [] */
  replicaUrls?: readonly string[];
  /** MySQL only: pool size and timeouts. @default defaultPoolOptions */
  pool?: PoolOptions;
  /** Apply pending migrations first (services do, on every start). */
  migrate?: boolean;
}

/**
 * Opens the database at `url`, picking the client and driver from its scheme.
 * @throws Error naming the supported schemes when the URL is not one of them.
 */
export async function openDatabase(options: OpenDatabaseOptions): Promise<Database> {
  const provider = providerOf(options.url);
  if (provider === 'mysql') return openMysql(options);
  if ((options.replicaUrls ?? []).length > 0) {
    throw new Error('database.replicaUrls needs a MySQL DATABASE_URL; SQLite has no replicas');
  }
  const file = sqliteFileOf(options.url);
  if (options.migrate) await migrateDatabase(options.url, options);
  const adapter = new PrismaBetterSqlite3({ url: `file:${file}`, timeout: 5_000 });
  const prisma = new SqlitePrismaClient({ adapter });
  // WAL lets readers proceed while one writer writes: the services of embedded mode, and
  // separate processes sharing the file, read concurrently.
  await prisma.$queryRawUnsafe('PRAGMA journal_mode = WAL');
  await prisma.$executeRawUnsafe('PRAGMA foreign_keys = ON');
  return {
    prisma,
    primary: prisma,
    provider,
    ping: (timeoutMs) => ping(prisma, timeoutMs),
    poolStats: () => [],
    close: () => prisma.$disconnect(),
  };
}

async function openMysql(options: OpenDatabaseOptions): Promise<Database> {
  const poolOptions = options.pool ?? defaultPoolOptions;
  // Every URL is checked before any pool exists: a pool, once created, keeps connecting in
  // the background, and a bad replica URL must not leave the primary's pool running.
  for (const url of [options.url, ...(options.replicaUrls ?? [])]) {
    if (providerOf(url) !== 'mysql') {
      throw new Error(
        'database.replicaUrls must be mysql:// or mariadb:// URLs, like DATABASE_URL',
      );
    }
    connectionConfigOf(url, poolOptions);
  }
  if (options.migrate) await migrateDatabase(options.url, { ...options, pool: poolOptions });
  const pools: (MysqlPool & { role: PoolStats['role'] })[] = [];
  const clientFor = (url: string, role: PoolStats['role']): PrismaClient => {
    const pool = createMysqlPool(url, poolOptions);
    pools.push({ ...pool, role });
    // The adapter uses our pool (so its gauges are ours to read) and leaves ending it to us.
    const adapter = new PrismaMariaDb(pool.pool, { database: pool.database });
    return new MysqlPrismaClient({ adapter }) as unknown as PrismaClient;
  };
  const primary = clientFor(options.url, 'primary');
  const replicas = (options.replicaUrls ?? []).map((url) => clientFor(url, 'replica'));
  return {
    prisma: routeReadsToReplicas(primary, replicas, {
      isUnavailable: isDatabaseUnavailable,
      onUnavailable: (index) =>
        options.log?.(
          `replica ${pools[index + 1]?.server ?? index} is unavailable: its reads go to the primary for a while`,
        ),
    }),
    primary,
    provider: 'mysql',
    ping: (timeoutMs) => ping(primary, timeoutMs),
    poolStats: () =>
      pools.map(({ pool, server, role }) => ({
        role,
        server,
        active: pool.activeConnections(),
        idle: pool.idleConnections(),
        waiting: pool.taskQueueSize(),
      })),
    async close() {
      await Promise.all([primary, ...replicas].map((client) => client.$disconnect()));
      await Promise.all(pools.map(({ pool }) => pool.end()));
    },
  };
}

/** Resolves false, never rejects, when the database does not answer within `timeoutMs`. */
async function ping(prisma: PrismaClient, timeoutMs = 2_000): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), timeoutMs);
  });
  const query = prisma.$queryRawUnsafe('SELECT 1').then(
    () => true,
    () => false,
  );
  try {
    return await Promise.race([query, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
