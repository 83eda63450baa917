import { Counter, type Registry } from 'prom-client';
import type { Logger } from '../logger.js';
import type { Cache } from './cache.js';

/** Options of one cache-aside read path, e.g. users by id. */
export interface CacheAsideOptions<T> {
  /** The shared cache (memory or Redis). */
  cache: Cache;
  /** Names the entries (`<name>:<id>`) and the `cache` label of the metrics. */
  name: string;
  /** How long a found value stays cached, in seconds. */
  ttlSeconds: number;
  /** How long "not found" stays cached, in seconds (negative caching). */
  negativeTtlSeconds: number;
  /** Value → string. @default JSON.stringify */
  encode?: (value: T) => string;
  /** String → value; must undo `encode` (e.g. revive dates). @default JSON.parse */
  decode?: (raw: string) => T;
  /** Where `cache_hits_total` and friends are registered. */
  registry?: Registry;
  /** Told when the cache fails (reads then go to the loader). */
  logger?: Logger;
}

/** Loads the values of the ids that missed, in one go; absent ids are left out. */
export type BatchLoader<T> = (ids: string[]) => Promise<Map<string, T>>;

/**
 * A cache-aside read path: look in the cache, on a miss load from the source of truth and
 * fill the cache. Misses are cached too ("not found", for `negativeTtlSeconds`), so lookups
 * of ids that do not exist cannot all reach the database (cache penetration). Concurrent
 * reads of one id in this process share one load (no stampede when a hot entry expires).
 * If the cache itself fails, reads go to the loader: a cache outage slows reads, it does
 * not fail them.
 */
export interface CacheAside<T> {
  /** The value of `id`, or null when it does not exist. */
  get(id: string, load: (id: string) => Promise<T | null>): Promise<T | null>;
  /** The values of `ids` in order (null where absent); the misses go to `load` together. */
  getMany(ids: readonly string[], load: BatchLoader<T>): Promise<(T | null)[]>;
  /** Forgets `id` after a write, here and in every process sharing the cache. */
  invalidate(id: string): Promise<void>;
}

/** The cache key of `id` under a cache-aside path named `name`. */
export function cacheEntryKey(name: string, id: string): string {
  return `${name}:${id}`;
}

/** The cache key of a user read by id, for writers outside the user subgraph. */
export function userCacheKey(id: string): string {
  return cacheEntryKey('user', id);
}

interface CacheMetrics {
  hits: Counter<'cache'>;
  misses: Counter<'cache'>;
  coalesced: Counter<'cache'>;
  errors: Counter<'cache'>;
}

function counter(registry: Registry | undefined, name: string, help: string): Counter<'cache'> {
  const existing = registry?.getSingleMetric(name);
  if (existing) return existing as Counter<'cache'>;
  return new Counter({ name, help, labelNames: ['cache'], registers: registry ? [registry] : [] });
}

function cacheMetrics(registry: Registry | undefined): CacheMetrics {
  return {
    hits: counter(registry, 'cache_hits_total', 'Cache-aside reads answered by the cache.'),
    misses: counter(registry, 'cache_misses_total', 'Cache-aside reads that went to the loader.'),
    coalesced: counter(
      registry,
      'cache_coalesced_total',
      'Cache-aside reads that joined a load already in flight for the same key.',
    ),
    errors: counter(registry, 'cache_errors_total', 'Cache reads or writes that failed.'),
  };
}

interface InFlight<T> {
  promise: Promise<T | null>;
  resolve(value: T | null): void;
  reject(error: unknown): void;
}

function inFlight<T>(): InFlight<T> {
  let resolve!: (value: T | null) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T | null>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  // Every waiter awaits it; this keeps a rejection nobody else awaits from going unhandled.
  promise.catch(() => {});
  return { promise, resolve, reject };
}

const found = '+';
const absent = '-';

/** Builds a cache-aside read path over `options.cache`. */
export function createCacheAside<T>(options: CacheAsideOptions<T>): CacheAside<T> {
  const { cache, name, logger } = options;
  const encode = options.encode ?? ((value: T) => JSON.stringify(value));
  const decode = options.decode ?? ((raw: string) => JSON.parse(raw) as T);
  const metrics = cacheMetrics(options.registry);
  const label = { cache: name };
  const pending = new Map<string, InFlight<T>>();

  const failed = (err: unknown, action: string) => {
    metrics.errors.inc(label);
    logger?.warn({ err, cache: name }, `cache ${action} failed`);
  };

  const read = async (id: string): Promise<{ value: T | null } | undefined> => {
    let raw: string | undefined;
    try {
      raw = await cache.get(cacheEntryKey(name, id));
    } catch (err) {
      failed(err, 'read');
      return undefined;
    }
    if (raw === undefined) return undefined;
    if (raw === absent) return { value: null };
    if (raw.startsWith(found)) return { value: decode(raw.slice(1)) };
    return undefined; // written by something else: treat as a miss and overwrite
  };

  const write = (id: string, value: T | null) => {
    const raw = value === null ? absent : found + encode(value);
    const ttl = value === null ? options.negativeTtlSeconds : options.ttlSeconds;
    // Off the reader's path: the reader has its value whether or not the cache takes it.
    cache.set(cacheEntryKey(name, id), raw, ttl).catch((err: unknown) => failed(err, 'write'));
  };

  async function getMany(ids: readonly string[], load: BatchLoader<T>): Promise<(T | null)[]> {
    const waits = new Map<string, Promise<T | null>>();
    const mine = new Map<string, InFlight<T>>();
    for (const id of ids) {
      if (waits.has(id)) continue;
      const current = pending.get(id);
      if (current) {
        metrics.coalesced.inc(label);
        waits.set(id, current.promise);
        continue;
      }
      const entry = inFlight<T>();
      pending.set(id, entry);
      mine.set(id, entry);
      waits.set(id, entry.promise);
    }
    if (mine.size > 0) {
      try {
        const lookups = await Promise.all(
          [...mine.keys()].map(async (id) => [id, await read(id)] as const),
        );
        const misses: string[] = [];
        for (const [id, hit] of lookups) {
          if (hit) {
            metrics.hits.inc(label);
            mine.get(id)!.resolve(hit.value);
          } else {
            metrics.misses.inc(label);
            misses.push(id);
          }
        }
        if (misses.length > 0) {
          const loaded = await load(misses);
          for (const id of misses) {
            const value = loaded.get(id) ?? null;
            const entry = mine.get(id)!;
            // Invalidated while loading: the value may predate the write, do not cache it.
            if (pending.get(id) === entry) write(id, value);
            entry.resolve(value);
          }
        }
      } catch (error) {
        // Settling a settled promise does nothing: this rejects only the ones still waiting.
        for (const entry of mine.values()) entry.reject(error);
      } finally {
        for (const [id, entry] of mine) if (pending.get(id) === entry) pending.delete(id);
      }
    }
    return Promise.all(ids.map((id) => waits.get(id)!));
  }

  return {
    getMany,
    async get(id, load) {
      const [value] = await getMany([id], async ([only]) => {
        const value = await load(only!);
        return new Map(value === null ? [] : [[only!, value]]);
      });
      return value ?? null;
    },
    async invalidate(id) {
      pending.delete(id);
      try {
        await cache.delete(cacheEntryKey(name, id));
      } catch (err) {
        // The write has happened; the stale entry lasts at most ttlSeconds.
        failed(err, 'invalidation');
      }
    },
  };
}
