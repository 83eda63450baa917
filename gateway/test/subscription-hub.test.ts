import { readFileSync } from 'node:fs';
import path from 'node:path';
import { prettyFormatQueryPlan } from '@apollo/query-planner';
import { createMetrics, repoRoot, type Principal } from '@foundation/platform';
import { testLogger } from '@foundation/platform/testing';
import { parse, type ExecutionResult } from 'graphql';
import { describe, expect, it } from 'vitest';
import type { GatewayContext } from '../src/context.js';
import { delegateAuthorization } from '../src/supergraph-file.js';
import { createSubscriptionHub, type ClientStream } from '../src/subscriptions/subscription-hub.js';
import { createSubscriptionMetrics } from '../src/subscriptions/subscription-metrics.js';
import { createSubscriptionPlanner } from '../src/subscriptions/subscription-planner.js';
import type { UpstreamOptions } from '../src/subscriptions/upstream.js';

const sdl = delegateAuthorization(
  readFileSync(path.join(repoRoot, 'schema/supergraph.graphql'), 'utf8'),
);
const planner = createSubscriptionPlanner(sdl);
const logger = testLogger();

function contextOf(principal: Principal, ip = '10.0.0.1'): GatewayContext {
  return { principal, client: { ip, userAgent: 'test' }, requestId: 'r1', logger };
}

function setup(queueSize = 4) {
  const metrics = createMetrics({ service: 'gateway', processMetrics: false });
  const subscriptionMetrics = createSubscriptionMetrics(metrics);
  const upstreams: (UpstreamOptions & { closed: boolean })[] = [];
  const hub = createSubscriptionHub({
    planner: () => planner,
    services: () => ({}),
    urlOf: () => 'http://127.0.0.1:1/graphql',
    identityHeaders: () => Promise.resolve({}),
    limits: {
      maxPerPrincipal: 3,
      queueSize,
      upstreamRetryAttempts: 0,
      upstreamRetryMaxDelayMs: 10,
      keepAliveMs: 1_000,
    },
    metrics: subscriptionMetrics,
    logger,
    openUpstream(options) {
      const upstream = { ...options, closed: false };
      upstreams.push(upstream);
      return { close: () => void (upstream.closed = true) };
    },
  });
  const value = async (name: string) =>
    (await metrics.registry.getSingleMetric(name)?.get())?.values.reduce((a, v) => a + v.value, 0);
  return { hub, upstreams, value };
}

const simple = parse('subscription { userRegistered { id username } }');
const request = (context: GatewayContext, document = simple) => ({
  document,
  operationName: undefined,
  variables: {},
  context,
});
const event = (n: number) => ({ data: { userRegistered: { id: `u${n}`, username: `user${n}` } } });
const flush = () => new Promise((resolve) => setTimeout(resolve, 20));

describe('subscription planning', () => {
  it('plans the primary subscription on the owner and one entity hop for the rest', () => {
    const plan = planner.plan(
      parse('subscription { userRegistered { username sessions { createdAt } } }'),
      undefined,
    );
    expect(plan.primary.serviceName).toBe('user');
    expect(plan.primary.operationKind).toBe('subscription');
    // Printed, so a federation upgrade that changes plans fails here loudly.
    const printed = prettyFormatQueryPlan(plan.queryPlan);
    expect(printed).toMatch(/Subscription \{\s+Primary: \{\s+Fetch\(service: "user"\)/);
    expect(printed).toMatch(/Flatten\(path: "userRegistered"\) \{\s+Fetch\(service: "auth"\)/);
    expect(printed).toContain('... on User');
    expect(planner.plan(simple, undefined).rest).toBeUndefined();
  });
});

describe('subscription hub', () => {
  it('shares one upstream per operation and identity, resolving each event once', async () => {
    const { hub, upstreams, value } = setup();
    const anon = contextOf({ kind: 'anonymous' });
    const a = hub.subscribe(request(anon)) as ClientStream;
    const b = hub.subscribe(request(contextOf({ kind: 'anonymous' }))) as ClientStream;
    const other = hub.subscribe(
      request(contextOf({ kind: 'anonymous' }, '10.0.0.2')),
    ) as ClientStream;
    expect(upstreams).toHaveLength(2);
    upstreams[0]!.onEvent(event(1));
    await flush();
    const first = await a.next();
    expect(first.value).toEqual({ data: { userRegistered: { id: 'u1', username: 'user1' } } });
    expect((await b.next()).value).toEqual(first.value);
    expect(await value('graphql_subscription_upstream_events_total')).toBe(1);
    // Nothing was resolved for the other identity, so nothing reaches it.
    const pending = other.next();
    const raced = await Promise.race([pending, flush().then(() => 'nothing')]);
    expect(raced).toBe('nothing');
    await other.return?.();
    expect(upstreams[1]!.closed).toBe(true);
    await a.return?.();
    expect(upstreams[0]!.closed).toBe(false);
    await b.return?.();
    // The last client out closes the upstream at once.
    expect(upstreams[0]!.closed).toBe(true);
    expect(hub.groupCount).toBe(0);
    expect(await value('graphql_subscription_upstreams')).toBe(0);
    expect(await value('graphql_subscriptions_active')).toBe(0);
  });

  it('keys groups on everything forwarded for identity', () => {
    const { hub, upstreams } = setup();
    const user = (tokenId: string): Principal => ({
      kind: 'user',
      userId: 'u1',
      username: 'ada',
      sessionId: 's1',
      scopes: [],
      tokenId,
      tokenExpiresAt: new Date(Date.now() + 60_000),
    });
    hub.subscribe(request(contextOf(user('t1'))));
    hub.subscribe(request(contextOf(user('t1'))));
    hub.subscribe(request(contextOf(user('t2'))));
    hub.subscribe(
      request({ ...contextOf(user('t1')), client: { ip: '10.0.0.1', userAgent: 'x' } }),
    );
    expect(upstreams).toHaveLength(3);
  });

  it('drops the oldest events of a slow client and counts them', async () => {
    const { hub, upstreams, value } = setup(4);
    const slow = hub.subscribe(request(contextOf({ kind: 'anonymous' }))) as ClientStream;
    for (let n = 1; n <= 10; n++) upstreams[0]!.onEvent(event(n));
    await flush();
    const got: ExecutionResult[] = [];
    for (let i = 0; i < 4; i++) got.push((await slow.next()).value as ExecutionResult);
    expect(got.map((r) => (r.data?.['userRegistered'] as { id: string }).id)).toEqual([
      'u7',
      'u8',
      'u9',
      'u10',
    ]);
    expect(await value('graphql_subscription_events_dropped_total')).toBe(6);
    await slow.return?.();
  });

  it('ends every client with the upstream error, and caps subscriptions per principal', async () => {
    const { hub, upstreams } = setup();
    const anon = contextOf({ kind: 'anonymous' });
    const streams = [1, 2, 3].map(() => hub.subscribe(request(anon)) as ClientStream);
    const refused = hub.subscribe(request(anon)) as ExecutionResult;
    expect(refused.errors?.[0]?.extensions['code']).toBe('RATE_LIMITED');
    const { foundationError } = await import('@foundation/platform');
    upstreams[0]!.onError(foundationError('SERVICE_UNAVAILABLE', 'lost'));
    await flush();
    for (const stream of streams) {
      const last = (await stream.next()).value as ExecutionResult;
      expect(last.errors?.[0]?.extensions['code']).toBe('SERVICE_UNAVAILABLE');
      expect((await stream.next()).done).toBe(true);
    }
    expect(hub.groupCount).toBe(0);
  });
});
