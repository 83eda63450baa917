/**
 * Connection pools for MySQL/MariaDB (the `mariadb` driver), built from a database URL and
 * the pool settings in config. The URL's password never leaves this module in a message:
 * servers are named by {@link describeServer} (user, host, port, database; no password).
 */
import { createPool, type ConnectionConfig, type Pool, type PoolConfig } from 'mariadb';

/** Pool sizes and timeouts (config `database.pool`). */
export interface PoolOptions {
  /** Most connections one pool opens (per process, per server). */
  connectionLimit: number;
  /** Idle connections kept open and ready; the pool grows past it under load. */
  minimumIdle: number;
  /** Longest a query waits for a connection (a free one, or a new one), in ms. */
  acquireTimeoutMs: number;
  /** Longest opening one connection (TCP and handshake) may take, in ms. */
  connectTimeoutMs: number;
  /** A connection beyond `minimumIdle` is closed after this long unused, in seconds. */
  idleTimeoutSeconds: number;
}

/** Defaults when no config is given (tests, scripts): the values of config/config.yaml. */
export const defaultPoolOptions: PoolOptions = {
  connectionLimit: 10,
  minimumIdle: 2,
  acquireTimeoutMs: 5_000,
  connectTimeoutMs: 2_000,
  idleTimeoutSeconds: 600,
};

/** What a MySQL URL says, parsed once; `password` stays inside this module's callers. */
interface ServerAddress {
  host: string;
  port: number;
  user: string;
  password: string;
  database: string;
  /** TLS to the server: off, or on with the server's certificate verified. */
  ssl: boolean;
}

/** Query parameters a database URL may carry; others are refused rather than ignored. */
const sslValues: Record<string, boolean> = { true: true, false: false, strict: true };

function parseMysqlUrl(url: string): ServerAddress {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    // Never echo the URL: it may hold a password.
    throw new Error(
      'DATABASE_URL is not a valid URL; expected mysql://user:password@host:port/database',
    );
  }
  const database = decodeURIComponent(parsed.pathname.replace(/^\//, ''));
  if (database === '' || database.includes('/')) {
    throw new Error(
      'DATABASE_URL must name one database, as in mysql://user:password@host:3306/foundation',
    );
  }
  let ssl = false;
  for (const [name, value] of parsed.searchParams) {
    const known = name === 'ssl' || name === 'sslaccept' ? sslValues[value] : undefined;
    if (known === undefined) {
      // Names the parameter, not its value, which could be anything.
      throw new Error(
        `DATABASE_URL parameter "${name}" is not supported; the only one is ssl=true (TLS, certificate verified by the system CAs). Pool sizes and timeouts are set in database.pool.`,
      );
    }
    ssl = known;
  }
  return {
    host: parsed.hostname.replace(/^\[(.*)\]$/, '$1'),
    port: parsed.port === '' ? 3306 : Number(parsed.port),
    user: decodeURIComponent(parsed.username),
    password: decodeURIComponent(parsed.password),
    database,
    ssl,
  };
}

/** `user@host:port/database`: how logs and errors name a server, without its password. */
export function describeServer(url: string): string {
  try {
    const { user, host, port, database } = parseMysqlUrl(url);
    return `${user === '' ? '' : `${user}@`}${host}:${port}/${database}`;
  } catch {
    return '(invalid URL)';
  }
}

/** A pool and the server it talks to, named without the password. */
export interface MysqlPool {
  pool: Pool;
  /** `user@host:port/database` */
  server: string;
  /** The database (schema) name. */
  database: string;
}

/*
 * No statement time limit from here, on purpose. mariadb 3.4.5 runs its per-connection
 * setup queries (the `queryTimeout`, `initSql` and `sessionVariables` options) in a promise
 * chain nobody awaits: a server going down while a connection opens then becomes an
 * unhandled rejection, which ends a Node process (seen in test/mysql.test.ts, where vitest
 * fails the run on it). Its `queryTimeout` also refuses MySQL servers outright. Limit
 * statements on the server instead (README: production database).
 */

/**
 * Driver settings for one connection to the server at `url` (the migrator's). Holds the
 * password: never log it.
 */
export function connectionConfigOf(url: string, options: PoolOptions): ConnectionConfig {
  const address = parseMysqlUrl(url);
  return {
    host: address.host,
    port: address.port,
    user: address.user,
    password: address.password,
    database: address.database,
    ...(address.ssl ? { ssl: { rejectUnauthorized: true } } : {}),
    connectTimeout: options.connectTimeoutMs,
  };
}

/** Creates (but does not connect) a pool for the server at `url`. */
export function createMysqlPool(url: string, options: PoolOptions): MysqlPool {
  const { database } = parseMysqlUrl(url);
  const config: PoolConfig = {
    ...connectionConfigOf(url, options),
    connectionLimit: options.connectionLimit,
    acquireTimeout: options.acquireTimeoutMs,
    idleTimeout: options.idleTimeoutSeconds,
    // While the server is unreachable the pool keeps trying to connect in the background;
    // queries fail after acquireTimeout instead of waiting, and succeed again once it is back.
    initializationTimeout: options.acquireTimeoutMs,
    // The driver opens connections only to keep this many idle, so it must be at least 1.
    minimumIdle: Math.max(1, Math.min(options.minimumIdle, options.connectionLimit)),
    // What @prisma/adapter-mariadb sets on pools it creates itself: Prisma prepares its
    // own statements, so the driver's cache would only hold memory.
    prepareCacheLength: 0,
    // A released connection is cleaned with ROLLBACK rather than COM_RESET_CONNECTION:
    // mariadb 3.4.5 passes the reset no error callback (pool.js, _getRevertFunction), so a
    // reset that fails as the server goes away never finishes the release; its ROLLBACK
    // path handles both outcomes. Prisma sets no session state that a reset would clear.
    resetAfterUse: false,
  };
  const pool = createPool(config);
  // The pool reports connections it fails to open in the background as 'error' events;
  // with no listener, EventEmitter throws them out of the driver's promise chain as an
  // unhandled rejection, which ends the process. Queries waiting meanwhile fail on their
  // own (acquireTimeoutMs), which is where the failure is reported.
  // (The driver's types do not declare this event, though its pool emits it.)
  const events = pool as unknown as NodeJS.EventEmitter;
  events.on('error', () => undefined);
  // Likewise each connection: one that loses its socket with no 'error' listener throws
  // (connection.js, fatalError). The pool's own listener is a `once`; this one stays, and
  // the pool still drops the broken connection and opens a new one.
  events.on('connection', (connection: NodeJS.EventEmitter) => {
    connection.on('error', () => undefined);
  });
  return { pool, server: describeServer(url), database };
}
