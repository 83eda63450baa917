/**
 * Federated subscriptions through the router over graphql-ws: merged events, auth,
 * authorization, sharing and clean-up, against the real system.
 */
import { subscribeOverWebSocket } from '@foundation/platform/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';
import { graphql } from '../harness.js';
import {
  demoPassword,
  readMetric,
  startSubscriptionSystem,
  type SubscriptionSystem,
} from './system.js';

let system: SubscriptionSystem;
let adaToken: string;

beforeAll(async () => {
  system = await startSubscriptionSystem({
    FOUNDATION_SUBSCRIPTIONS__AUTH_RECHECK_SECONDS: '1',
    FOUNDATION_SUBSCRIPTIONS__MAX_PER_CONNECTION: '2',
  });
  adaToken = await system.login('ada', demoPassword);
});

afterAll(async () => {
  await system?.stop();
});

const dashboard = 'subscription { userRegistered { username displayName sessions { createdAt } } }';

type Registered = {
  userRegistered: {
    username: string;
    displayName: string;
    sessions: { createdAt: string }[] | null;
  };
};

/** Waits until the router holds `n` upstream subscriptions (the subscription is live). */
async function untilUpstreams(n: number, timeoutMs = 10_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await system.metric('graphql_subscription_upstreams');
    if (value === n) return;
    if (Date.now() > deadline) throw new Error(`upstreams stayed at ${value}, wanted ${n}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe('graphql-ws through the router', () => {
  it('merges each registration with fields from another subgraph', async () => {
    const sub = subscribeOverWebSocket<Registered>(system.deployment.routerUrl, dashboard, {
      connectionParams: { authorization: `Bearer ${adaToken}` },
    });
    try {
      await untilUpstreams(1);
      await system.register('dashboard1');
      const event = await sub.next(10_000);
      expect(event.errors).toBeUndefined();
      expect(event.data?.userRegistered).toMatchObject({
        username: 'dashboard1',
        displayName: 'dashboard1',
      });
      expect(event.data?.userRegistered.sessions).toHaveLength(1);
      expect(Date.parse(event.data!.userRegistered.sessions![0]!.createdAt)).toBeGreaterThan(0);
    } finally {
      await sub.close();
    }
    await untilUpstreams(0);
  });

  it('refuses a bad token with 4403 and a reason', async () => {
    const sub = subscribeOverWebSocket(system.deployment.routerUrl, dashboard, {
      connectionParams: { authorization: 'Bearer not-a-token' },
    });
    const ended = (await sub.ended) as { code: number; reason: string };
    expect(ended.code).toBe(4403);
    expect(ended.reason).toMatch(/token/i);
    await sub.close();
  });

  it('serves queries and mutations over the same socket', async () => {
    const sub = subscribeOverWebSocket<{ me: { username: string } }>(
      system.deployment.routerUrl,
      '{ me { username } }',
      { connectionParams: { authorization: `Bearer ${adaToken}` } },
    );
    expect((await sub.next()).data).toEqual({ me: { username: 'ada' } });
    await sub.close();
  });

  it('applies authorization: anonymous callers get the event without sessions', async () => {
    const sub = subscribeOverWebSocket<Registered>(system.deployment.routerUrl, dashboard);
    const admin = subscribeOverWebSocket(
      system.deployment.routerUrl,
      'subscription { sessionActivity { kind } }',
    );
    try {
      const refused = await admin.next();
      expect(refused.errors?.[0]?.extensions?.['code']).toBe('UNAUTHENTICATED');
      await untilUpstreams(1);
      await system.register('dashboard2');
      const event = await sub.next(10_000);
      expect(event.data?.userRegistered.username).toBe('dashboard2');
      expect(event.data?.userRegistered.sessions).toBeNull();
      expect(event.errors?.[0]?.extensions?.['code']).toBe('UNAUTHENTICATED');
    } finally {
      await sub.close();
      await admin.close();
    }
    await untilUpstreams(0);
  });
});

describe('sharing and isolation', () => {
  it('shares one upstream per identity, resolves once per group, and never crosses identities', async () => {
    const bob = await system.register('bobwatcher');
    const adas = [1, 2, 3].map(() =>
      subscribeOverWebSocket<Registered>(system.deployment.routerUrl, dashboard, {
        connectionParams: { authorization: `Bearer ${adaToken}` },
      }),
    );
    const bobs = subscribeOverWebSocket<Registered>(system.deployment.routerUrl, dashboard, {
      connectionParams: { authorization: `Bearer ${bob.token}` },
    });
    try {
      await untilUpstreams(2);
      const authMetrics = system.deployment.subgraphUrls.auth.replace(/\/graphql$/, '/metrics');
      const authCalls = () => readMetric(authMetrics, 'http_requests_total', 'endpoint="/graphql"');
      const before = await authCalls();
      const events = await system.metric('graphql_subscription_upstream_events_total');
      await system.register('sharedevent');
      for (const sub of adas) {
        const event = await sub.next(10_000);
        // Resolved for ada (an admin): the new user's sessions are visible.
        expect(event.data?.userRegistered.sessions).toHaveLength(1);
        expect(event.errors).toBeUndefined();
      }
      const bobEvent = await bobs.next(10_000);
      // Resolved for bob: someone else's sessions are refused, never ada's result.
      expect(bobEvent.data?.userRegistered.username).toBe('sharedevent');
      expect(bobEvent.data?.userRegistered.sessions).toBeNull();
      expect(bobEvent.errors?.[0]?.extensions?.['code']).toBe('FORBIDDEN');
      // One event per group from upstream, and one entity call per group (plus the register).
      expect((await system.metric('graphql_subscription_upstream_events_total')) - events).toBe(2);
      expect((await authCalls()) - before).toBe(3);
    } finally {
      for (const sub of [...adas, bobs]) await sub.close();
    }
    await untilUpstreams(0);
  });
});

describe('limits and credentials', () => {
  it('caps subscriptions per connection', async () => {
    const client = createClient({
      url: system.deployment.routerUrl.replace(/^http/, 'ws'),
      webSocketImpl: WebSocket,
      retryAttempts: 0,
    });
    const results: unknown[] = [];
    const offs = [1, 2, 3].map(() =>
      client.subscribe(
        { query: dashboard },
        { next: (value) => results.push(value), error: () => {}, complete: () => {} },
      ),
    );
    try {
      await expect.poll(() => results.length, { timeout: 10_000 }).toBe(1);
      expect(JSON.stringify(results[0])).toContain('RATE_LIMITED');
      await untilUpstreams(1);
    } finally {
      for (const off of offs) off();
      await client.dispose();
    }
    await untilUpstreams(0);
  });

  it('ends subscriptions with UNAUTHENTICATED when the session is logged out', async () => {
    const carol = await system.register('carolwatch');
    const sub = subscribeOverWebSocket<Registered>(system.deployment.routerUrl, dashboard, {
      connectionParams: { authorization: `Bearer ${carol.token}` },
    });
    await untilUpstreams(1);
    const out = await graphql(system.deployment.routerUrl, 'mutation { logout }', {
      token: carol.token,
    });
    expect(out.data).toEqual({ logout: true });
    const last = await sub.next(10_000);
    expect(last.errors?.[0]?.extensions?.['code']).toBe('UNAUTHENTICATED');
    expect(await sub.ended).toBeUndefined(); // completed, not dropped
    await sub.close();
    await untilUpstreams(0);
  });
});

describe('admin dashboards', () => {
  it('shows an admin each sign-in, with the user from another subgraph', async () => {
    const sub = subscribeOverWebSocket<{
      sessionActivity: { kind: string; user: { username: string } };
    }>(system.deployment.routerUrl, 'subscription { sessionActivity { kind user { username } } }', {
      connectionParams: { authorization: `Bearer ${adaToken}` },
    });
    try {
      await untilUpstreams(1);
      await system.register('activity1');
      const event = await sub.next(10_000);
      expect(event.errors).toBeUndefined();
      expect(event.data?.sessionActivity).toEqual({
        kind: 'LOGIN',
        user: { username: 'activity1' },
      });
    } finally {
      await sub.close();
    }
    await untilUpstreams(0);
  });
});

describe('credentials on the upgrade request', () => {
  /** A raw graphql-ws exchange with headers on the upgrade: the first reply, or the close. */
  function exchange(authorization: string) {
    const socket = new WebSocket(
      system.deployment.routerUrl.replace(/^http/, 'ws'),
      'graphql-transport-ws',
      { headers: { authorization } },
    );
    const messages: { type: string; payload?: unknown }[] = [];
    socket.on('message', (raw: Buffer) => {
      const message = JSON.parse(raw.toString()) as { type: string };
      messages.push(message);
      if (message.type === 'connection_ack') {
        socket.send(
          JSON.stringify({ type: 'subscribe', id: '1', payload: { query: '{ me { username } }' } }),
        );
      }
    });
    socket.on('open', () => socket.send(JSON.stringify({ type: 'connection_init' })));
    const closed = new Promise<number>((resolve) => socket.once('close', resolve));
    return { socket, messages, closed };
  }

  it('accepts a token in the upgrade headers and refuses a bad one with 4403', async () => {
    const good = exchange(`Bearer ${adaToken}`);
    await expect
      .poll(() => good.messages.find((m) => m.type === 'next'), { timeout: 5_000 })
      .toEqual({ type: 'next', id: '1', payload: { data: { me: { username: 'ada' } } } });
    good.socket.close();
    const bad = exchange('Bearer nonsense');
    expect(await bad.closed).toBe(4403);
  });
});

describe('other listeners and subgraphs', () => {
  it('serves API keys on the service listener, and search index events with a hop', async () => {
    const created = await graphql<{ createApiKey: { key: string } }>(
      system.deployment.routerUrl,
      'mutation { createApiKey(input: { name: "dash", scopes: [] }) { key } }',
      { token: adaToken },
    );
    const key = created.data!.createApiKey.key;
    // An access token is refused on the service listener, as over HTTP.
    const refused = subscribeOverWebSocket(system.deployment.serviceUrl, dashboard, {
      connectionParams: { authorization: `Bearer ${adaToken}` },
    });
    expect(((await refused.ended) as { code: number }).code).toBe(4403);
    await refused.close();
    const sub = subscribeOverWebSocket<{
      searchIndexUpdated: { indexedUsers: number; user: { username: string } };
    }>(
      system.deployment.serviceUrl,
      'subscription { searchIndexUpdated { indexedUsers user { username } } }',
      { connectionParams: { 'x-api-key': key } },
    );
    try {
      await untilUpstreams(1);
      await system.register('indexed1');
      const event = await sub.next(10_000);
      expect(event.errors).toBeUndefined();
      expect(event.data?.searchIndexUpdated.user.username).toBe('indexed1');
      expect(event.data?.searchIndexUpdated.indexedUsers).toBeGreaterThan(5);
    } finally {
      await sub.close();
    }
    await untilUpstreams(0);
  });
});
