import { defineConfig } from 'vitest/config';

/**
 * Two projects: `unit` runs each package's tests in-process through its factory;
 * `e2e` starts the real system as processes and talks to it over real HTTP.
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
