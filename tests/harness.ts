/**
 * Starts Foundation as real processes for end-to-end tests: free loopback ports, a
 * temporary database, JSON logs captured per process, stopped by PID.
 *
 * Two modes, chosen by FOUNDATION_E2E_MODE (the `e2e` and `e2e-distributed` vitest
 * projects set it): `embedded` runs the launcher (every service in one process, memory
 * stores, a temporary SQLite file); `distributed` runs one process per service sharing a
 * real redis-server (stores and events) and a real mariadbd, as production does.
 * FOUNDATION_E2E_DATABASE_URL names another database instead of either.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { repoRoot } from '@foundation/platform';
import {
  freePort,
  skipUnlessInstalled,
  startMariaDb,
  startRedis,
  type MariaDbServer,
  type RedisServer,
} from '@foundation/test-servers';

/** How the system under test runs. */
export type E2eMode = 'embedded' | 'distributed';

/** The mode of this test run, from FOUNDATION_E2E_MODE (default embedded). */
export const e2eMode: E2eMode =
  process.env['FOUNDATION_E2E_MODE'] === 'distributed' ? 'distributed' : 'embedded';

export { freePort };

/** One parsed JSON log line. */
export type LogLine = Record<string, unknown> & { msg?: string; service?: string; reqId?: string };

/** A running service process and everything it has printed. */
export class ServiceProcess {
  readonly lines: LogLine[] = [];
  /** Raw output, to check that no secret is ever printed. */
  output = '';
  readonly #child: ChildProcess;
  readonly exited: Promise<number | null>;

