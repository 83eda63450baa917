/**
 * What only distributed mode can show: one process per service (router, user, auth,
 * search) sharing a real redis-server and mariadbd, so sessions and events cross process
 * boundaries; and a Redis restart under load: authentication fails closed, fast, with
 * SERVICE_UNAVAILABLE, then everything recovers by itself with sessions intact.
 */
import { openDatabase } from '@foundation/db';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  graphql,
  planDeployment,
  startSystem,
  type Deployment,
  type GraphQLResponse,
  type System,
} from './harness.js';

let deployment: Deployment;
let system: System;
const password = 'a long enough passphrase';

beforeAll(async () => {
  deployment = await planDeployment({}, 'distributed');
  system = await startSystem(deployment);
});

afterAll(async () => {
  const code = await system?.stop();
  await deployment?.cleanup();
  expect(code).toBe(0);
});

const register = `mutation ($u: String!, $e: String!, $p: String!) {
  register(username: $u, email: $e, password: $p) { token user { id } }
}`;

async function signUp(username: string) {
  const res = await graphql<{ register: { token: string; user: { id: string } } }>(
    deployment.routerUrl,
    register,
    { variables: { u: username, e: `${username}@example.org`, p: password } },
  );
  expect(res.errors).toBeUndefined();
  return res.data!.register;
}

const me = (token: string) => graphql(deployment.routerUrl, '{ me { username } }', { token });
const searchFor = async (query: string) => {
  const res = await graphql<{ search: { edges: { node: { username: string } }[] } }>(
    deployment.routerUrl,
    'query ($q: String!) { search(query: $q) { edges { node { username } } } }',
    { variables: { q: query } },
  );
  return res.data?.search.edges.map((e) => e.node.username);
};

const routerStatus = async (path: string) =>
  (await fetch(deployment.routerUrl.replace(/\/graphql$/, path))).status;

describe('distributed mode', () => {
  it('runs each service in its own process', () => {
    const pids = Object.values(system.processes).map((p) => p.pid);
    expect(pids).toHaveLength(4);
    expect(new Set(pids).size).toBe(4);
  });

  it('reports the router ready once its stores and database answer', async () => {
    expect(await routerStatus('/ready')).toBe(200);
  });

  it('keeps its data in the shared MariaDB, as production does', async () => {
    const url = deployment.env['DATABASE_URL']!;
    expect(url).toMatch(/^mysql:\/\//);
    const { user } = await signUp('mary');
    const db = await openDatabase({ url });
    try {
      const row = await db.primary.user.findUnique({ where: { id: user.id } });
      expect(row?.username).toBe('mary');
    } finally {
      await db.close();
    }
  });

  it('honours at the router a session the auth process created, and its logout at once', async () => {
    const { token } = await signUp('joan');
    expect((await me(token)).data).toEqual({ me: { username: 'joan' } });
    const out = await graphql(deployment.routerUrl, 'mutation { logout }', { token });
    expect(out.errors).toBeUndefined();
    const after = await me(token);
    expect(after.status).toBe(401);
    expect(after.errors?.[0]?.extensions?.['code']).toBe('UNAUTHENTICATED');
  });

  it('delivers a registration in the auth process to the search index in another', async () => {
    await signUp('frances');
    await expect.poll(() => searchFor('frances'), { timeout: 10_000 }).toEqual(['frances']);
  });

  it('caches user reads in Redis and counts hits at the user service', async () => {
    const { user } = await signUp('radia');
    const read = () =>
      graphql(deployment.routerUrl, 'query ($id: ID!) { user(id: $id) { username } }', {
        variables: { id: user.id },
      });
    expect((await read()).data).toEqual({ user: { username: 'radia' } });
    await expect
      .poll(async () => {
        await read();
        const metrics = await (
          await fetch(deployment.subgraphUrls.user.replace(/\/graphql$/, '/metrics'))
        ).text();
        return /cache_hits_total\{cache="user",service="user"\} [1-9]/.test(metrics);
      })
      .toBe(true);
  });
});

describe('Redis restarted under load', () => {
  it('fails authentication closed and fast, then recovers by itself with sessions intact', async () => {
    const { token } = await signUp('evelyn');
    expect((await me(token)).data).toEqual({ me: { username: 'evelyn' } });

    // Load: a steady stream of authenticated requests through the whole restart.
    const responses: { res: GraphQLResponse; ms: number }[] = [];
    let loading = true;
    const load = (async () => {
      while (loading) {
        const started = performance.now();
        responses.push({ res: await me(token), ms: performance.now() - started });
      }
    })();

    await deployment.redis!.stop();
    const started = performance.now();
    const down = await me(token);
    const downMs = performance.now() - started;
    expect(down.status).toBe(503);
    expect(down.data ?? null).toBeNull();
    expect(down.errors).toEqual([
      {
        message: 'The session store is unavailable; try again shortly',
        extensions: { code: 'SERVICE_UNAVAILABLE' },
      },
    ]);
    expect(downMs).toBeLessThan(3_000); // bounded: commands are not queued while down
    // Logins need the rate limiter and the session store: refused the same way, not let through.
    const login = await graphql(
      deployment.routerUrl,
      'mutation { login(usernameOrEmail: "evelyn", password: "a long enough passphrase") { token } }',
    );
    expect(login.errors?.[0]?.extensions?.['code']).toBe('SERVICE_UNAVAILABLE');
    expect(login.data?.['login'] ?? null).toBeNull();
    // Anonymous reads need no Redis: the user cache falls back to the database.
    const anonymous = await graphql<{ users: { totalCount: number } }>(
      deployment.routerUrl,
      '{ users(first: 1) { totalCount } }',
    );
    expect(anonymous.errors).toBeUndefined();
    // The router says it cannot authenticate, so a load balancer takes it out; it still lives.
    await expect.poll(() => routerStatus('/ready'), { timeout: 5_000 }).toBe(503);
    expect(await routerStatus('/health')).toBe(200);

    await deployment.redis!.restart(); // same port and data directory
    // No process restarted: the clients reconnect, and the session was persisted.
    await expect
      .poll(async () => (await me(token)).data, { timeout: 15_000, interval: 200 })
      .toEqual({ me: { username: 'evelyn' } });
    await expect.poll(() => routerStatus('/ready'), { timeout: 5_000 }).toBe(200);
    loading = false;
    await load;

    const statuses = new Set(responses.map((r) => r.res.status));
    expect([...statuses].every((s) => s === 200 || s === 503)).toBe(true);
    expect(statuses.has(503)).toBe(true);
    expect(Math.max(...responses.map((r) => r.ms))).toBeLessThan(3_000);
    for (const { res } of responses.filter((r) => r.res.status === 503)) {
      expect(res.errors?.[0]?.extensions?.['code']).toBe('SERVICE_UNAVAILABLE');
    }
    // Events flow again: the search process resubscribed by itself.
    await signUp('hopper');
    await expect.poll(() => searchFor('hopper'), { timeout: 10_000 }).toEqual(['hopper']);
    // Nothing logged the Redis URL with a password or a stack of an unexpected error.
    expect(system.output).not.toContain('unexpected error');
  });
});
