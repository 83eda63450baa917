import { LRUCache } from 'lru-cache';

/**
 * A string cache with per-entry TTL: process memory in embedded mode, Redis in distributed
 * mode. Values are strings so every backend stores the same bytes (JSON by convention).
 */
export interface Cache {
  get(key: string): Promise<string | undefined>;
  /** Stores `value` for `ttlSeconds` seconds (at least 1). */
  set(key: string, value: string, ttlSeconds: number): Promise<void>;
  delete(key: string): Promise<void>;
}

export interface MemoryCacheOptions {
  /** Most entries kept; the least recently used go first. @default 10_000 */
  maxEntries?: number;
}

/** In-process cache, bounded in entries so it cannot grow without limit. */
export function createMemoryCache(options: MemoryCacheOptions = {}): Cache {
  const lru = new LRUCache<string, string>({ max: options.maxEntries ?? 10_000 });
  return {
    async get(key) {
      return lru.get(key);
    },
    async set(key, value, ttlSeconds) {
      lru.set(key, value, { ttl: Math.max(1, ttlSeconds) * 1000 });
    },
    async delete(key) {
      lru.delete(key);
    },
  };
}
