import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { execFile } from 'node:child_process';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { freePort, askPort, ServerProcess, waitUntil } from './server-process.js';

const run = promisify(execFile);

/** A real redis-server for one test file. */
export interface RedisServer {
  /** `redis://127.0.0.1:<port>` */
  url: string;
  port: number;
  readonly pid: number | undefined;
  /** Stops the server (SIGTERM: with persistence on, it saves first). */
  stop(): Promise<void>;
  /** Stops it and starts it again on the same port and data directory. */
  restart(): Promise<void>;
  /** Stops it and removes its directory. */
  dispose(): Promise<void>;
}

export interface RedisServerOptions {
  /** Append-only persistence, so data survives a restart. @default false */
  persistence?: boolean;
  /** More `redis-server` arguments, e.g. `['--cluster-enabled', 'yes']`. */
  args?: string[];
}

/** Sends PING and waits for PONG, without a client library. */
const ping = async (port: number) =>
  (await askPort(port, 'PING\r\n'))?.startsWith('+PONG') ?? false;

/** Starts `redis-server` on a free loopback port in a temporary directory. */
export async function startRedis(options: RedisServerOptions = {}): Promise<RedisServer> {
  const dir = mkdtempSync(path.join(tmpdir(), 'foundation-redis-'));
  const port = await freePort();
  const args = [
    '--port',
    String(port),
    '--bind',
    '127.0.0.1',
    '--dir',
    dir,
    '--save',
    '',
    '--appendonly',
    options.persistence ? 'yes' : 'no',
    '--protected-mode',
    'no',
    '--daemonize',
    'no',
    ...(options.args ?? []),
  ];
  let server: ServerProcess;
  const start = async () => {
    server = new ServerProcess('redis-server', args, 'redis-server');
    await waitUntil(() => ping(port), {
      timeoutMs: 15_000,
      what: 'redis-server',
      alive: () => server.alive,
      output: () => server.output,
    });
  };
  await start();
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    get pid() {
      return server.pid;
    },
    stop: () => server.stop(),
    async restart() {
      await server.stop();
      await start();
    },
    async dispose() {
      await server.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A real Redis Sentinel watching one primary, for tests of the Sentinel topology. */
export interface RedisSentinel {
  port: number;
  /** The primary's name as this Sentinel knows it. */
  masterName: string;
  /** Stops the Sentinel and removes its directory. */
  dispose(): Promise<void>;
}

/** Asks `port` a raw command and returns the whole first reply chunk. */
async function ask(port: number, command: string): Promise<string> {
  return (await askPort(port, `${command}\r\n`)) ?? '';
}

/**
 * Starts `redis-server --sentinel` on a free loopback port, monitoring `primary` under
 * `masterName`; resolves once the Sentinel names the primary's address.
 */
export async function startRedisSentinel(
  primary: RedisServer,
  masterName = 'foundation',
): Promise<RedisSentinel> {
  const dir = mkdtempSync(path.join(tmpdir(), 'foundation-sentinel-'));
  const port = await freePort();
  const conf = path.join(dir, 'sentinel.conf');
  // Sentinel rewrites its config file, so it gets its own, in its own directory.
  writeFileSync(
    conf,
    [
      `port ${port}`,
      'bind 127.0.0.1',
      `dir ${dir}`,
      `sentinel monitor ${masterName} 127.0.0.1 ${primary.port} 1`,
      `sentinel down-after-milliseconds ${masterName} 5000`,
      '',
    ].join('\n'),
  );
  const server = new ServerProcess('redis-server', [conf, '--sentinel'], 'redis-sentinel');
  await waitUntil(
    async () =>
      (await ask(port, `SENTINEL get-master-addr-by-name ${masterName}`)).includes(
        String(primary.port),
      ),
    {
      timeoutMs: 15_000,
      what: 'redis-sentinel',
      alive: () => server.alive,
      output: () => server.output,
    },
  );
  return {
    port,
    masterName,
    async dispose() {
      await server.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A real Redis Cluster of three primaries (no replicas), for tests of the Cluster topology. */
export interface RedisCluster {
  nodes: { host: string; port: number }[];
  /** Stops every node and removes their directories. */
  dispose(): Promise<void>;
}

/** Starts three cluster-enabled `redis-server`s and joins them with `redis-cli --cluster create`. */
export async function startRedisCluster(): Promise<RedisCluster> {
  const servers: RedisServer[] = [];
  try {
    for (let i = 0; i < 3; i++) {
      servers.push(
        await startRedis({
          args: ['--cluster-enabled', 'yes', '--cluster-config-file', `nodes-${i}.conf`],
        }),
      );
    }
    await run('redis-cli', [
      '--cluster',
      'create',
      ...servers.map((s) => `127.0.0.1:${s.port}`),
      '--cluster-replicas',
      '0',
      '--cluster-yes',
    ]);
    for (const server of servers) {
      await waitUntil(
        async () => (await ask(server.port, 'CLUSTER INFO')).includes('cluster_state:ok'),
        { timeoutMs: 15_000, what: 'redis cluster', alive: () => true, output: () => '' },
      );
    }
  } catch (error) {
    await Promise.all(servers.map((s) => s.dispose()));
    throw error;
  }
  return {
    nodes: servers.map((s) => ({ host: '127.0.0.1', port: s.port })),
    dispose: async () => {
      await Promise.all(servers.map((s) => s.dispose()));
    },
  };
}
