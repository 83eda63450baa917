import { execFile } from 'node:child_process';
import { connect } from 'node:net';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { skipUnlessInstalled, startMariaDb, startRedis } from '../src/index.js';

const run = promisify(execFile);

/** One raw RESP command, answered by the first reply line. */
function redisCommand(port: number, command: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => socket.write(`${command}\r\n`));
    socket.once('data', (data) => {
      socket.destroy();
      resolve(data.toString().split('\r\n')[0] ?? '');
    });
    socket.once('error', reject);
  });
}

const alive = (pid: number | undefined) => {
  try {
    process.kill(pid!, 0);
    return true;
  } catch {
    return false;
  }
};

describe.skipIf(skipUnlessInstalled('redis-server', 'redis-server'))('startRedis', () => {
  it('runs a private server, keeps data across a restart with persistence, stops by PID', async () => {
    const redis = await startRedis({ persistence: true });
    try {
      expect(redis.url).toBe(`redis://127.0.0.1:${redis.port}`);
      expect(await redisCommand(redis.port, 'SET k v')).toBe('+OK');
      const before = redis.pid;
      await redis.restart();
      expect(redis.pid).not.toBe(before);
      expect(alive(before)).toBe(false);
      expect(await redisCommand(redis.port, 'EXISTS k')).toBe(':1');
    } finally {
      await redis.dispose();
    }
    expect(alive(redis.pid)).toBe(false);
  });
});

describe.skipIf(skipUnlessInstalled('mariadbd', 'mariadb-server'))('startMariaDb', () => {
  it('runs a private server with an empty database reachable over loopback TCP', async () => {
    const db = await startMariaDb('contract');
    try {
      expect(db.url).toBe(`mysql://root@127.0.0.1:${db.port}/contract`);
      const query = (sql: string) =>
        run('mariadb', ['--no-defaults', '-h127.0.0.1', `-P${db.port}`, '-uroot', '-N', '-e', sql]);
      expect((await query('SHOW TABLES FROM contract')).stdout).toBe('');
      await query(
        'CREATE TABLE contract.t (id INT PRIMARY KEY); INSERT INTO contract.t VALUES (7)',
      );
      await db.restart();
      expect((await query('SELECT id FROM contract.t')).stdout.trim()).toBe('7');
      expect(await db.createDatabase('second')).toBe(`mysql://root@127.0.0.1:${db.port}/second`);
    } finally {
      await db.dispose();
    }
    expect(alive(db.pid)).toBe(false);
  });
});
