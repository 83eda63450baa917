import { configDefaults, defineConfig } from 'vitest/config';

/**
 * Four projects: `unit` runs each package's tests in-process through its factory;
 * `unit-mariadb` runs the database-backed ones of them again on MariaDB; `e2e` starts the real system as processes (embedded mode: the launcher) and talks to it
 * over real HTTP; `e2e-distributed` runs the same files with one process per service
 * sharing a real redis-server (tests/harness.ts reads FOUNDATION_E2E_MODE), plus the
 * tests that only a distributed deployment can answer.
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
          exclude: [...configDefaults.exclude, 'tests/distributed.test.ts'],
          sequence: { groupOrder: 1 },
        },
      },
      {
        extends: true,
        test: {
          name: 'e2e-distributed',
          include: ['tests/**/*.test.ts'],
          // The deployment files' checks and the in-process robustness suite do not depend
          // on the mode.
          exclude: [
            ...configDefaults.exclude,
            'tests/deployment.test.ts',
            'tests/subscriptions/robustness.test.ts',
          ],
          env: { FOUNDATION_E2E_MODE: 'distributed' },
          testTimeout: 60_000,
          hookTimeout: 120_000,
          fileParallelism: false,
          // After the embedded run, never beside it.
          sequence: { groupOrder: 2 },
        },
      },
    ],
  },
});
