import { skipUnlessInstalled } from '@foundation/test-servers';
import { afterEach, describe, expect, it } from 'vitest';
import { openTestDatabase, testBackend } from '../src/testing.js';

const previous = process.env['FOUNDATION_TEST_DATABASE'];
afterEach(() => {
  if (previous === undefined) delete process.env['FOUNDATION_TEST_DATABASE'];
  else process.env['FOUNDATION_TEST_DATABASE'] = previous;
});

const noMariaDb = skipUnlessInstalled('mariadbd', 'mariadb-server');

describe('openTestDatabase', () => {
  it('gives a migrated SQLite file by default', async () => {
    delete process.env['FOUNDATION_TEST_DATABASE'];
    const test = await openTestDatabase();
    expect([test.backend, test.db.provider, await test.db.prisma.user.count()]).toEqual([
      'sqlite',
      'sqlite',
      0,
    ]);
    await test.close();
  });

  it.skipIf(noMariaDb)(
    'gives a migrated database on a real MariaDB of its own when the run asks for it',
    async () => {
      process.env['FOUNDATION_TEST_DATABASE'] = 'mariadb';
      expect(testBackend()).toBe('mariadb');
      const test = await openTestDatabase();
      expect([test.backend, test.db.provider, await test.db.prisma.user.count()]).toEqual([
        'mariadb',
        'mysql',
        0,
      ]);
      expect(test.url).toMatch(/^mysql:\/\/root@127\.0\.0\.1:\d+\/foundation$/);
      await test.close();
    },
  );
});
