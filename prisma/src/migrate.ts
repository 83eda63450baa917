import { existsSync, mkdirSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import type { MigrationList } from '@prisma/schema-engine-wasm';
import { migrateMysql } from './mysql-migrate.js';
import type { PoolOptions } from './mysql-pool.js';
import { prismaDir, providerOf, sqliteFileOf } from './paths.js';
import { withSqliteSchemaEngine, type SchemaEngine } from './schema-engine.js';

/** Where each provider's committed migrations live. */
export const migrationsDir = (provider: 'sqlite' | 'mysql') =>
  path.join(prismaDir, 'migrations', provider);

const noFilters = { externalTables: [], externalEnums: [] };

/** The schema files of a provider: its datasource/generator file plus the shared models. */
export async function schemaFiles(
  provider: 'sqlite' | 'mysql',
): Promise<{ path: string; content: string }[]> {
  return Promise.all(
    [path.join(provider, 'schema.prisma'), 'models.prisma'].map(async (file) => ({
      path: file,
      content: await readFile(path.join(prismaDir, file), 'utf8'),
    })),
  );
}

/** The migrations folder in the shape the engine reads, as `prisma migrate` builds it. */
async function migrationList(provider: 'sqlite'): Promise<MigrationList> {
  const baseDir = migrationsDir(provider);
  const entries = existsSync(baseDir) ? await readdir(baseDir, { withFileTypes: true }) : [];
  const migrationDirectories = await Promise.all(
    entries
      .filter((entry) => entry.isDirectory())
      .map((entry) => entry.name)
      .sort()
      .map(async (name) => ({
        path: name,
        migrationFile: {
          path: 'migration.sql',
          content: await readFile(path.join(baseDir, name, 'migration.sql'), 'utf8').then(
            (value) => ({ tag: 'ok' as const, value }),
            (error: Error) => ({ tag: 'error' as const, value: error.message }),
          ),
        },
      })),
  );
  // The engine checks the lockfile names the same provider as the schema.
  const lockfile = { path: 'migration_lock.toml', content: `provider = "${provider}"\n` };
  return { baseDir, lockfile, migrationDirectories, shadowDbInitScript: '' };
}

async function withEngine<T>(file: string, use: (engine: SchemaEngine) => Promise<T>): Promise<T> {
  const files = await schemaFiles('sqlite');
  return withSqliteSchemaEngine(
    file,
    files.map((f) => [f.path, f.content]),
    use,
  );
}

export interface MigrateOptions {
  /** Progress messages: each applied migration; with openDatabase, replicas left out. */
  log?: (message: string) => void;
  /** MySQL only: timeouts of the migrator's connection. */
  pool?: PoolOptions;
}

/**
 * Brings the database at `url` up to date with the committed migrations of its provider,
 * like `prisma migrate deploy`: creates the file (SQLite) or database (MySQL) if missing,
 * applies what is pending, records each in `_prisma_migrations`. Idempotent; safe on
 * every start.
 */
export async function migrateDatabase(
  url: string,
  options: MigrateOptions = {},
): Promise<{ applied: string[] }> {
  if (providerOf(url) === 'mysql') return migrateMysql(url, options);
  const file = sqliteFileOf(url);
  mkdirSync(path.dirname(file), { recursive: true });
  const list = await migrationList('sqlite');
  const { appliedMigrationNames } = await withEngine(file, async (engine) => {
    // A migration edited after it was applied means the database no longer matches the
    // files; applying more on top would hide that.
    const { editedMigrationNames } = await engine
      .diagnoseMigrationHistory({
        migrationsList: list,
        optInToShadowDatabase: false,
        filters: noFilters,
      })
      .catch((error: Error) => {
        // A database that never saw a migration has no history to check.
        if (/_prisma_migrations` does not exist/.test(error.message))
          return { editedMigrationNames: [] };
        throw error;
      });
    if (editedMigrationNames.length > 0) {
      throw new Error(
        `Migration ${editedMigrationNames.join(', ')} was changed after it was applied to ${file}. ` +
          'Restore its migration.sql from version control and put the change in a new migration (pnpm db:migration:new <name>).',
      );
    }
    return engine.applyMigrations({ migrationsList: list, filters: noFilters });
  });
  for (const name of appliedMigrationNames) options.log?.(`applied migration ${name}`);
  return { applied: appliedMigrationNames };
}

/**
 * The SQL that would take a database from the committed migrations to the current
 * schema; empty when they are in sync. Runs the migrations on an in-memory shadow database.
 */
export async function pendingSchemaChange(): Promise<string> {
  const list = await migrationList('sqlite');
  const files = await schemaFiles('sqlite');
  const result = await withEngine(':memory:', (engine) =>
    engine.diff({
      from: { tag: 'migrations', ...list },
      to: { tag: 'schemaDatamodel', files },
      script: true,
      exitCode: null,
      filters: noFilters,
    }),
  );
  const sql = result.stdout ?? '';
  return /^\s*(-- This is an empty migration\.)?\s*$/.test(sql) ? '' : sql;
}
