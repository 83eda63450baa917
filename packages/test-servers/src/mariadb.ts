import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { freePort, askPort, ServerProcess, waitUntil } from './server-process.js';

const run = promisify(execFile);

/** A real MariaDB server for one test file, with one empty database. */
export interface MariaDbServer {
  /** `mysql://root@127.0.0.1:<port>/<database>` — root without a password, loopback only. */
  url: string;
  port: number;
  readonly pid: number | undefined;
  /** A URL for another, new and empty database on the same server. */
  createDatabase(name: string): Promise<string>;
  stop(): Promise<void>;
  /** Stops it and starts it again on the same port and data directory. */
  restart(): Promise<void>;
  /** Starts it again after `stop()`. */
  start(): Promise<void>;
  /** Stops it and removes its directory. */
  dispose(): Promise<void>;
}

/** Resolves true once the server sends its handshake on the port. */
const handshake = async (port: number) => (await askPort(port)) !== null;

/**
 * Initialises a data directory with `mariadb-install-db` and runs `mariadbd` on a free
 * loopback port as the current user. Root may connect over TCP from loopback without a
 * password: the server is private to the test and gone when it ends.
 */
export async function startMariaDb(database = 'foundation'): Promise<MariaDbServer> {
  const dir = mkdtempSync(path.join(tmpdir(), 'foundation-mariadb-'));
  const dataDir = path.join(dir, 'data');
  const socket = path.join(dir, 'mysqld.sock');
  await run('mariadb-install-db', [
    `--datadir=${dataDir}`,
    '--auth-root-authentication-method=normal',
    '--skip-test-db',
    '--user=root',
    // Its own temporary directory: bootstraps running at once in the shared /tmp collided
    // on temporary table names ("Unknown table 'mysql.tmp_user_sys'").
    `--tmpdir=${dir}`,
  ]);
  const port = await freePort();
  const args = [
    '--no-defaults',
    `--datadir=${dataDir}`,
    `--socket=${socket}`,
    `--pid-file=${path.join(dir, 'mysqld.pid')}`,
    `--port=${port}`,
    '--bind-address=127.0.0.1',
    '--user=root',
    '--skip-name-resolve',
    '--innodb-buffer-pool-size=64M',
    '--innodb-log-file-size=16M',
    '--skip-log-bin',
    `--tmpdir=${dir}`,
  ];
  let server: ServerProcess;
  const start = async () => {
    server = new ServerProcess('mariadbd', args, 'mariadbd');
    await waitUntil(() => handshake(port), {
      timeoutMs: 60_000,
      what: 'mariadbd',
      alive: () => server.alive,
      output: () => server.output,
    });
  };
  const sql = (statement: string) =>
    run('mariadb', ['--no-defaults', '-uroot', `--socket=${socket}`, '-e', statement]);
  await start();
  // Loopback TCP connections authenticate as root@127.0.0.1 / root@localhost.
  await sql(
    "CREATE USER IF NOT EXISTS 'root'@'127.0.0.1'; GRANT ALL ON *.* TO 'root'@'127.0.0.1' WITH GRANT OPTION;",
  );
  const createDatabase = async (name: string) => {
    if (!/^\w+$/.test(name)) throw new Error(`bad database name: ${name}`);
    await sql(`CREATE DATABASE \`${name}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci`);
    return `mysql://root@127.0.0.1:${port}/${name}`;
  };
  const url = await createDatabase(database);
  return {
    url,
    port,
    get pid() {
      return server.pid;
    },
    createDatabase,
    stop: () => server.stop(),
    start,
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
