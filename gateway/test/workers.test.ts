import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';

const fixture = path.join(
  path.dirname(fileURLToPath(import.meta.url)),
  'support/workers-fixture.ts',
);

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

async function pids(port: number, requests: number): Promise<Set<string>> {
  const seen = new Set<string>();
  for (let i = 0; i < requests; i++) {
    seen.add(await (await fetch(`http://127.0.0.1:${port}/`)).text());
  }
  return seen;
}

it('runs gateway.workers processes on one port, replaces a dead one, stops on SIGTERM', async () => {
  const port = await freePort();
  const primary = spawn(process.execPath, ['--import', 'tsx', fixture, '2'], {
    env: { ...process.env, FIXTURE_PORT: String(port) },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const exited = new Promise<number | null>((resolve) => primary.once('exit', resolve));
  try {
    // Both workers report their port; then requests spread over two processes.
    let ready = 0;
    await new Promise<void>((resolve) =>
      primary.on('message', () => {
        if (++ready === 2) resolve();
      }),
    );
    const before = await pids(port, 40);
    expect(before.size).toBe(2);
    expect(before.has(String(primary.pid))).toBe(false);

    const [victim] = [...before];
    process.kill(Number(victim), 'SIGKILL');
    await new Promise<void>((resolve) => primary.on('message', () => resolve()));
    const after = await pids(port, 40);
    expect(after.size).toBe(2);
    expect(after.has(victim!)).toBe(false);

    primary.kill('SIGTERM');
    expect(await exited).toBe(0);
  } finally {
    if (primary.exitCode === null) primary.kill('SIGKILL');
  }
}, 30_000);
