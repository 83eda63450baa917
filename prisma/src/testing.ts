/**
 * `@foundation/db/testing`: a fresh, migrated database for one test file, on the backend
 * the test run asks for. `FOUNDATION_TEST_DATABASE=mariadb` (the `unit-mariadb` vitest
 * project) gives a real MariaDB server of the file's own; otherwise a SQLite file. So the
 * same test code proves both databases.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { skipUnlessInstalled, startMariaDb } from '@foundation/test-servers';
import { openDatabase, type Database, type OpenDatabaseOptions } from './index.js';

/** The backend of this test run. */
export type TestBackend = 'sqlite' | 'mariadb';

/** A database for one test file; `close()` closes it and removes the server or file. */
export interface TestDatabase {
  db: Database;
  url: string;
  backend: TestBackend;
  close(): Promise<void>;
}

/**
 * The backend asked for by `FOUNDATION_TEST_DATABASE` (`sqlite` by default). MariaDB asked
 * for but not installed: a failure under CI=true, else a loud warning and SQLite.
 */
export function testBackend(): TestBackend {
  if (process.env['FOUNDATION_TEST_DATABASE'] !== 'mariadb') return 'sqlite';
  return skipUnlessInstalled('mariadbd', 'mariadb-server') ? 'sqlite' : 'mariadb';
}

/** Opens a new, migrated database on {@link testBackend}. */
export async function openTestDatabase(
  options: Omit<OpenDatabaseOptions, 'url' | 'migrate'> = {},
): Promise<TestDatabase> {
  const backend = testBackend();
  if (backend === 'mariadb') {
    const server = await startMariaDb();
    try {
      const db = await openDatabase({ ...options, url: server.url, migrate: true });
      return {
        db,
        url: server.url,
        backend,
        async close() {
          await db.close();
          await server.dispose();
        },
      };
    } catch (error) {
      await server.dispose();
      throw error;
    }
  }
  const dir = mkdtempSync(path.join(tmpdir(), 'foundation-test-db-'));
  const url = `file:${path.join(dir, 'test.db')}`;
  const db = await openDatabase({ ...options, url, migrate: true });
  return {
    db,
    url,
    backend,
    async close() {
      await db.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
