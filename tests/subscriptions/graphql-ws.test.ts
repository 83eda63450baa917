/**
 * Federated subscriptions through the router over graphql-ws: merged events, auth,
 * authorization, sharing and clean-up, against the real system.
 */
import { subscribeOverWebSocket } from '@foundation/platform/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { demoPassword, startSubscriptionSystem, type SubscriptionSystem } from './system.js';

let system: SubscriptionSystem;
let adaToken: string;

beforeAll(async () => {
  system = await startSubscriptionSystem({ FOUNDATION_SUBSCRIPTIONS__AUTH_RECHECK_SECONDS: '1' });
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
