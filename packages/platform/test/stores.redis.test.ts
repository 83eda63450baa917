/**
 * The Redis stores on a real redis-server: the same contracts as the in-memory ones, then
 * what only a shared backend can show (two processes' worth of clients seeing each other's
 * data and events), and faults (Redis stopped: fast SERVICE_UNAVAILABLE, then recovery).
 */
import { randomUUID } from 'node:crypto';
import {
  skipUnlessInstalled,
  startRedis,
  startRedisCluster,
  startRedisSentinel,
  type RedisCluster,
  type RedisServer,
} from '@foundation/test-servers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRedisStores, type Stores } from '../src/index.js';
import { testLogger } from '../src/testing.js';
import { storesContract } from './contracts/stores.contract.js';

const skip = skipUnlessInstalled('redis-server', 'redis-server');
let redis: RedisServer;

/** Stores under a fresh key prefix, so every test starts empty on the one server. */
const redisStores = (keyPrefix = `t${randomUUID().slice(0, 8)}:`) =>
  createRedisStores({
    topology: { mode: 'standalone', url: redis.url },
    commandTimeoutMs: 1_000,
    connectTimeoutMs: 5_000,
    keyPrefix,
    logger: testLogger(),
  });

describe.skipIf(skip)('redis stores', () => {
  beforeAll(async () => {
    redis = await startRedis();
  });
  afterAll(async () => {
    await redis?.dispose();
  });

  storesContract('redis', () => redisStores());

  it('shares sessions, revocations, limits, cache and events between separate clients', async () => {
    const prefix = `shared${randomUUID().slice(0, 8)}:`;
    const [a, b] = await Promise.all([redisStores(prefix), redisStores(prefix)]);
    try {
      const now = Date.now();
      const session = {
        id: randomUUID(),
        userId: randomUUID(),
        createdAt: new Date(now),
        lastSeenAt: new Date(now),
        expiresAt: new Date(now + 60_000),
        clientIp: null,
        userAgent: null,
        refreshTokenHash: 'h',
      };
      await a.sessions.create(session);
      expect(await b.sessions.get(session.id)).toEqual(session);
      await a.revocations.revoke('jti-1', new Date(now + 60_000));
      expect(await b.revocations.isRevoked('jti-1')).toBe(true);
      const rule = { name: 'shared', limit: 2, windowSeconds: 60 };
      expect((await a.rateLimiters.limiter(rule).consume('ip')).allowed).toBe(true);
      expect((await b.rateLimiters.limiter(rule).consume('ip')).allowed).toBe(true);
      expect((await a.rateLimiters.limiter(rule).consume('ip')).allowed).toBe(false);
      await a.cache.set('k', 'v', 60);
      expect(await b.cache.get('k')).toBe('v');
      const received: string[] = [];
      b.events.subscribe('user.registered', (e) => void received.push(e.user.id));
      await a.events.publish({
        type: 'user.registered',
        user: {
          id: 'u1',
          username: 'u1',
          displayName: 'U',
          createdAt: new Date(now).toISOString(),
        },
      });
      await expect.poll(() => received).toEqual(['u1']);
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  });

  it('keeps deployments with different key prefixes apart', async () => {
    const [a, b] = await Promise.all([redisStores('one:'), redisStores('two:')]);
    try {
      await a.cache.set('same-key', 'one', 60);
      expect(await b.cache.get('same-key')).toBeUndefined();
      const heard: string[] = [];
      b.events.subscribe('user.updated', (e) => void heard.push(e.user.id));
      a.events.subscribe('user.updated', (e) => void heard.push(`a:${e.user.id}`));
      await a.events.publish({
        type: 'user.updated',
        user: { id: 'x', username: 'x', displayName: 'X', createdAt: new Date(0).toISOString() },
      });
      await expect.poll(() => heard).toEqual(['a:x']);
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  });

  it('refuses to start, without printing the password, when Redis cannot be reached', async () => {
    const started = Date.now();
    const attempt = createRedisStores({
      topology: { mode: 'standalone', url: 'redis://:s3cret-pass@127.0.0.1:1' },
      commandTimeoutMs: 500,
      connectTimeoutMs: 1_000,
      keyPrefix: 'x:',
      logger: testLogger(),
    });
    const error = await attempt.then(
      () => undefined,
      (e: unknown) => e as Error,
    );
    expect(error?.message).toMatch(
      /Could not connect to Redis \(standalone 127\.0\.0\.1:1\) within 1000 ms/,
    );
    expect(error?.message).not.toContain('s3cret-pass');
    expect(Date.now() - started).toBeLessThan(3_000);
  });
});

describe.skipIf(skip)('redis stores when Redis restarts', () => {
  let server: RedisServer;
  let stores: Stores;
  beforeAll(async () => {
    server = await startRedis({ persistence: true });
    stores = await createRedisStores({
      topology: { mode: 'standalone', url: server.url },
      commandTimeoutMs: 1_000,
      connectTimeoutMs: 5_000,
      keyPrefix: 'restart:',
      logger: testLogger(),
    });
  });
  afterAll(async () => {
    await stores?.close();
    await server?.dispose();
  });

  it('fails fast with SERVICE_UNAVAILABLE while down, reconnects by itself, keeps sessions', async () => {
    const now = Date.now();
    const session = {
      id: randomUUID(),
      userId: randomUUID(),
      createdAt: new Date(now),
      lastSeenAt: new Date(now),
      expiresAt: new Date(now + 600_000),
      clientIp: '10.0.0.1',
      userAgent: 'restart-test',
      refreshTokenHash: 'r0',
    };
    await stores.sessions.create(session);
    await stores.revocations.revoke('revoked-before-restart', new Date(now + 600_000));
    const received: string[] = [];
    stores.events.subscribe('user.updated', (e) => void received.push(e.user.id));

    await server.stop();
    const started = Date.now();
    const results = await Promise.allSettled([
      stores.sessions.get(session.id),
      stores.revocations.isRevoked('anything'),
      stores.cache.get('k'),
      stores.rateLimiters.limiter({ name: 'r', limit: 5, windowSeconds: 60 }).consume('k'),
      stores.events.publish({
        type: 'user.updated',
        user: { id: 'lost', username: 'l', displayName: 'L', createdAt: new Date(0).toISOString() },
      }),
    ]);
    // Bounded: no call waits for Redis to come back.
    expect(Date.now() - started).toBeLessThan(2_000);
    for (const result of results) {
      expect(result.status).toBe('rejected');
      const reason = (result as PromiseRejectedResult).reason as {
        message: string;
        extensions: Record<string, unknown>;
      };
      expect(reason.extensions).toEqual({ code: 'SERVICE_UNAVAILABLE', http: { status: 503 } });
      expect(reason.message).toMatch(/is unavailable; try again shortly$/);
    }

    await server.restart(); // starts it again on the same port and data directory
    // Back without any action of ours; the session was persisted (append-only file).
    await expect
      .poll(() => stores.sessions.get(session.id).catch(() => 'down'), { timeout: 10_000 })
      .toEqual(session);
    expect(await stores.revocations.isRevoked('revoked-before-restart')).toBe(true);
    // The event subscription was restored too.
    await expect
      .poll(
        async () => {
          await stores.events.publish({
            type: 'user.updated',
            user: {
              id: 'after',
              username: 'a',
              displayName: 'A',
              createdAt: new Date(0).toISOString(),
            },
          });
          return received.includes('after');
        },
        { timeout: 10_000, interval: 200 },
      )
      .toBe(true);
  });
});

describe.skipIf(skip)('redis stores through Sentinel', () => {
  it('find the primary through a real Sentinel and use it', async () => {
    const primary = await startRedis();
    const sentinel = await startRedisSentinel(primary);
    try {
      const stores = await createRedisStores({
        topology: {
          mode: 'sentinel',
          sentinels: [{ host: '127.0.0.1', port: sentinel.port }],
          masterName: sentinel.masterName,
        },
        commandTimeoutMs: 1_000,
        connectTimeoutMs: 10_000,
        keyPrefix: 'sentinel:',
        logger: testLogger(),
      });
      try {
        await stores.cache.set('k', 'through sentinel', 60);
        expect(await stores.cache.get('k')).toBe('through sentinel');
        const received: string[] = [];
        stores.events.subscribe('user.updated', (e) => void received.push(e.user.id));
        await stores.events.publish({
          type: 'user.updated',
          user: { id: 's1', username: 's', displayName: 'S', createdAt: new Date(0).toISOString() },
        });
        await expect.poll(() => received).toEqual(['s1']);
      } finally {
        await stores.close();
      }
    } finally {
      await sentinel.dispose();
      await primary.dispose();
    }
  });
});

describe.skipIf(skip)('redis stores on a Cluster', () => {
  let cluster: RedisCluster;
  beforeAll(async () => {
    cluster = await startRedisCluster();
  });
  afterAll(async () => {
    await cluster?.dispose();
  });

  // Every script and pipeline touches one slot, so the whole contract holds on a Cluster.
  storesContract('redis cluster', () =>
    createRedisStores({
      topology: { mode: 'cluster', nodes: cluster.nodes },
      commandTimeoutMs: 1_000,
      connectTimeoutMs: 10_000,
      keyPrefix: `c${randomUUID().slice(0, 8)}:`,
      logger: testLogger(),
    }),
  );
});
