import { defineConfig } from 'vitest/config';

/**
 * Three projects: `unit` runs each package's tests in-process through its factory;
 * `unit-mariadb` runs the database-backed ones of them again on MariaDB; `e2e` starts the
 * real system as processes and talks to it over real HTTP.
 */
export default defineConfig({
  test: {
    env: { APP_ENV: 'test' },
    projects: [
      {
        extends: true,
        test: {
          name: 'unit',
          include: ['{packages,gateway,subgraphs,prisma,schema}/**/test/**/*.test.ts'],
          testTimeout: 20_000,
          // Some files start real servers (MariaDB, Redis) in their hooks; on a busy 2-core
          // machine that can take more than the default 10 s.
          hookTimeout: 60_000,
        },
      },
      {
        // The same database-backed tests again, on a real MariaDB per file instead of
        // SQLite (see @foundation/db/testing). prisma/test runs both backends itself.
        extends: true,
        test: {
          name: 'unit-mariadb',
          include: ['subgraphs/*/test/*-subgraph.test.ts', 'gateway/test/authenticate.test.ts'],
          env: { FOUNDATION_TEST_DATABASE: 'mariadb' },
          testTimeout: 20_000,
          hookTimeout: 60_000,
        },
      },
      {
        extends: true,
        test: {
          name: 'e2e',
          include: ['tests/**/*.test.ts'],
          testTimeout: 60_000,
          hookTimeout: 120_000,
          // Real processes on real ports: one file at a time keeps the 2-core machine calm.
          fileParallelism: false,
        },
      },
    ],
  },
});
