/**
 * The auth subgraph reads the primary only: with a read replica that has not caught up
 * (here a second, independent MariaDB server that never receives the writes; real
 * replication is not needed to prove the routing), logging in right after registering
 * works, and a refresh finds the user.
 */
import { migrateDatabase, openDatabase, type Database } from '@foundation/db';
import { createAccessTokens, createMemoryEventBus, createMemoryStores } from '@foundation/platform';
import {
  serveSubgraph,
  testAssertions,
  testLogger,
  type SubgraphClient,
} from '@foundation/platform/testing';
import { skipUnlessInstalled, startMariaDb, type MariaDbServer } from '@foundation/test-servers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAuthSubgraph } from '../src/index.js';

const skip = skipUnlessInstalled('mariadbd', 'mariadb-server');

describe.skipIf(skip)('auth subgraph with a lagging read replica', () => {
  let primary: MariaDbServer;
  let replica: MariaDbServer;
  let db: Database;
  let client: SubgraphClient;
  const stores = createMemoryStores();

  beforeAll(async () => {
    [primary, replica] = await Promise.all([startMariaDb(), startMariaDb()]);
    await Promise.all([migrateDatabase(primary.url), migrateDatabase(replica.url)]);
    db = await openDatabase({ url: primary.url, replicaUrls: [replica.url] });
    client = await serveSubgraph(
      await createAuthSubgraph({
        db,
        events: createMemoryEventBus(testLogger()),
        accessTokens: createAccessTokens({
          signingKey: { id: 'k1', secret: 'test-jwt-secret-test-jwt-secret-test' },
          issuer: 'foundation',
          audience: 'foundation-api',
          ttlSeconds: 600,
          clockSkewSeconds: 5,
        }),
        assertions: testAssertions,
        stores,
        logger: testLogger(),
        passwordMinLength: 10,
        sessionTtlSeconds: 3600,
        loginRateLimit: {
          perIp: { limit: 1000, windowSeconds: 60 },
          perAccount: { limit: 10, windowSeconds: 60 },
        },
      }),
    );
  });

  afterAll(async () => {
    await client?.close();
    await stores.close();
    await db?.close();
    await Promise.all([primary?.dispose(), replica?.dispose()]);
  });

  it('logs a user in, and refreshes, right after they register', async () => {
    const registered = await client.request<{ register: { user: { id: string } } }>(
      'mutation { register(username: "grace", email: "grace@example.com", password: "a sturdy passphrase") { user { id } } }',
    );
    expect(registered.errors).toBeUndefined();
    // The replica has not seen her: a read routed there would not find the account.
    expect(await db.prisma.user.count()).toBe(0);
    const login = await client.request<{ login: { token: string; refreshToken: string } }>(
      'mutation { login(usernameOrEmail: "grace", password: "a sturdy passphrase") { token refreshToken } }',
    );
    expect(login.errors).toBeUndefined();
    expect(login.data?.login.token).toMatch(/^ey/);
    const refreshed = await client.request<{ refresh: { user: { id: string } } }>(
      'mutation ($t: String!) { refresh(refreshToken: $t) { user { id } } }',
      { variables: { t: login.data?.login.refreshToken } },
    );
    expect(refreshed.errors).toBeUndefined();
    expect(refreshed.data?.refresh.user.id).toBe(registered.data?.register.user.id);
  });
});
