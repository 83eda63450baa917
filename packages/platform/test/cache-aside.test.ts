/**
 * The cache-aside read path on both cache backends (memory, and Redis on a real
 * redis-server): hits and misses, TTL, invalidation, negative caching, coalescing, the
 * counters Prometheus scrapes, and reads surviving a cache outage.
 */
import { randomUUID } from 'node:crypto';
import { skipUnlessInstalled, startRedis, type RedisServer } from '@foundation/test-servers';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createCacheAside,
  createMemoryCache,
  createRedisStores,
  type Cache,
} from '../src/index.js';
import { testLogger } from '../src/testing.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

interface Row {
  id: string;
  name: string;
  at: Date;
}

/** A fake table that counts its queries: the "database" behind the cache. */
function table(rows: Row[], delayMs = 20) {
  const byId = new Map(rows.map((r) => [r.id, r]));
  const queries: string[][] = [];
  return {
    queries,
    load: async (ids: string[]) => {
      queries.push(ids);
      await sleep(delayMs);
      return new Map(ids.flatMap((id) => (byId.has(id) ? [[id, byId.get(id)!] as const] : [])));
    },
    update(row: Row) {
      byId.set(row.id, row);
    },
  };
}

async function counters(registry: Registry, cache: string) {
  const value = async (name: string) =>
    (await registry.getSingleMetric(name)?.get())?.values.find((v) => v.labels['cache'] === cache)
      ?.value ?? 0;
  return {
    hits: await value('cache_hits_total'),
    misses: await value('cache_misses_total'),
    coalesced: await value('cache_coalesced_total'),
    errors: await value('cache_errors_total'),
  };
}

const ada = { id: 'ada', name: 'Ada', at: new Date(1_000) };

function suite(name: string, makeCache: () => Cache) {
  const make = (ttlSeconds = 60, negativeTtlSeconds = 60) => {
    const registry = new Registry();
    const cacheName = `c${randomUUID().slice(0, 6)}`;
    const aside = createCacheAside<Row>({
      cache: makeCache(),
      name: cacheName,
      ttlSeconds,
      negativeTtlSeconds,
      decode: (raw) => {
        const row = JSON.parse(raw) as Row & { at: string };
        return { ...row, at: new Date(row.at) };
      },
      registry,
    });
    return { aside, registry, cacheName };
  };

  describe(`cache-aside on ${name}`, () => {
    it('loads once, then answers from the cache, with values intact', async () => {
      const { aside, registry, cacheName } = make();
      const db = table([ada]);
      expect(await aside.getMany(['ada'], db.load)).toEqual([ada]);
      // Each read waits a moment: the cache is filled off the reader's path.
      await expect.poll(async () => aside.getMany(['ada'], db.load)).toEqual([ada]);
      expect(db.queries).toEqual([['ada']]);
      expect(await counters(registry, cacheName)).toMatchObject({ misses: 1, hits: 1 });
    });

    it('forgets an entry on invalidation, so the next read sees the write', async () => {
      const { aside } = make();
      const db = table([ada]);
      await aside.get('ada', async (id) => (await db.load([id])).get(id) ?? null);
      await sleep(50);
      db.update({ ...ada, name: 'Ada Lovelace' });
      await aside.invalidate('ada');
      expect((await aside.getMany(['ada'], db.load))[0]?.name).toBe('Ada Lovelace');
      expect(db.queries).toHaveLength(2);
    });

    it('expires entries after their TTL', async () => {
      const { aside } = make(1, 1);
      const db = table([ada]);
      await aside.getMany(['ada'], db.load);
      await sleep(50);
      await aside.getMany(['ada'], db.load);
      expect(db.queries).toHaveLength(1);
      await sleep(1_300);
      await aside.getMany(['ada'], db.load);
      expect(db.queries).toHaveLength(2);
    });

    it('caches "not found" too, so made-up ids do not reach the database each time', async () => {
      const { aside, registry, cacheName } = make();
      const db = table([ada]);
      expect(await aside.getMany(['nobody', 'ada'], db.load)).toEqual([null, ada]);
      await sleep(50);
      for (let i = 0; i < 5; i++) expect(await aside.getMany(['nobody'], db.load)).toEqual([null]);
      expect(db.queries).toEqual([['nobody', 'ada']]);
      expect((await counters(registry, cacheName)).hits).toBe(5);
    });

    it('runs one load per key however many readers arrive at once (no stampede)', async () => {
      const { aside, registry, cacheName } = make();
      const db = table([ada], 100);
      const reads = await Promise.all(
        Array.from({ length: 50 }, (_, i) =>
          i % 2
            ? aside.getMany(['ada'], db.load)
            : aside.get('ada', async (id) => (await db.load([id])).get(id) ?? null),
        ),
      );
      expect(reads.flat().every((r) => r?.name === 'Ada')).toBe(true);
      expect(db.queries).toEqual([['ada']]);
      expect(await counters(registry, cacheName)).toMatchObject({ misses: 1, coalesced: 49 });
    });

    it('passes a load failure to every waiting reader, and caches nothing', async () => {
      const { aside } = make();
      let calls = 0;
      const failing = async () => {
        calls++;
        await sleep(20);
        throw new Error('database down');
      };
      const results = await Promise.allSettled([
        aside.getMany(['ada'], failing),
        aside.getMany(['ada'], failing),
      ]);
      expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected']);
      expect(calls).toBe(1);
      const db = table([ada]);
      expect(await aside.getMany(['ada'], db.load)).toEqual([ada]);
    });
  });
}

