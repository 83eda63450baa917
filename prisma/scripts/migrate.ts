/** `pnpm db:migrate`: applies pending migrations to DATABASE_URL (default: the embedded file). */
import { migrateDatabase } from '../src/migrate.js';

const url = process.env['DATABASE_URL'] ?? 'file:./.data/foundation.db';
try {
  const { applied } = await migrateDatabase(url, { log: (message) => console.log(message) });
  console.log(
    applied.length > 0 ? `${applied.length} migration(s) applied` : 'database is up to date',
  );
} catch (error) {
  console.error(`migration failed: ${(error as Error).message}`);
  process.exit(1);
}
