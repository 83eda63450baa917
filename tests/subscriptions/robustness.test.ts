/**
 * Failure cases of federated subscriptions, with the router and subgraphs built in-process
 * by their factories and served over real ports (so a subgraph can be stopped, restarted or
 * given the wrong secret, and the supergraph file changed).
 */
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { openDatabase, type Database } from '@foundation/db';
import { createGateway, type Gateway } from '@foundation/gateway';
import {
  createIdentityAssertions,
  createMemoryEventBus,
  createMemoryStores,
  identityFromConfig,
  listen,
  loadConfig,
  repoRoot,
  snapshotOfUser,
  type Config,
  type EventBus,
  type RunningServer,
} from '@foundation/platform';
import { subscribeOverWebSocket, testLogger } from '@foundation/platform/testing';
import { createUserSubgraph } from '@foundation/user-subgraph';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const logger = testLogger();
let dir: string;
let db: Database;
let events: EventBus;
let config: Config;
let userServer: RunningServer;
let userPort: number;
const cleanups: (() => Promise<void>)[] = [];
const base = loadConfig({ env: { APP_ENV: 'test' } });
const { accessTokens, assertions } = identityFromConfig(base);

async function startUser(port = 0) {
  const subgraph = await createUserSubgraph({ db, events, assertions, logger });
  const server = await listen(subgraph.listener, { host: '127.0.0.1', port });
  const stop = async () => {
    await server.close();
    await subgraph.stop();
  };
  return { server, stop };
}

let userStop: () => Promise<void>;
let liveHandlers = 0;

beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'subscriptions-'));
  db = await openDatabase({ url: `file:${path.join(dir, 'test.db')}`, migrate: true });
  const bus = createMemoryEventBus(logger);
  // Counts the user subgraph's live subscriptions: each one is a handler on the bus.
  events = {
    publish: (event) => bus.publish(event),
    subscribe(type, handler) {
      const off = bus.subscribe(type, handler);
      liveHandlers++;
      let on = true;
      return () => {
        if (on) liveHandlers--;
        on = false;
        off();
      };
    },
  };
  const user = await startUser();
  userServer = user.server;
  userPort = user.server.port;
  userStop = user.stop;
  copyFileSync(
    path.join(repoRoot, 'schema/supergraph.graphql'),
    path.join(dir, 'supergraph.graphql'),
  );
  config = {
    ...base,
    gateway: { ...base.gateway, supergraphPath: path.join(dir, 'supergraph.graphql') },
    // Only the user subgraph runs: these subscriptions need no other.
    subgraphs: {
      ...base.subgraphs,
      user: { ...base.subgraphs.user, url: `${userServer.url}/graphql` },
    },
    subscriptions: {
      ...base.subscriptions,
      keepAliveMs: 1_000,
      upstreamRetryAttempts: 2,
      upstreamRetryMaxDelayMs: 200,
    },
  };
});

afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
  await userStop?.();
  await db?.close();
  rmSync(dir, { recursive: true, force: true });
});

async function startRouter(overrides: Partial<Parameters<typeof createGateway>[0]> = {}) {
  const stores = createMemoryStores();
  const gateway: Gateway = await createGateway({
    config,
    logger,
    accessTokens,
    assertions,
    stores,
    db,
    ...overrides,
  });
  const server = await listen(gateway.listener, { host: '127.0.0.1', port: 0 });
  const stop = async () => {
    await server.close();
    await gateway.stop();
    await stores.close();
  };
  cleanups.push(stop);
  return { gateway, url: `${server.url}/graphql` };
}

const query = 'subscription { userRegistered { id username } }';

async function publishUntilSeen(sub: { next(ms?: number): Promise<unknown> }, username: string) {
  const user = await db.prisma.user.upsert({
    where: { username },
    create: { username, email: `${username}@example.org`, displayName: username },
    update: {},
  });
  const next = sub.next(8_000);
  const timer = setInterval(
    () => void events.publish({ type: 'user.registered', user: snapshotOfUser(user) }),
    100,
  );
  try {
    return (await next) as { data?: { userRegistered: { username: string } }; errors?: unknown[] };
  } finally {
    clearInterval(timer);
  }
}

