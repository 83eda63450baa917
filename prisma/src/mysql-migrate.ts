/**
 * `prisma migrate deploy` for MySQL/MariaDB, in-house: Prisma's schema engine, which does
 * this, cannot be downloaded on these machines and its WebAssembly build has no MySQL
 * connector (see README). It keeps Prisma's `_prisma_migrations` table and its rules, so a
 * database migrated here can later be managed by `prisma migrate` and the other way round:
 * SHA-256 checksums of `migration.sql`, one row per attempt, a failed migration blocks the
 * next ones until it is resolved, an applied migration must never be edited.
 */
import { createHash, randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { createConnection, type Connection } from 'mariadb';
import {
  connectionConfigOf,
  defaultPoolOptions,
  describeServer,
  type PoolOptions,
} from './mysql-pool.js';
import { prismaDir } from './paths.js';

/** Where the committed MySQL migrations live, one folder per migration, applied in name order. */
export const mysqlMigrationsDir = path.join(prismaDir, 'migrations', 'mysql');

/** Prisma's own definition of the table, as its MySQL connector creates it. */
const createMigrationsTable = `CREATE TABLE IF NOT EXISTS _prisma_migrations (
    id                      VARCHAR(36) PRIMARY KEY NOT NULL,
    checksum                VARCHAR(64) NOT NULL,
    finished_at             DATETIME(3),
    migration_name          VARCHAR(255) NOT NULL,
    logs                    TEXT,
    rolled_back_at          DATETIME(3),
    started_at              DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
    applied_steps_count     INTEGER UNSIGNED NOT NULL DEFAULT 0
) DEFAULT CHARACTER SET utf8mb4`;

/** The advisory lock `prisma migrate` takes too, so two migrators never run at once. */
const lockName = 'prisma_migrate';
/** How long to wait for another migrator to finish, in seconds. */
const lockWaitSeconds = 60;

/** One committed migration. */
export interface MysqlMigration {
  name: string;
  sql: string;
  /** SHA-256 (hex) of `migration.sql`, as Prisma records it. */
  checksum: string;
}

/** The committed migrations, in the order they apply. */
export async function readMysqlMigrations(dir = mysqlMigrationsDir): Promise<MysqlMigration[]> {
  if (!existsSync(dir)) return [];
  const entries = await readdir(dir, { withFileTypes: true });
  const names = entries
    .filter((e) => e.isDirectory())
    .map((e) => e.name)
    .sort();
  return Promise.all(
    names.map(async (name) => {
      const sql = await readFile(path.join(dir, name, 'migration.sql'), 'utf8');
      return { name, sql, checksum: createHash('sha256').update(sql).digest('hex') };
    }),
  );
}

interface AppliedRow {
  migration_name: string;
  checksum: string;
  finished_at: Date | null;
  rolled_back_at: Date | null;
  logs: string | null;
}

export interface MysqlMigrateOptions {
  /** Progress messages (never the URL's password). */
  log?: (message: string) => void;
  /** Timeouts for the migrator's connection. */
  pool?: PoolOptions;
  /** Another migrations folder (tests). @default mysqlMigrationsDir */
  dir?: string;
}

/**
 * Brings the MySQL database at `url` up to date with the committed migrations. Creates the
 * database when it does not exist yet. Idempotent; safe to run from several processes at
 * once (they take turns). MySQL commits DDL as it goes, so a migration that fails part way
 * may leave part of it applied: it is recorded as failed and blocks further migrations
 * until someone repairs the database and marks it rolled back.
 */
export async function migrateMysql(
  url: string,
  options: MysqlMigrateOptions = {},
): Promise<{ applied: string[] }> {
  const server = describeServer(url);
  const migrations = await readMysqlMigrations(options.dir);
  const connection = await connectCreatingDatabase(url, options.pool ?? defaultPoolOptions);
  // A lost socket is reported by the failing query; without a listener the driver would
  // also throw it as an unhandled error.
  connection.on('error', () => undefined);
  try {
    await connection.query(createMigrationsTable);
    const [lock] = await connection.query<{ locked: number | bigint | null }[]>(
      'SELECT GET_LOCK(?, ?) AS locked',
      [lockName, lockWaitSeconds],
    );
    if (Number(lock?.locked) !== 1) {
      throw new Error(
        `Another migration of ${server} has held the lock for ${lockWaitSeconds} s; try again when it is done`,
      );
    }
    try {
      return await applyPending(connection, migrations, server, options);
    } finally {
      await connection.query('SELECT RELEASE_LOCK(?)', [lockName]);
    }
  } finally {
    await connection.end();
  }
}

async function applyPending(
  connection: Connection,
  migrations: MysqlMigration[],
  server: string,
  options: MysqlMigrateOptions,
): Promise<{ applied: string[] }> {
  const rows = await connection.query<AppliedRow[]>(
    'SELECT migration_name, checksum, finished_at, rolled_back_at, logs FROM _prisma_migrations ORDER BY started_at',
  );
  const failed = rows.find((row) => row.finished_at === null && row.rolled_back_at === null);
  if (failed) {
    throw new Error(
      `Migration ${failed.migration_name} failed earlier on ${server} and may be half applied` +
        `${failed.logs ? ` (${failed.logs.split('\n')[0]})` : ''}. Repair the database by hand, then mark it rolled back ` +
        `(UPDATE _prisma_migrations SET rolled_back_at = NOW(3) WHERE migration_name = '${failed.migration_name}' AND finished_at IS NULL) and run pnpm db:migrate again.`,
    );
  }
  const finished = new Map(
    rows.filter((row) => row.finished_at !== null).map((row) => [row.migration_name, row]),
  );
  const edited = migrations.filter(
    (m) => finished.has(m.name) && finished.get(m.name)?.checksum !== m.checksum,
  );
  if (edited.length > 0) {
    throw new Error(
      `Migration ${edited.map((m) => m.name).join(', ')} was changed after it was applied to ${server}. ` +
        'Restore its migration.sql from version control and put the change in a new migration (see prisma/README.md).',
    );
  }
  const known = new Set(migrations.map((m) => m.name));
  for (const name of finished.keys()) {
    if (!known.has(name)) {
      options.log?.(`warning: ${server} has migration ${name}, which is not in this checkout`);
    }
  }
  const applied: string[] = [];
  for (const migration of migrations.filter((m) => !finished.has(m.name))) {
    const id = randomUUID();
    await connection.query(
      'INSERT INTO _prisma_migrations (id, checksum, migration_name, started_at) VALUES (?, ?, ?, NOW(3))',
      [id, migration.checksum, migration.name],
    );
    try {
      // A transaction keeps a migration's data changes all-or-nothing; MySQL commits DDL
      // (CREATE, ALTER) on its own, which no transaction can undo.
      await connection.query('START TRANSACTION');
      await connection.query(migration.sql);
      await connection.query('COMMIT');
    } catch (error) {
      await connection.query('ROLLBACK').catch(() => undefined);
      const reason =
        (error as { sqlMessage?: string; message: string }).sqlMessage ?? (error as Error).message;
      await connection.query('UPDATE _prisma_migrations SET logs = ? WHERE id = ?', [reason, id]);
      throw new Error(
        `Migration ${migration.name} failed on ${server}: ${reason}. It may be half applied; ` +
          'repair the database, mark the migration rolled back, fix migration.sql, and migrate again (see prisma/README.md).',
        { cause: error },
      );
    }
    await connection.query(
      'UPDATE _prisma_migrations SET finished_at = NOW(3), applied_steps_count = 1 WHERE id = ?',
      [id],
    );
    options.log?.(`applied migration ${migration.name}`);
    applied.push(migration.name);
  }
  return { applied };
}

/**
 * One connection for the migrator, running whole scripts. A missing database is created
 * first (utf8mb4, like the rest), as `prisma migrate deploy` does.
 */
async function connectCreatingDatabase(url: string, pool: PoolOptions): Promise<Connection> {
  const config = { ...connectionConfigOf(url, pool), multipleStatements: true };
  try {
    return await createConnection(config);
  } catch (error) {
    if ((error as { errno?: number }).errno !== 1049) throw error; // ER_BAD_DB_ERROR
  }
  const { database = '', ...withoutDatabase } = config;
  const admin = await createConnection(withoutDatabase);
  try {
    await admin.query(
      `CREATE DATABASE IF NOT EXISTS \`${database.replaceAll('`', '``')}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci`,
    );
  } finally {
    await admin.end();
  }
  return createConnection(config);
}
