// Makes a fresh checkout runnable, then gets out of the way: checks Node, installs pnpm 10
// when missing, installs dependencies when the lockfile changed, generates the Prisma
// client when absent. Runs before `start` and `test`; does nothing when all is in place.
// Plain JavaScript with no dependencies, because it runs before any are installed.
import { execSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const say = (message) => console.error(`foundation: ${message}`);
const run = (command) => execSync(command, { cwd: root, stdio: 'inherit' });

const [major, minor] = process.versions.node.split('.').map(Number);
if (major < 20 || (major === 20 && minor < 19)) {
  say(
    `Node ${process.versions.node} is too old: install Node 20.19 or newer (22 or 24 LTS recommended).`,
  );
  process.exit(1);
}

let pnpmVersion = '';
try {
  pnpmVersion = execSync('pnpm --version', {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'ignore'],
  }).trim();
} catch {
  // not installed
}
if (!pnpmVersion.startsWith('10.')) {
  say(`installing pnpm 10 (found: ${pnpmVersion || 'none'}) with npm install -g pnpm@10 ...`);
  try {
    run('npm install -g pnpm@10');
  } catch {
    say(
      'could not install pnpm globally; run `npm install -g pnpm@10` yourself (with sudo if needed), then retry.',
    );
    process.exit(1);
  }
}

const mtime = (file) => (existsSync(file) ? statSync(file).mtimeMs : 0);
const installed = path.join(root, 'node_modules', '.modules.yaml');
if (mtime(installed) < mtime(path.join(root, 'pnpm-lock.yaml'))) {
  say('installing dependencies (the first time compiles better-sqlite3: about a minute) ...');
  run('pnpm install --frozen-lockfile');
}

const client = path.join(root, 'prisma', 'src', '__generated__', 'sqlite', 'client.ts');
if (!existsSync(client)) {
  say('generating the Prisma client ...');
  run('pnpm --silent --filter @foundation/db generate');
}
