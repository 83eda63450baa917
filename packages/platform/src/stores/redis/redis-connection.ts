import { Cluster, Redis } from 'ioredis';
import { ErrorCode, foundationError } from '../../errors.js';
import type { Logger } from '../../logger.js';

/** A client for one of the three Redis topologies; both speak the same commands. */
export type RedisClient = Redis | Cluster;

/** `host:port` of a Redis node or Sentinel. */
export interface RedisNode {
  host: string;
  port: number;
}

/** How to reach Redis: one server, a Sentinel-watched primary, or a Cluster. */
export type RedisTopology =
  | {
      mode: 'standalone';
      /** `redis://[:password@]host:port[/db]` or `rediss://` (TLS). May carry a secret. */
      url: string;
    }
  | {
      mode: 'sentinel';
      sentinels: RedisNode[];
      /** The primary's name as the Sentinels know it (`sentinel monitor <name> …`). */
      masterName: string;
    }
  | {
      mode: 'cluster';
      /** Some of the cluster's nodes; the client discovers the rest. */
      nodes: RedisNode[];
    };

/** Connection settings of every Redis client a process opens. */
export interface RedisConnectionOptions {
  topology: RedisTopology;
  /** Password of the Redis servers (and Sentinels), unless the URL carries one. */
  password?: string;
  /** Bound on one command's round trip, in ms; a slower one fails with SERVICE_UNAVAILABLE. */
  commandTimeoutMs: number;
  /** Bound on opening the first connection at start, in ms. */
  connectTimeoutMs: number;
  /** Told when the connection is lost and when it is back (never the URL or password). */
  logger?: Logger;
}

/**
 * The client settings that make a Redis outage fail fast rather than hang: commands are
 * not queued while disconnected (`enableOfflineQueue: false`, so they fail at once), a
 * command in flight fails after `commandTimeoutMs`, and a command is never retried on a
 * new connection (`maxRetriesPerRequest: 0`: the caller decides). Reconnection itself
 * goes on forever in the background, 50 ms, 100 ms, … up to every 2 s.
 */
function clientOptions(options: RedisConnectionOptions) {
  return {
    lazyConnect: true,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    commandTimeout: options.commandTimeoutMs,
    connectTimeout: options.connectTimeoutMs,
    retryStrategy: (times: number) => Math.min(times * 50, 2_000),
    // Several store calls of one request (session + revocation) share one round trip.
    enableAutoPipelining: true,
    ...(options.password ? { password: options.password } : {}),
  };
}

/**
 * Opens a client and waits until it is ready, up to `connectTimeoutMs`.
 * @param subscriber a connection for SUBSCRIBE: it keeps an offline queue so that its
 *   subscriptions are replayed after a reconnect.
 * @throws Error naming the topology (never the URL, which may hold a password) when Redis
 *   cannot be reached in time.
 */
export async function connectRedis(
  options: RedisConnectionOptions,
  subscriber = false,
): Promise<RedisClient> {
  const base = { ...clientOptions(options), enableOfflineQueue: subscriber };
  const { topology } = options;
  let client: RedisClient;
  switch (topology.mode) {
    case 'standalone':
      client = new Redis(topology.url, base);
      break;
    case 'sentinel':
      client = new Redis({
        ...base,
        sentinels: topology.sentinels,
        name: topology.masterName,
        ...(options.password ? { sentinelPassword: options.password } : {}),
      });
      break;
    case 'cluster':
      client = new Cluster(topology.nodes, {
        lazyConnect: true,
        enableOfflineQueue: subscriber,
        enableAutoPipelining: true,
        // Events use sharded pub/sub on a Cluster (see createRedisEventBus).
        shardedSubscribers: subscriber,
        clusterRetryStrategy: (times) => Math.min(times * 50, 2_000),
        redisOptions: base,
      });
      break;
  }
  // Errors reach callers through failing commands; an unhandled 'error' event would crash
  // the process. Log the first of each outage, and its end, not every reconnect attempt.
  const { logger } = options;
  const name = describeTopology(topology);
  let down = false;
  client.on('error', (error: unknown) => {
    if (down) return;
    down = true;
    logger?.warn({ redis: name, error: safeMessage(error) }, 'redis connection lost; reconnecting');
  });
  client.on('ready', () => {
    if (!down) return;
    down = false;
    logger?.info({ redis: name }, 'redis connection restored');
  });
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      client.connect(),
      new Promise((_resolve, reject) => {
        timer = setTimeout(() => reject(new Error('timed out')), options.connectTimeoutMs);
      }),
    ]);
  } catch (error) {
    client.disconnect();
    // No `cause`: the client's own error may quote the URL, password included.
    // eslint-disable-next-line preserve-caught-error
    throw new Error(
      `Could not connect to Redis (${describeTopology(topology)}) within ${options.connectTimeoutMs} ms: ${safeMessage(error)}`,
    );
  } finally {
    clearTimeout(timer);
  }
  return client;
}

/** Where a topology points, without credentials, for logs and errors. */
export function describeTopology(topology: RedisTopology): string {
  switch (topology.mode) {
    case 'standalone': {
      try {
        const url = new URL(topology.url);
        return `standalone ${url.hostname}:${url.port || '6379'}`;
      } catch {
        return 'standalone (unparseable URL)';
      }
    }
    case 'sentinel':
      return `sentinel "${topology.masterName}" via ${topology.sentinels.map((n) => `${n.host}:${n.port}`).join(',')}`;
    case 'cluster':
      return `cluster ${topology.nodes.map((n) => `${n.host}:${n.port}`).join(',')}`;
  }
}

/** An error's message with anything that looks like a URL's credentials removed. */
function safeMessage(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return message.replace(/\/\/[^@/\s]*@/g, '//[redacted]@');
}

/**
 * The error every Redis store throws when Redis cannot answer (down, restarting, too
 * slow): SERVICE_UNAVAILABLE, HTTP 503, so callers fail closed with a clear message.
 */
export function storeUnavailable(what: string) {
  return foundationError(
    ErrorCode.SERVICE_UNAVAILABLE,
    `The ${what} is unavailable; try again shortly`,
    { http: { status: 503 } },
  );
}

/** Runs a Redis call, turning any failure into {@link storeUnavailable}. */
export async function guarded<T>(what: string, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch {
    throw storeUnavailable(what);
  }
}
