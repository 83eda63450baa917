import type { Cache } from '../cache.js';
import { guarded, type RedisClient } from './redis-connection.js';

export interface RedisCacheOptions {
  client: RedisClient;
  /** Prepended to every key, e.g. `foundation:`. */
  keyPrefix: string;
}

const what = 'cache';

/** The shared cache in Redis: every process sees (and invalidates) the same entries. */
export function createRedisCache(options: RedisCacheOptions): Cache {
  const { client, keyPrefix } = options;
  const keyOf = (key: string) => `${keyPrefix}cache:${key}`;
  return {
    async get(key) {
      const value = await guarded(what, () => client.get(keyOf(key)));
      return value ?? undefined;
    },
    async set(key, value, ttlSeconds) {
      await guarded(what, () =>
        client.set(keyOf(key), value, 'EX', Math.max(1, Math.ceil(ttlSeconds))),
      );
    },
    async delete(key) {
      await guarded(what, () => client.del(keyOf(key)));
    },
  };
}
