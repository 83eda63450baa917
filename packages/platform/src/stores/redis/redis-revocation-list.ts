import type { RevocationList } from '../revocation-list.js';
import { guarded, type RedisClient } from './redis-connection.js';

export interface RedisRevocationListOptions {
  client: RedisClient;
  /** Prepended to every key, e.g. `foundation:`. */
  keyPrefix: string;
}

const what = 'revocation list';

/**
 * Revoked token ids in Redis, one key each, expiring when the token would have expired
 * anyway (PXAT its `exp`), so the list holds only tokens still alive.
 */
export function createRedisRevocationList(options: RedisRevocationListOptions): RevocationList {
  const { client, keyPrefix } = options;
  const keyOf = (tokenId: string) => `${keyPrefix}revoked:${tokenId}`;
  return {
    async revoke(tokenId, until) {
      const at = until.getTime();
      if (at <= Date.now()) return;
      await guarded(what, () => client.set(keyOf(tokenId), '1', 'PXAT', at));
    },
    async isRevoked(tokenId) {
      return (await guarded(what, () => client.exists(keyOf(tokenId)))) === 1;
    },
  };
}
