/**
 * @foundation/db: the database of Foundation. `openDatabase()` gives a Prisma client for
 * the URL in config (SQLite now; MySQL joins beside it), migrated when asked.
 */
import { PrismaBetterSqlite3 } from '@prisma/adapter-better-sqlite3';
import { Prisma, PrismaClient } from './__generated__/sqlite/client.js';
import { migrateDatabase, type MigrateOptions } from './migrate.js';
import { sqliteFileOf } from './paths.js';

export type { ApiKey, Credential, User } from './__generated__/sqlite/client.js';
export { PrismaClient } from './__generated__/sqlite/client.js';
export { migrateDatabase, pendingSchemaChange } from './migrate.js';

/** An open database: the Prisma client and how to close it. */
export interface Database {
  prisma: PrismaClient;
  provider: 'sqlite';
  close(): Promise<void>;
}

export interface OpenDatabaseOptions extends MigrateOptions {
  /** `file:` URL; a relative path is resolved against the repository root. */
  url: string;
  /** Apply pending migrations first (embedded mode does, on every start). */
  migrate?: boolean;
}

/**
 * Opens the database at `url`.
 * @throws Error naming the supported schemes when the URL is not one of them.
 */
export async function openDatabase(options: OpenDatabaseOptions): Promise<Database> {
  const file = sqliteFileOf(options.url);
  if (options.migrate) await migrateDatabase(options.url, options);
  const adapter = new PrismaBetterSqlite3({ url: `file:${file}`, timeout: 5_000 });
  const prisma = new PrismaClient({ adapter });
  // WAL lets readers proceed while one writer writes: the services of embedded mode, and
  // separate processes sharing the file, read concurrently.
  await prisma.$queryRawUnsafe('PRAGMA journal_mode = WAL');
  await prisma.$executeRawUnsafe('PRAGMA foreign_keys = ON');
  return { prisma, provider: 'sqlite', close: () => prisma.$disconnect() };
}

/**
 * When `error` is a unique-constraint violation (Prisma P2002), the fields that collided;
 * otherwise null.
 */
export function isUniqueViolation(error: unknown): { fields: string[] } | null {
  if (!(error instanceof Prisma.PrismaClientKnownRequestError) || error.code !== 'P2002')
    return null;
  const meta = error.meta as
    | {
        target?: string[] | string;
        driverAdapterError?: { cause?: { constraint?: { fields?: string[] } } };
      }
    | undefined;
  const fromAdapter = meta?.driverAdapterError?.cause?.constraint?.fields;
  const target = fromAdapter ?? meta?.target ?? [];
  const fields = (Array.isArray(target) ? target : [target]).map((f) =>
    // Columns may come back as table.column or as the mapped column name.
    f.replace(/^.*\./, '').replace(/_([a-z])/g, (_m, c: string) => c.toUpperCase()),
  );
  return { fields };
}
