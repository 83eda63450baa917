/**
 * Generates the Prisma client of each provider into src/__generated__/<provider>/.
 * `prisma generate` only checks that the schema engine binary path exists; it never runs it,
 * and the native engines cannot be downloaded here, so /bin/false stands in.
 */
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const prismaDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const cli = path.join(prismaDir, 'node_modules', '.bin', 'prisma');

for (const provider of ['sqlite', 'mysql']) {
  const started = performance.now();
  execFileSync(cli, ['generate', '--schema', path.join(prismaDir, provider)], {
    cwd: prismaDir,
    stdio: ['ignore', 'ignore', 'inherit'],
    env: {
      ...process.env,
      PRISMA_SCHEMA_ENGINE_BINARY: process.env['PRISMA_SCHEMA_ENGINE_BINARY'] ?? '/bin/false',
      PRISMA_HIDE_UPDATE_MESSAGE: '1',
      CHECKPOINT_DISABLE: '1',
    },
  });
  console.log(
    `generated the ${provider} Prisma client in ${Math.round(performance.now() - started)} ms`,
  );
}
