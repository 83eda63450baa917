/**
 * `tsx tests/bench/federation/profile.ts [seconds] [--single]`: Foundation's router alone
 * under the benchmark's load with `--cpu-prof`; prints the heaviest functions by self time
 * and leaves the .cpuprofile in a temporary directory (open it in Chrome DevTools).
 * `--single`: the single-subgraph query instead, one connection, one request at a time.
 */
import { execFileSync, spawn } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { identityFromConfig, loadConfig } from '@foundation/platform';
import { foundationEnv } from './foundation.js';
import { runLoad } from './load.js';
import { benchmarkSchemas, startSubgraphs } from './subgraphs.js';
import { expectedResponse, supergraphFor, testQuery } from './workload.js';

const single = process.argv.includes('--single');
const seconds = Number(process.argv.slice(2).find((a) => !a.startsWith('--')) ?? 10);
const here = path.dirname(fileURLToPath(import.meta.url));
const dir = mkdtempSync(path.join(tmpdir(), 'bench-profile-'));
const secrets = {
  JWT_SECRET: randomBytes(48).toString('base64'),
  INTERNAL_TOKEN_SECRET: randomBytes(48).toString('base64'),
  BENCH_USER_ID: randomUUID(),
  BENCH_SESSION_ID: randomUUID(),
};
const subgraphs = await startSubgraphs({ schemas: benchmarkSchemas(), memoize: true });
const supergraph = path.join(dir, 'supergraph.graphql');
writeFileSync(supergraph, supergraphFor(subgraphs.url));
const env = {
  ...process.env,
  ...secrets,
  BENCH_SUPERGRAPH: supergraph,
  APOLLO_TELEMETRY_DISABLED: 'true',
};
// The router on core 0, the subgraphs and this load generator on core 1 (as the benchmark).
execFileSync('taskset', ['-a', '-p', '-c', '1', String(process.pid)], { stdio: 'ignore' });
const child = spawn(
  'taskset',
  [
    '-c',
    '0',
    process.execPath,
    '--cpu-prof',
    `--cpu-prof-dir=${dir}`,
    '--max-semi-space-size=64',
    '--import',
    'tsx',
    path.join(here, 'gateway-main.ts'),
    'foundation',
  ],
  { env, stdio: ['ignore', 'ignore', 'inherit', 'ipc'] },
);
const url = await new Promise<string>((resolve) =>
  child.on('message', (m: { ready?: string }) => m.ready && resolve(m.ready)),
);
const { accessTokens } = identityFromConfig(loadConfig({ env: foundationEnv(env) }));
const token = (
  await accessTokens.issue({
    userId: secrets.BENCH_USER_ID,
    username: 'bench',
    sessionId: secrets.BENCH_SESSION_ID,
    scopes: [],
  })
).token;
const smallBody = JSON.stringify({
  query: 'query Users { users { id username name } }',
  operationName: 'Users',
});
const result = await runLoad({
  url,
  body: single ? smallBody : JSON.stringify({ query: testQuery, operationName: 'TestQuery' }),
  headers: () => ({ authorization: `Bearer ${token}` }),
  connections: single ? 1 : 32,
  durationMs: seconds * 1000,
  expected: single
    ? await (
        await fetch(`${subgraphs.url}/accounts`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: smallBody,
        })
      ).text()
    : JSON.stringify(expectedResponse),
});
console.log(
  `${result.rps.toFixed(0)} RPS, p50 ${result.p50.toFixed(2)} ms, ${result.failures} failures`,
);
child.disconnect();
await new Promise((resolve) => child.once('exit', resolve));
await subgraphs.close();
const file = readdirSync(dir).find((f) => f.endsWith('.cpuprofile'))!;
const profile = JSON.parse(readFileSync(path.join(dir, file), 'utf8')) as {
  nodes: { id: number; callFrame: { functionName: string; url: string; lineNumber: number } }[];
  samples: number[];
};
const self = new Map<number, number>();
for (const id of profile.samples) self.set(id, (self.get(id) ?? 0) + 1);
const byFunction = new Map<string, number>();
for (const node of profile.nodes) {
  const { functionName, url: where, lineNumber } = node.callFrame;
  const key = `${functionName || '(anonymous)'} ${where.replace(/.*node_modules\//, '').replace(/^file:\/\/.*\/perf\//, '')}:${lineNumber}`;
  byFunction.set(key, (byFunction.get(key) ?? 0) + (self.get(node.id) ?? 0));
}
const total = profile.samples.length;
for (const [name, n] of [...byFunction].sort((a, b) => b[1] - a[1]).slice(0, 40)) {
  console.log(`${((100 * n) / total).toFixed(1).padStart(5)}%  ${name}`);
}
console.log(`profile: ${path.join(dir, file)}`);
