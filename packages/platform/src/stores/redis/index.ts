import type { Logger } from '../../logger.js';
import type { Stores } from '../index.js';
import { createRedisCache } from './redis-cache.js';
import { connectRedis, type RedisClient, type RedisConnectionOptions } from './redis-connection.js';
import { createRedisEventBus } from './redis-event-bus.js';
import { createRedisRateLimiterStore } from './redis-rate-limiter-store.js';
import { createRedisRevocationList } from './redis-revocation-list.js';
import { createRedisSessionStore } from './redis-session-store.js';

export * from './redis-cache.js';
export * from './redis-connection.js';
export * from './redis-event-bus.js';
export * from './redis-rate-limiter-store.js';
export * from './redis-revocation-list.js';
export * from './redis-session-store.js';

export interface RedisStoresOptions extends RedisConnectionOptions {
  /** Prepended to every key and channel, so deployments can share one Redis. */
  keyPrefix: string;
  /** Logs event handler failures and connection loss. */
  logger: Logger;
}

/**
 * Every store, and the event bus, on Redis (distributed mode): two connections, one for
 * commands and one subscribed to the event channel. Resolves once both are ready.
 * @throws Error (without the URL or password) when Redis is not reachable within
 *   `connectTimeoutMs`.
 */
export async function createRedisStores(options: RedisStoresOptions): Promise<Stores> {
  const { keyPrefix, logger } = options;
  const client = await connectRedis(options);
  let subscriber: RedisClient | undefined;
  try {
    subscriber = await connectRedis(options, true);
    const events = await createRedisEventBus({ client, subscriber, keyPrefix, logger });
    const subscribed = subscriber;
    return {
      sessions: createRedisSessionStore({ client, keyPrefix }),
      revocations: createRedisRevocationList({ client, keyPrefix }),
      rateLimiters: createRedisRateLimiterStore({ client, keyPrefix }),
      cache: createRedisCache({ client, keyPrefix }),
      events,
      // Both connections up: commands work and events arrive.
      ready: () => client.status === 'ready' && subscribed.status === 'ready',
      async close() {
        await events.close();
        // QUIT lets replies in flight arrive; a dead connection is simply dropped.
        await Promise.all([client, subscribed].map((c) => c.quit().catch(() => c.disconnect())));
      },
    };
  } catch (error) {
    client.disconnect();
    subscriber?.disconnect();
    throw error;
  }
}