suite('memory', () => createMemoryCache());

describe.skipIf(skipUnlessInstalled('redis-server', 'redis-server'))('cache-aside on redis', () => {
  let redis: RedisServer;
  const opened: { close(): Promise<void> }[] = [];
  const caches: Cache[] = [];
  beforeAll(async () => {
    redis = await startRedis();
    for (let i = 0; i < 8; i++) {
      const stores = await createRedisStores({
        topology: { mode: 'standalone', url: redis.url },
        commandTimeoutMs: 1_000,
        connectTimeoutMs: 5_000,
        keyPrefix: `aside${i}:`,
        logger: testLogger(),
      });
      opened.push(stores);
      caches.push(stores.cache);
    }
  });
  afterAll(async () => {
    await Promise.all(opened.map((s) => s.close()));
    await redis?.dispose();
  });
  let next = 0;
  suite('redis', () => caches[next++ % caches.length]!);

  it('shares entries and invalidations between processes', async () => {
    const registry = new Registry();
    const options = { name: 'shared', ttlSeconds: 60, negativeTtlSeconds: 60, registry };
    const a = createCacheAside<{ v: number }>({ cache: caches[0]!, ...options });
    const b = createCacheAside<{ v: number }>({ cache: caches[0]!, ...options });
    let value = 1;
    const load = async (ids: string[]) => new Map(ids.map((id) => [id, { v: value }]));
    expect(await a.getMany(['k'], load)).toEqual([{ v: 1 }]);
    await sleep(50);
    value = 2;
    expect(await b.getMany(['k'], load)).toEqual([{ v: 1 }]); // b reads a's entry
    await a.invalidate('k');
    expect(await b.getMany(['k'], load)).toEqual([{ v: 2 }]);
  });

  it('serves reads from the loader while Redis is down, counting the errors', async () => {
    const server = await startRedis();
    const stores = await createRedisStores({
      topology: { mode: 'standalone', url: server.url },
      commandTimeoutMs: 500,
      connectTimeoutMs: 5_000,
      keyPrefix: 'down:',
      logger: testLogger(),
    });
    try {
      const registry = new Registry();
      const aside = createCacheAside<Row>({
        cache: stores.cache,
        name: 'down',
        ttlSeconds: 60,
        negativeTtlSeconds: 60,
        registry,
      });
      await server.stop();
      const db = table([ada]);
      const started = Date.now();
      expect((await aside.getMany(['ada'], db.load))[0]?.name).toBe('Ada');
      await aside.invalidate('ada'); // logged and counted, not thrown
      expect(Date.now() - started).toBeLessThan(1_500);
      await expect.poll(async () => (await counters(registry, 'down')).errors).toBe(3);
    } finally {
      await stores.close();
      await server.dispose();
    }
  });
});