  constructor(entry: string, env: Record<string, string>) {
    // Vitest sets NODE_ENV=test, which makes libraries behave unlike production (Apollo
    // skips its signal handlers then); services here get only what the deployment sets.
    const {
      NODE_ENV: _vitest,
      // The harness's own switches, not settings: the config loader refuses unknown FOUNDATION_*.
      FOUNDATION_E2E_MODE: _mode,
      FOUNDATION_E2E_DATABASE_URL: _database,
      ...inherited
    } = process.env;
    this.#child = spawn(process.execPath, ['--import', 'tsx', entry], {
      cwd: repoRoot,
      env: { ...inherited, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.exited = new Promise((resolve) => this.#child.once('exit', (code) => resolve(code)));
    let pending = '';
    const collect = (chunk: Buffer) => {
      const text = chunk.toString('utf8');
      this.output += text;
      pending += text;
      const parts = pending.split('\n');
      pending = parts.pop() ?? '';
      for (const part of parts) {
        try {
          this.lines.push(JSON.parse(part) as LogLine);
        } catch {
          this.lines.push({ msg: part });
        }
      }
    };
    this.#child.stdout?.on('data', collect);
    this.#child.stderr?.on('data', collect);
  }

  get pid(): number | undefined {
    return this.#child.pid;
  }

  /** Resolves when a log line's message starts with `prefix`; fails on exit or timeout. */
  async waitFor(prefix: string, timeoutMs = 60_000): Promise<LogLine> {
    const deadline = Date.now() + timeoutMs;
    let exited = false;
    void this.exited.then(() => (exited = true));
    for (;;) {
      const line = this.lines.find((l) => typeof l.msg === 'string' && l.msg.startsWith(prefix));
      if (line) return line;
      if (exited || Date.now() > deadline) {
        throw new Error(
          `${exited ? 'process exited' : 'timed out'} before "${prefix}"; output:\n${this.output.slice(-4000)}`,
        );
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  /**
   * Sends `signal` (`times` times at once, as a terminal's Ctrl-C can arrive), then SIGKILL
   * if the process has not exited within `graceMs`. Returns the exit code.
   */
  async stop(
    graceMs = 15_000,
    signal: NodeJS.Signals = 'SIGTERM',
    times = 1,
  ): Promise<number | null> {
    if (this.#child.exitCode !== null || this.#child.signalCode !== null) {
      return this.#child.exitCode;
    }
    for (let i = 0; i < times; i++) this.#child.kill(signal);
    const timer = setTimeout(() => this.#child.kill('SIGKILL'), graceMs);
    const code = await this.exited;
    clearTimeout(timer);
    return code;
  }
}

/** Ports, URLs and environment of one Foundation deployment under test. */
export interface Deployment {
  dir: string;
  /** The router's public listener (access tokens, anonymous). */
  routerUrl: string;
  /** The router's service listener (API keys). */
  serviceUrl: string;
  subgraphUrls: { user: string; auth: string; search: string };
  env: Record<string, string>;
  mode: E2eMode;
  /** The shared Redis, in distributed mode. */
  redis?: RedisServer;
  /** The shared MariaDB, in distributed mode (unless FOUNDATION_E2E_DATABASE_URL names one). */
  mariadb?: MariaDbServer;
  /** Stops the servers and removes the temporary files. */
  cleanup(): Promise<void>;
}

/**
 * Picks free ports and a database for a deployment; in distributed mode also starts a
 * redis-server (with persistence, as production would run it) and a mariadbd, and points
 * the stores and the database at them, as a production deployment is laid out.
 */
export async function planDeployment(
  extraEnv: Record<string, string> = {},
  mode: E2eMode = e2eMode,
): Promise<Deployment> {
  let redis: RedisServer | undefined;
  let mariadb: MariaDbServer | undefined;
  const backend: Record<string, string> = {};
  if (mode === 'distributed') {
    if (skipUnlessInstalled('redis-server', 'redis-server')) {
      throw new Error('distributed mode needs redis-server: apt-get install -y redis-server');
    }
    redis = await startRedis({ persistence: true });
    backend['FOUNDATION_STORES__BACKEND'] = 'redis';
    backend['REDIS_URL'] = redis.url;
    if (!process.env['FOUNDATION_E2E_DATABASE_URL']) {
      if (skipUnlessInstalled('mariadbd', 'mariadb-server')) {
        await redis.dispose();
        throw new Error('distributed mode needs mariadbd: apt-get install -y mariadb-server');
      }
      try {
        mariadb = await startMariaDb();
      } catch (err) {
        await redis.dispose();
        throw err;
      }
      backend['DATABASE_URL'] = mariadb.url;
    }
  }
  const dir = mkdtempSync(path.join(tmpdir(), 'foundation-e2e-'));
  const [gateway, service, user, auth, search] = await Promise.all([
    freePort(),
    freePort(),
    freePort(),
    freePort(),
    freePort(),
  ]);
  const subgraphUrls = {
    user: `http://127.0.0.1:${user}/graphql`,
    auth: `http://127.0.0.1:${auth}/graphql`,
    search: `http://127.0.0.1:${search}/graphql`,
  };
  const env: Record<string, string> = {
    APP_ENV: 'test',
    LOG_LEVEL: 'debug',
    LOG_FORMAT: 'json',
    DATABASE_URL:
      process.env['FOUNDATION_E2E_DATABASE_URL'] || `file:${path.join(dir, 'foundation.db')}`,
    ...backend,
    FOUNDATION_GATEWAY__PORT: String(gateway),
    FOUNDATION_GATEWAY__SERVICE_PORT: String(service),
    FOUNDATION_SUBGRAPHS__USER__PORT: String(user),
    FOUNDATION_SUBGRAPHS__USER__URL: subgraphUrls.user,
    FOUNDATION_SUBGRAPHS__AUTH__PORT: String(auth),
    FOUNDATION_SUBGRAPHS__AUTH__URL: subgraphUrls.auth,
    FOUNDATION_SUBGRAPHS__SEARCH__PORT: String(search),
    FOUNDATION_SUBGRAPHS__SEARCH__URL: subgraphUrls.search,
    ...extraEnv,
  };
  return {
    dir,
    routerUrl: `http://127.0.0.1:${gateway}/graphql`,
    serviceUrl: `http://127.0.0.1:${service}/graphql`,
    subgraphUrls,
    env,
    mode,
    ...(redis ? { redis } : {}),
    ...(mariadb ? { mariadb } : {}),
    async cleanup() {
      await Promise.all([redis?.dispose(), mariadb?.dispose()]);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** The services of a deployment that run as their own processes in distributed mode. */
export type ServiceName = 'gateway' | 'user' | 'auth' | 'search';

/**
 * Foundation as the tests see it, whatever the mode: one launcher process, or one process
 * per service. Log lines and output are those of every process together.
 */
export class System {
  constructor(readonly processes: Partial<Record<ServiceName | 'launcher', ServiceProcess>>) {}

  get lines(): LogLine[] {
    return Object.values(this.processes).flatMap((p) => p.lines);
  }

  get output(): string {
    return Object.values(this.processes)
      .map((p) => p.output)
      .join('\n');
  }

  /** Stops every process (see {@link ServiceProcess.stop}); the first non-zero exit code, or 0. */
  async stop(
    graceMs = 15_000,
    signal: NodeJS.Signals = 'SIGTERM',
    times = 1,
  ): Promise<number | null> {
    // The router first, as in production: no new work reaches the subgraphs.
    const { gateway, ...rest } = this.processes;
    const codes = [await gateway?.stop(graceMs, signal, times)];
    codes.push(
      ...(await Promise.all(Object.values(rest).map((p) => p.stop(graceMs, signal, times)))),
    );
    return codes.find((code) => code !== 0 && code !== undefined) ?? 0;
  }
}

/** Starts one service of a distributed deployment and waits until it is ready. */
export async function startService(
  deployment: Deployment,
  name: ServiceName,
): Promise<ServiceProcess> {
  const service = new ServiceProcess(entries[name], deployment.env);
  await service.waitFor(name === 'gateway' ? 'router ready' : `${name} subgraph ready`);
  return service;
}

/** Starts the deployment in its mode and waits until every service is ready. */
export async function startSystem(deployment: Deployment): Promise<System> {
  if (deployment.mode === 'embedded') {
    const launcher = new ServiceProcess(entries.launcher, deployment.env);
    await launcher.waitFor('Foundation is ready');
    return new System({ launcher });
  }
  // auth first: it creates and migrates the database and seeds the demo users.
  const auth = await startService(deployment, 'auth');
  const started = await Promise.allSettled(
    (['user', 'search', 'gateway'] as const).map((name) => startService(deployment, name)),
  );
  const failed = started.find((r) => r.status === 'rejected');
  if (failed) {
    // Leave nothing running behind a failed start.
    await auth.stop();
    for (const r of started) if (r.status === 'fulfilled') await r.value.stop();
    throw failed.reason;
  }
  const [user, search, gateway] = started.map(
    (r) => (r as PromiseFulfilledResult<ServiceProcess>).value,
  );
  return new System({ auth, user: user!, search: search!, gateway: gateway! });
}

/** Entry files of the services, as `pnpm start` and each service's `start` run them. */
export const entries = {
  launcher: 'packages/launcher/src/main.ts',
  gateway: 'gateway/src/main.ts',
  user: 'subgraphs/user/src/main.ts',
  auth: 'subgraphs/auth/src/main.ts',
  search: 'subgraphs/search/src/main.ts',
} as const;

/** A GraphQL response as the router sends it. */
export interface GraphQLResponse<T = Record<string, unknown>> {
  status: number;
  headers: Headers;
  data?: T | null;
  errors?: { message: string; path?: (string | number)[]; extensions?: Record<string, unknown> }[];
}

/** POSTs a GraphQL operation, returning status, headers and the parsed body. */
export async function graphql<T = Record<string, unknown>>(
  url: string,
  query: string,
  options: {
    variables?: Record<string, unknown>;
    token?: string;
    headers?: Record<string, string>;
  } = {},
): Promise<GraphQLResponse<T>> {
  const response = await fetch(url, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      ...(options.token ? { authorization: `Bearer ${options.token}` } : {}),
      ...options.headers,
    },
    body: JSON.stringify({ query, variables: options.variables }),
    signal: AbortSignal.timeout(20_000),
  });
  const body = (await response.json()) as Omit<GraphQLResponse<T>, 'status' | 'headers'>;
  return { status: response.status, headers: response.headers, ...body };
}
