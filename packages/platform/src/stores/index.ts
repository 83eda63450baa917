import type { EventBus } from '../events.js';
import { createMemoryEventBus } from '../events.js';
import { createLogger, type Logger } from '../logger.js';
import { createMemoryCache, type Cache } from './cache.js';
import { createMemoryRateLimiterStore, type RateLimiterStore } from './rate-limiter.js';
import { createMemoryRevocationList, type RevocationList } from './revocation-list.js';
import { createMemorySessionStore, type SessionStore } from './session-store.js';

export * from './cache.js';
export * from './cache-aside.js';
export * from './rate-limiter.js';
export * from './revocation-list.js';
export * from './session-store.js';
export * from './stores-from-config.js';
export * from './redis/index.js';

/**
 * Every store a service may need, and the domain event bus, from one backend. Embedded
 * mode builds them in process with {@link createMemoryStores}; distributed mode builds
 * them on Redis with `createRedisStores`, so processes share them.
 */
export interface Stores {
  sessions: SessionStore;
  revocations: RevocationList;
  rateLimiters: RateLimiterStore;
  cache: Cache;
  /** Domain events: within the process (memory) or between processes (Redis). */
  events: EventBus;
  /** Whether the backend can serve now (for `/ready`); never throws, never waits. */
  ready(): boolean;
  /** Releases connections; the stores must not be used afterwards. */
  close(): Promise<void>;
}

export interface MemoryStoresOptions {
  /** Logs event handler failures. @default a silent logger */
  logger?: Logger;
}

/** In-process stores for embedded mode (one process: nothing to share). */
export function createMemoryStores(options: MemoryStoresOptions = {}): Stores {
  const logger =
    options.logger ?? createLogger({ level: 'silent', format: 'json' }, { service: 'stores' });
  return {
    sessions: createMemorySessionStore(),
    revocations: createMemoryRevocationList(),
    rateLimiters: createMemoryRateLimiterStore(),
    cache: createMemoryCache(),
    events: createMemoryEventBus(logger),
    ready: () => true,
    close: async () => {},
  };
}