describe('subscription failure cases', () => {
  it('an upstream that refuses the router (4403) ends the client subscription with an error', async () => {
    const wrong = createIdentityAssertions({
      secret: 'another-internal-secret-another-internal-secret',
      ttlSeconds: 60,
    });
    const { url } = await startRouter({ assertions: wrong });
    const sub = subscribeOverWebSocket(url, query);
    const result = (await sub.next(5_000)) as { errors?: { extensions?: { code?: string } }[] };
    expect(result.errors?.[0]?.extensions?.code).toBe('INTERNAL_SERVER_ERROR');
    expect(JSON.stringify(result)).toContain('refused the router');
    expect(await sub.ended).toBeUndefined();
    await sub.close();
  });

  it('resumes after a short upstream outage, and errors once it cannot', async () => {
    const { gateway, url } = await startRouter();
    const sub = subscribeOverWebSocket<{ userRegistered: { username: string } }>(url, query);
    expect((await publishUntilSeen(sub, 'before')).data?.userRegistered.username).toBe('before');
    // The subgraph restarts on the same port: the router reconnects by itself.
    await userStop();
    const again = await startUser(userPort);
    userStop = again.stop;
    expect((await publishUntilSeen(sub, 'after')).data?.userRegistered.username).toBe('after');
    expect(gateway.subscriptions.hub.groupCount).toBe(1);
    // Gone for good: after the retries, a clear error instead of silence.
    await userStop();
    const last = (await sub.next(10_000)) as { errors?: { extensions?: { code?: string } }[] };
    expect(last.errors?.[0]?.extensions?.code).toBe('SERVICE_UNAVAILABLE');
    await sub.close();
    expect(gateway.subscriptions.hub.groupCount).toBe(0);
    const back = await startUser(userPort);
    userStop = back.stop;
  });

  it('a supergraph reload ends open subscriptions with a clear code', async () => {
    const { url } = await startRouter();
    const sub = subscribeOverWebSocket(url, query);
    await publishUntilSeen(sub, 'reload1');
    const file = config.gateway.supergraphPath;
    writeFileSync(file, `${readFileSync(file, 'utf8')}\n# changed\n`);
    const last = (await sub.next(10_000)) as {
      errors?: { extensions?: { code?: string; reason?: string } }[];
    };
    expect(last.errors?.[0]?.extensions).toMatchObject({
      code: 'SERVICE_UNAVAILABLE',
      reason: 'SUPERGRAPH_UPDATED',
    });
    expect(await sub.ended).toBeUndefined();
    await sub.close();
    // Queries go on after the reload, through the data sources the router kept.
    const res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query: '{ users(first: 1) { totalCount } }' }),
    });
    const body = (await res.json()) as { data?: { users?: { totalCount: number } } };
    expect(body.data?.users?.totalCount).toBeGreaterThanOrEqual(0);
  });

  it('leaves no subscription open on the subgraph once clients go away', async () => {
    const { gateway, url } = await startRouter();
    const subs = [1, 2, 3].map(() => subscribeOverWebSocket(url, query));
    await publishUntilSeen(subs[0]!, 'leak1');
    expect(gateway.subscriptions.hub.groupCount).toBe(1);
    expect(liveHandlers).toBe(1); // three clients, one upstream subscription
    await subs[0]!.close();
    await subs[1]!.close();
    expect(liveHandlers).toBe(1);
    await subs[2]!.close();
    await expect.poll(() => liveHandlers, { timeout: 5_000 }).toBe(0);
    expect(gateway.subscriptions.hub.groupCount).toBe(0);
  });

  it('drops a client that stops answering pings, and its upstream with it', async () => {
    const { gateway, url } = await startRouter();
    const socket = new WebSocket(url.replace(/^http/, 'ws'), 'graphql-transport-ws');
    await new Promise((resolve) => socket.once('open', resolve));
    const acked = new Promise((resolve) => socket.once('message', resolve));
    socket.send(JSON.stringify({ type: 'connection_init', payload: {} }));
    await acked;
    socket.send(JSON.stringify({ type: 'subscribe', id: '1', payload: { query } }));
    await expect.poll(() => gateway.subscriptions.hub.groupCount, { timeout: 5_000 }).toBe(1);
    // Stop reading: pings go unanswered.
    (socket as unknown as { _socket: { pause(): void } })._socket.pause();
    await expect
      .poll(() => gateway.subscriptions.hub.groupCount, { timeout: 8_000, interval: 100 })
      .toBe(0);
    await expect.poll(() => liveHandlers, { timeout: 5_000 }).toBe(0);
    socket.terminate();
  });
});
