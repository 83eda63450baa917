import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { connect, createServer } from 'node:net';

/** A free TCP port on loopback (the OS picks it; we release it for the server to take). */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === 'string') throw new Error('no free port');
  return address.port;
}

/**
 * Connects to a loopback port, optionally writes `send`, and resolves the first chunk the
 * server answers as text, or null on error, refusal or 1 s of silence. Lets the harness
 * talk to a server without its client library.
 */
export function askPort(port: number, send?: string): Promise<string | null> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    const done = (reply: string | null) => {
      socket.destroy();
      resolve(reply);
    };
    socket.setTimeout(1_000, () => done(null));
    socket.once('error', () => done(null));
    if (send !== undefined) socket.once('connect', () => socket.write(send));
    socket.once('data', (data) => done(data.toString()));
  });
}

/** Whether `binary` can be run here (found on PATH or at its absolute path). */
export function binaryAvailable(binary: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${binary}`], { stdio: 'ignore' }).status === 0;
}

/**
 * The one availability policy of every suite that needs a real server: present, it runs;
 * absent under `CI=true`, that is a failure (CI must prove it); absent on a developer's
 * machine, the suite is skipped, loudly, naming the package to install.
 * @returns whether the suite should be skipped.
 */
export function skipUnlessInstalled(binary: string, aptPackage: string): boolean {
  if (binaryAvailable(binary)) return false;
  const message = `${binary} not found: install it with \`apt-get install -y ${aptPackage}\``;
  if (process.env['CI'] === 'true') throw new Error(`${message} (required under CI=true)`);
  console.warn(`\n!!! SKIPPING tests that need a real ${binary}: ${message}\n`);
  return true;
}

const running = new Set<ChildProcess>();
// A test run that crashes or is interrupted must not leave servers behind.
process.once('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

/** A server process started by a test, stopped by PID. */
export class ServerProcess {
  readonly #child: ChildProcess;
  readonly exited: Promise<void>;
  output = '';

  constructor(binary: string, args: string[], name: string) {
    this.#child = spawn(binary, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    running.add(this.#child);
    const collect = (chunk: Buffer) => {
      // Keep the tail only: enough to explain a failure to start.
      this.output = (this.output + chunk.toString('utf8')).slice(-8_000);
    };
    this.#child.stdout?.on('data', collect);
    this.#child.stderr?.on('data', collect);
    this.exited = new Promise((resolve) => {
      this.#child.once('exit', () => {
        running.delete(this.#child);
        resolve();
      });
      this.#child.once('error', (error) => {
        this.output += `\n${name} failed to start: ${error.message}`;
        running.delete(this.#child);
        resolve();
      });
    });
  }

  get pid(): number | undefined {
    return this.#child.pid;
  }

  get alive(): boolean {
    return this.#child.exitCode === null && this.#child.signalCode === null;
  }

  /** SIGTERM, then SIGKILL after `graceMs`. */
  async stop(graceMs = 10_000): Promise<void> {
    if (!this.alive) return;
    this.#child.kill('SIGTERM');
    const timer = setTimeout(() => this.#child.kill('SIGKILL'), graceMs);
    await this.exited;
    clearTimeout(timer);
  }
}

/** Polls `probe` until it resolves true; fails with `describe()` after `timeoutMs`. */
export async function waitUntil(
  probe: () => Promise<boolean>,
  options: { timeoutMs: number; what: string; alive: () => boolean; output: () => string },
): Promise<void> {
  const deadline = Date.now() + options.timeoutMs;
  for (;;) {
    if (await probe().catch(() => false)) return;
    if (!options.alive() || Date.now() > deadline) {
      throw new Error(
        `${options.what} ${options.alive() ? 'did not become ready in time' : 'exited'}; output:\n${options.output()}`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
