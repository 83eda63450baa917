import type { Config } from '../config.js';
import type { Logger } from '../logger.js';
import { createMemoryStores, type Stores } from './index.js';
import { createRedisStores, describeTopology, type RedisTopology } from './redis/index.js';

/** The Redis topology the config describes. */
export function redisTopologyFromConfig(config: Pick<Config, 'redis' | 'secrets'>): RedisTopology {
  const { redis } = config;
  switch (redis.mode) {
    case 'standalone':
      return { mode: 'standalone', url: config.secrets.redisUrl };
    case 'sentinel':
      return { mode: 'sentinel', sentinels: redis.sentinels, masterName: redis.sentinelMasterName };
    case 'cluster':
      return { mode: 'cluster', nodes: redis.clusterNodes };
  }
}

/**
 * The stores and event bus of one process, from `stores.backend`: in process (`memory`)
 * or on Redis (`redis`), where every process of a deployment shares them.
 */
export async function createStoresFromConfig(
  config: Pick<Config, 'stores' | 'redis' | 'secrets'>,
  logger: Logger,
): Promise<Stores> {
  if (config.stores.backend === 'memory') return createMemoryStores({ logger });
  const topology = redisTopologyFromConfig(config);
  const stores = await createRedisStores({
    topology,
    ...(config.secrets.redisPassword ? { password: config.secrets.redisPassword } : {}),
    commandTimeoutMs: config.redis.commandTimeoutMs,
    connectTimeoutMs: config.redis.connectTimeoutMs,
    keyPrefix: config.redis.keyPrefix,
    logger,
  });
  logger.info({ redis: describeTopology(topology) }, 'stores and events on redis');
  return stores;
}
