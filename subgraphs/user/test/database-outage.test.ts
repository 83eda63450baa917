/**
 * The fault of issue 4 on a real MariaDB: the server is stopped under a running subgraph.
 * Readiness turns false (liveness stays true), requests fail fast with SERVICE_UNAVAILABLE
 * (no stack trace, no hang), and the same process serves again once the server is back.
 */
import { openDatabase, type Database } from '@foundation/db';
import { createMemoryEventBus } from '@foundation/platform';
import {
  serveSubgraph,
  testAssertions,
  testLogger,
  testUser,
  type SubgraphClient,
} from '@foundation/platform/testing';
import { skipUnlessInstalled, startMariaDb, type MariaDbServer } from '@foundation/test-servers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createUserSubgraph } from '../src/index.js';

const skip = skipUnlessInstalled('mariadbd', 'mariadb-server');

/** Short, so the test is quick; production's are in config/config.yaml. */
const acquireTimeoutMs = 1_500;

describe.skipIf(skip)('user subgraph while MariaDB is stopped and started again', () => {
  let server: MariaDbServer;
  let db: Database;
  let client: SubgraphClient;
  let base: string;
  let userId: string;

  beforeAll(async () => {
    server = await startMariaDb();
    db = await openDatabase({
      url: server.url,
      migrate: true,
      pool: {
        connectionLimit: 4,
        minimumIdle: 1,
        acquireTimeoutMs,
        connectTimeoutMs: 1_000,
        idleTimeoutSeconds: 60,
      },
    });
    userId = (
      await db.prisma.user.create({
        data: { username: 'ada', email: 'ada@example.com', displayName: 'Ada' },
      })
    ).id;
    client = await serveSubgraph(
      await createUserSubgraph({
        db,
        events: createMemoryEventBus(testLogger()),
        assertions: testAssertions,
        logger: testLogger(),
      }),
    );
    base = client.url.replace(/\/graphql$/, '');
  });

  afterAll(async () => {
    await client?.close();
    await db?.close();
    await server?.dispose();
  });

  const ready = async () => (await fetch(`${base}/ready`)).status;
  const live = async () => (await fetch(`${base}/health`)).status;
  const me = () =>
    client.request<{ user: { username: string } | null }>(
      'query ($id: ID!) { user(id: $id) { username } }',
      { variables: { id: userId }, principal: testUser(userId, 'ada') },
    );

  it('is ready, and exports its pool gauges, while the database is up', async () => {
    expect(await ready()).toBe(200);
    expect((await me()).data).toEqual({ user: { username: 'ada' } });
    const metrics = await (await fetch(`${base}/metrics`)).text();
    expect(metrics).toMatch(
      /db_pool_connections\{role="primary",server="root@127\.0\.0\.1:\d+\/foundation",state="idle",service="user"\} [1-9]/,
    );
    expect(metrics).toMatch(/db_pool_connections\{[^}]*state="active"[^}]*\} 0/);
    expect(metrics).toMatch(/db_pool_waiting_requests\{[^}]*\} 0/);
  });

  it('turns not ready and answers SERVICE_UNAVAILABLE quickly while it is down', async () => {
    await server.stop();
    expect(await ready()).toBe(503);
    expect(await live()).toBe(200); // the process is fine: nothing should restart it
    const started = Date.now();
    const res = await me();
    // Bounded by the pool's acquire timeout, not a hang.
    expect(Date.now() - started).toBeLessThan(acquireTimeoutMs + 3_000);
    expect(res.errors).toEqual([
      {
        message: 'The database is unavailable; try again shortly',
        path: ['user'],
        extensions: { code: 'SERVICE_UNAVAILABLE' },
      },
    ]);
    expect(JSON.stringify(res)).not.toMatch(/stack|pool timeout|ECONNREFUSED|\bat /);
    // A write too: not mistaken for "your account no longer exists".
    const update = await client.request(
      'mutation { updateProfile(input: { displayName: "Ada L." }) { displayName } }',
      { principal: testUser(userId, 'ada') },
    );
    expect(update.errors?.map((e) => e.extensions?.['code'])).toEqual(['SERVICE_UNAVAILABLE']);
  });

  it('serves again when the database is back, with no restart', async () => {
    await server.start();
    const deadline = Date.now() + 30_000;
    while ((await ready()) !== 200) {
      if (Date.now() > deadline) throw new Error('still not ready 30 s after MariaDB came back');
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect((await me()).data).toEqual({ user: { username: 'ada' } });
  });
});
