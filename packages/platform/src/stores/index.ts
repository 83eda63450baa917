import { createMemoryCache, type Cache } from './cache.js';
import { createMemoryRateLimiterStore, type RateLimiterStore } from './rate-limiter.js';
import { createMemoryRevocationList, type RevocationList } from './revocation-list.js';
import { createMemorySessionStore, type SessionStore } from './session-store.js';

export * from './cache.js';
export * from './rate-limiter.js';
export * from './revocation-list.js';
export * from './session-store.js';

/**
 * Every store a service may need, from one backend. Embedded mode builds them in process
 * with {@link createMemoryStores}; distributed mode builds them on Redis.
 */
export interface Stores {
  sessions: SessionStore;
  revocations: RevocationList;
  rateLimiters: RateLimiterStore;
  cache: Cache;
  /** Releases connections; the stores must not be used afterwards. */
  close(): Promise<void>;
}

/** In-process stores for embedded mode (one process: nothing to share). */
export function createMemoryStores(): Stores {
  return {
    sessions: createMemorySessionStore(),
    revocations: createMemoryRevocationList(),
    rateLimiters: createMemoryRateLimiterStore(),
    cache: createMemoryCache(),
    close: async () => {},
  };
}
