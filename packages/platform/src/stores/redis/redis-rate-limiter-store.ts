import { RateLimiterRedis } from 'rate-limiter-flexible';
import {
  rateLimiterFromFlexible,
  type RateLimiter,
  type RateLimiterStore,
} from '../rate-limiter.js';
import { guarded, type RedisClient } from './redis-connection.js';

export interface RedisRateLimiterStoreOptions {
  client: RedisClient;
  /** Prepended to every key, e.g. `foundation:`. */
  keyPrefix: string;
}

const what = 'rate limiter';

/**
 * Rate limits in Redis, counted atomically across every process: rate-limiter-flexible's
 * Redis limiter counts with one Lua script (SET NX EX + INCRBY + PTTL) per attempt.
 * A Redis failure rejects with SERVICE_UNAVAILABLE: a login is refused rather than let
 * through uncounted.
 */
export function createRedisRateLimiterStore(
  options: RedisRateLimiterStoreOptions,
): RateLimiterStore {
  const { client, keyPrefix } = options;
  return {
    limiter(rule): RateLimiter {
      const inner = rateLimiterFromFlexible(
        rule,
        new RateLimiterRedis({
          storeClient: client,
          keyPrefix: `${keyPrefix}rate:${rule.name}`,
          points: rule.limit,
          duration: rule.windowSeconds,
          // Fail at once while disconnected instead of waiting for the connection.
          rejectIfRedisNotReady: true,
        }),
      );
      return {
        rule,
        consume: (key) => guarded(what, () => inner.consume(key)),
        reset: (key) => guarded(what, () => inner.reset(key)),
      };
    },
  };
}
