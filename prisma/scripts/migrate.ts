/**
 * `pnpm db:migrate`: applies pending migrations to DATABASE_URL (default: the embedded
 * SQLite file). For production MySQL this is the deploy step, run once per release before
 * the services start. It reads DATABASE_URL alone, from the environment or .env (not the
 * whole config, which would also demand the services' secrets); its password is never printed.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { describeServer, migrateDatabase, providerOf } from '../src/index.js';
import { repoRoot } from '../src/paths.js';

// Like the services, take .env into account; the real environment wins over it.
const dotenv = path.join(repoRoot, '.env');
if (existsSync(dotenv)) process.loadEnvFile(dotenv);
const url = process.env['DATABASE_URL'] ?? 'file:./.data/foundation.db';
try {
  const target = providerOf(url) === 'mysql' ? describeServer(url) : url;
  console.log(`migrating ${target}`);
  const { applied } = await migrateDatabase(url, { log: (message) => console.log(message) });
  console.log(
    applied.length > 0 ? `${applied.length} migration(s) applied` : 'database is up to date',
  );
} catch (error) {
  console.error(`migration failed: ${(error as Error).message}`);
  process.exit(1);
}
