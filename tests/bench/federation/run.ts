/**
 * `pnpm bench:federation [--quick]`: the public federation benchmark, reproduced. Starts the
 * four subgraphs, Foundation's router (production config, authentication on), stock
 * @apollo/gateway + @apollo/server and Hive Gateway; pins every gateway to one core and the
 * subgraphs and this load generator to the other; sends `TestQuery` to each in short slices
 * rotated round after round so drift hits all alike; checks every response against the
 * expected one (any wrong answer fails the run); prints RPS, latency, subgraph fetches per
 * query, CPU and the ratios. Then the single-subgraph overhead and worker scaling.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { identityFromConfig, loadConfig } from '@foundation/platform';
import { foundationEnv } from './foundation.js';
import { runLoad, type LoadResult } from './load.js';
import { expectedResponse, supergraphFor, testQuery } from './workload.js';

const quick = process.argv.includes('--quick');
/** `--soak=<minutes>`: instead, Foundation alone at full load, its RSS sampled every 30 s. */
const soakMinutes = Number(
  /^--soak=(\d+(?:\.\d+)?)$/.exec(process.argv.find((a) => a.startsWith('--soak=')) ?? '')?.[1] ??
    0,
);
const here = path.dirname(fileURLToPath(import.meta.url));
const settings = quick
  ? {
      rounds: 1,
      sliceMs: 2_000,
      warmupMs: 1_500,
      connections: 32,
      overheadRounds: 1,
      tokens: 20_000,
    }
  : {
      rounds: 6,
      sliceMs: 5_000,
      warmupMs: 5_000,
      connections: 32,
      overheadRounds: 3,
      tokens: 150_000,
    };
const gatewayCpu = '0';
const loadCpu = '1';

const cores = availableParallelism();
const canPin = cores >= 2 && hasTaskset();
if (canPin)
  execFileSync('taskset', ['-a', '-p', '-c', loadCpu, String(process.pid)], { stdio: 'ignore' });
else console.warn('WARNING: fewer than 2 cores or no taskset: nothing is pinned, ratios are rough');

function hasTaskset() {
  try {
    execFileSync('taskset', ['-V'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

const children: ChildProcess[] = [];
const cleanup = () => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGTERM');
};
process.on('exit', cleanup);
process.on('SIGINT', () => process.exit(130));

/** Starts a TypeScript child on `cpu`, waiting for its URL (IPC `{ready}` or `READY url`). */
function startChild(
  script: string,
  args: string[],
  cpu: string,
  env: NodeJS.ProcessEnv,
  nodeFlags: string[] = [],
) {
  const command = [
    process.execPath,
    ...nodeFlags,
    '--import',
    'tsx',
    path.join(here, script),
    ...args,
  ];
  const child = canPin
    ? spawn('taskset', ['-c', cpu, ...command], {
        env,
        stdio: ['ignore', 'pipe', 'inherit', 'ipc'],
      })
    : spawn(command[0]!, command.slice(1), { env, stdio: ['ignore', 'pipe', 'inherit', 'ipc'] });
  children.push(child);
  return new Promise<{ child: ChildProcess; url: string }>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`${script} ${args.join(' ')}: not ready in 60 s`)),
      60_000,
    );
    let out = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      // Logs are read and dropped (production logs go somewhere); only the marker matters.
      if (out.length < 4096) out += chunk.toString();
      const m = /READY (\S+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve({ child, url: m[1]! });
      }
    });
    child.on('message', (m: { ready?: string }) => {
      if (m.ready) {
        clearTimeout(timer);
        resolve({ child, url: m.ready });
      }
    });
    child.once('exit', (code) =>
      reject(new Error(`${script} ${args.join(' ')} exited with ${code}`)),
    );
  });
}

/** CPU seconds used by a process and its children (cluster workers), from /proc. */
function cpuSeconds(pid: number): number {
  const tick = 100;
  let total = 0;
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
    } catch {
      continue;
    }
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ppid = Number(fields[1]);
    if (Number(entry) === pid || ppid === pid)
      total += (Number(fields[11]) + Number(fields[12])) / tick;
  }
  return total;
}

/** Processes whose parent is `pid` (a cluster primary's workers). */
function childPids(pid: number): number[] {
  return readdirSync('/proc')
    .filter((entry) => /^\d+$/.test(entry))
    .filter((entry) => {
      try {
        const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
        return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === pid;
      } catch {
        return false;
      }
    })
    .map(Number);
}

function rssMiB(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0) / 1024;
}

// Fresh secrets: production refuses the development ones.
const secrets = {
  JWT_SECRET: randomBytes(48).toString('base64'),
  INTERNAL_TOKEN_SECRET: randomBytes(48).toString('base64'),
  BENCH_USER_ID: randomUUID(),
  BENCH_SESSION_ID: randomUUID(),
};
// Apollo's gateway telemetry (cloud metadata probes, usage export) off for every gateway:
// Foundation turns it off itself, and the others must not do more work or leave loopback.
const env = {
  ...process.env,
  ...secrets,
  NODE_ENV: 'production',
  APOLLO_TELEMETRY_DISABLED: 'true',
};
const config = loadConfig({ env: foundationEnv(env) });
const { accessTokens } = identityFromConfig(config);

const dir = mkdtempSync(path.join(tmpdir(), 'bench-federation-'));
const subgraphs = await startChild('subgraphs-main.ts', [], loadCpu, env);
const supergraphPath = path.join(dir, 'supergraph.graphql');
writeFileSync(supergraphPath, supergraphFor(subgraphs.url));
const gatewayEnv = { ...env, BENCH_SUPERGRAPH: supergraphPath };

async function subgraphTotal(): Promise<number> {
  const counts = (await (await fetch(`${subgraphs.url}/stats`)).json()) as Record<string, number>;
  return Object.values(counts).reduce((a, b) => a + b, 0);
}

interface Gateway {
  name: string;
  url: string;
  pid: number;
  results: LoadResult[];
  cpu: number;
  fetches: number;
}

console.log(
  `Node ${process.version}, ${cpus()[0]?.model ?? 'unknown CPU'}, ${cores} cores, load average ${loadavg()
    .map((l) => l.toFixed(2))
    .join(' ')} (a shared machine: other work shares these cores)`,
);
console.log(
  `${quick ? 'quick' : 'default'} mode: ${settings.rounds} rounds of ${settings.sliceMs / 1000} s slices per gateway, ${settings.connections} connections`,
);

const semiSpace = ['--max-semi-space-size=64'];
if (soakMinutes > 0) await soak();
const started = await Promise.all([
  startChild('gateway-main.ts', ['foundation'], gatewayCpu, gatewayEnv, semiSpace),
  startChild('gateway-main.ts', ['apollo'], gatewayCpu, gatewayEnv),
  startChild('gateway-main.ts', ['hive'], gatewayCpu, gatewayEnv),
]);
const gateways: Gateway[] = ['Foundation', 'Apollo Gateway (stock)', 'Hive Gateway'].map(
  (name, i) => ({
    name,
    url: started[i]!.url,
    pid: started[i]!.child.pid!,
    results: [],
    cpu: 0,
    fetches: 0,
  }),
);

process.stdout.write(`issuing ${settings.tokens} access tokens... `);
const tokens: string[] = [];
for (let i = 0; i < settings.tokens; i++) {
  const issued = await accessTokens.issue({
    userId: secrets.BENCH_USER_ID,
    username: 'bench',
    sessionId: secrets.BENCH_SESSION_ID,
    scopes: [],
  });
  tokens.push(issued.token);
}
console.log('done');
let wrapped = false;
const headers = (i: number) => {
  if (i >= tokens.length) wrapped = true;
  return { authorization: `Bearer ${tokens[i % tokens.length]!}` };
};
let requestIndex = 0;
const uniqueHeaders = () => {
  const base = requestIndex;
  return (i: number) => headers(base + i);
};

const body = JSON.stringify({ query: testQuery, operationName: 'TestQuery' });
const expected = JSON.stringify(expectedResponse);
let failed = false;

async function slice(g: Gateway, ms: number, record: boolean) {
  const before = { cpu: cpuSeconds(g.pid), fetches: await subgraphTotal() };
  const result = await runLoad({
    url: g.url,
    body,
    headers: uniqueHeaders(),
    connections: settings.connections,
    durationMs: ms,
    expected,
  });
  requestIndex += result.requests + settings.connections;
  if (result.failures > 0) {
    failed = true;
    console.error(`\n${g.name}: ${result.failures} wrong responses, first: ${result.firstFailure}`);
  }
  if (!record) return;
  g.results.push(result);
  g.cpu += cpuSeconds(g.pid) - before.cpu;
  g.fetches += (await subgraphTotal()) - before.fetches;
}

// One checked request each first: the exact bytes, not just equal values.
for (const g of gateways) {
  const res = await fetch(g.url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers(requestIndex++) },
    body,
  });
  const text = await res.text();
  const exact = text === expected || text === `${expected}\n`;
  let at = 0;
  while (at < text.length && text[at] === expected[at]) at++;
  console.log(
    `${g.name}: first response ${res.status}, ${exact ? 'byte-identical to the expected one (a trailing newline aside)' : `bytes differ from the expected one at ${at}: ${JSON.stringify(text.slice(at, at + 40))}`}`,
  );
  if (!exact && (res.status !== 200 || JSON.stringify(JSON.parse(text)) !== expected)) {
    failed = true;
    console.error(text.slice(0, 500));
  }
}

for (const g of gateways) await slice(g, settings.warmupMs, false);
const rss0 = gateways.map((g) => rssMiB(g.pid));
for (let round = 0; round < settings.rounds; round++) {
  for (let k = 0; k < gateways.length; k++) {
    await slice(gateways[(round + k) % gateways.length]!, settings.sliceMs, true);
  }
  process.stdout.write(`round ${round + 1}/${settings.rounds}\r`);
}

const quantile = (sorted: number[], q: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? NaN;
const rows = gateways.map((g, i) => {
  const requests = g.results.reduce((a, r) => a + r.requests, 0);
  const seconds = g.results.reduce((a, r) => a + r.seconds, 0);
  const latencies = g.results.flatMap((r) => r.latencies).sort((a, b) => a - b);
  return {
    name: g.name,
    rps: requests / seconds,
    p50: quantile(latencies, 0.5),
    p99: quantile(latencies, 0.99),
    fetches: g.fetches / requests,
    cpu: g.cpu / seconds,
    rss: rssMiB(g.pid),
    rss0: rss0[i]!,
  };
});
const [foundation, apollo, hive] = rows as [(typeof rows)[0], (typeof rows)[0], (typeof rows)[0]];
console.log('\nFederated TestQuery, each gateway on one core, interleaved');
console.log(
  '| gateway | RPS | p50 ms | p99 ms | subgraph fetches/query | CPU (cores) | RPS per busy core | RSS MiB (start→end) |',
);
console.log('| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
for (const r of rows) {
  console.log(
    `| ${r.name} | ${r.rps.toFixed(0)} | ${r.p50.toFixed(1)} | ${r.p99.toFixed(1)} | ${r.fetches.toFixed(1)} | ${r.cpu.toFixed(2)} | ${(r.rps / r.cpu).toFixed(0)} | ${r.rss0.toFixed(0)}→${r.rss.toFixed(0)} |`,
  );
}
console.log(
  `Foundation / stock Apollo: ${(foundation.rps / apollo.rps).toFixed(2)}× RPS (target ≥ 3), p99 ${(foundation.p99 / apollo.p99).toFixed(2)}× (target ≤ 0.5)`,
);
console.log(
  `Foundation / Hive Gateway: ${(foundation.rps / hive.rps).toFixed(2)}× RPS (target ≥ 2.5)`,
);
console.log(`Hive Gateway / stock Apollo: ${(hive.rps / apollo.rps).toFixed(2)}× RPS`);
// When the shared core of the subgraphs is the bottleneck a gateway idles; its RPS per CPU
// second used still says what it would do with a core of its own.
const perCore = (r: typeof foundation) => r.rps / r.cpu;
console.log(
  `RPS per busy core: Foundation ${(perCore(foundation) / perCore(apollo)).toFixed(2)}× stock Apollo, ${(perCore(foundation) / perCore(hive)).toFixed(2)}× Hive Gateway`,
);

// Single-subgraph overhead: one connection, one request at a time, a one-subgraph query,
// the router against calling the subgraph directly.
const smallBody = JSON.stringify({
  query: 'query Users { users { id username name } }',
  operationName: 'Users',
});
const direct = `${subgraphs.url}/accounts`;
const smallExpected = await (
  await fetch(direct, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: smallBody,
  })
).text();
const overheadTargets = [
  { name: 'subgraph directly', url: direct, latencies: [] as number[] },
  { name: 'Foundation', url: gateways[0]!.url, latencies: [] as number[] },
  { name: 'Apollo Gateway (stock)', url: gateways[1]!.url, latencies: [] as number[] },
];
for (let round = 0; round < settings.overheadRounds + 1; round++) {
  for (const t of overheadTargets) {
    const r = await runLoad({
      url: t.url,
      body: smallBody,
      headers: uniqueHeaders(),
      connections: 1,
      durationMs: settings.sliceMs / 2,
      expected: smallExpected,
    });
    requestIndex += r.requests + 1;
    if (r.failures > 0) {
      failed = true;
      console.error(`${t.name}: ${r.failures} wrong responses to Users, first: ${r.firstFailure}`);
    }
    if (round > 0) t.latencies.push(...r.latencies);
  }
}
console.log('\nSingle-subgraph query (`users { id username name }`), 1 connection, sequential');
console.log('| target | p50 ms | p99 ms | overhead p50 ms |');
console.log('| --- | ---: | ---: | ---: |');
const directP50 = quantile(
  overheadTargets[0]!.latencies.sort((a, b) => a - b),
  0.5,
);
for (const t of overheadTargets) {
  const sorted = t.latencies.sort((a, b) => a - b);
  const p50 = quantile(sorted, 0.5);
  console.log(
    `| ${t.name} | ${p50.toFixed(2)} | ${quantile(sorted, 0.99).toFixed(2)} | ${(p50 - directP50).toFixed(2)} |`,
  );
}

// Worker scaling: gateway.workers 1 on core 0, then gateway.workers 2, one on each core,
// interleaved. Core 1 is not free: the subgraphs and this load generator run there, so the
// second worker gets what they leave. Printed: the plain ratio (what the target names, on
// a machine with a free core per worker) and RPS per core the router actually used (does
// a second worker waste CPU?), with the CPU the subgraphs and load generator took.
const scaling = await Promise.all(
  [1, 2].map((workers) =>
    startChild(
      'gateway-main.ts',
      ['foundation'],
      workers === 1 ? gatewayCpu : `${gatewayCpu},${loadCpu}`,
      { ...gatewayEnv, BENCH_WORKERS: String(workers) },
      semiSpace,
    ),
  ),
);
const scaled: Gateway[] = scaling.map((s, i) => ({
  name: `Foundation, ${i + 1} worker${i ? 's' : ''} (core${i ? 's 0 and 1' : ' 0'})`,
  url: s.url,
  pid: s.child.pid!,
  results: [],
  cpu: 0,
  fetches: 0,
}));
// One core per worker, as a deployment with a core per worker would run them.
if (canPin)
  childPids(scaled[1]!.pid).forEach((pid, i) =>
    execFileSync('taskset', ['-a', '-p', '-c', String(i % cores), String(pid)], {
      stdio: 'ignore',
    }),
  );
const othersCpu = [0, 0];
/** CPU seconds of the subgraphs and of this process (the load generator). */
const othersNow = () => {
  const own = process.cpuUsage();
  return cpuSeconds(subgraphs.child.pid!) + (own.user + own.system) / 1e6;
};
for (const g of scaled) await slice(g, settings.warmupMs, false);
for (let round = 0; round < Math.max(1, Math.ceil(settings.rounds / 2)); round++) {
  for (let k = 0; k < scaled.length; k++) {
    const i = (round + k) % scaled.length;
    const before = othersNow();
    await slice(scaled[i]!, settings.sliceMs, true);
    othersCpu[i]! += othersNow() - before;
  }
}
const scaledRows = scaled.map((g, i) => {
  const seconds = g.results.reduce((a, r) => a + r.seconds, 0);
  const rps = g.results.reduce((a, r) => a + r.requests, 0) / seconds;
  return { g, rps, cpu: g.cpu / seconds, others: othersCpu[i]! / seconds };
});
console.log('\nWorkers (node:cluster); core 1 also runs the subgraphs and the load generator');
console.log(
  '| router | RPS | router CPU (cores) | RPS per router core | subgraphs + load CPU (cores) |',
);
console.log('| --- | ---: | ---: | ---: | ---: |');
for (const r of scaledRows)
  console.log(
    `| ${r.g.name} | ${r.rps.toFixed(0)} | ${r.cpu.toFixed(2)} | ${(r.rps / r.cpu).toFixed(0)} | ${r.others.toFixed(2)} |`,
  );
const [one, two] = scaledRows as [(typeof scaledRows)[0], (typeof scaledRows)[0]];
console.log(
  `efficiency of the second worker: ${(two.rps / (2 * one.rps)).toFixed(2)} (target ≥ 0.95; ` +
    `its core was not free), per router core used: ${(two.rps / two.cpu / (one.rps / one.cpu)).toFixed(2)}`,
);

if (wrapped)
  console.log(`\n(note: more requests than tokens; tokens were reused after ${tokens.length})`);
cleanup();
rmSync(dir, { recursive: true, force: true });
if (failed) {
  console.error('\nFAILED: some responses were wrong (see above)');
  process.exit(1);
}
process.exit(0);

/** Foundation alone under full load for `soakMinutes`; RSS after warm-up must stay flat. */
async function soak(): Promise<never> {
  const { child, url } = await startChild(
    'gateway-main.ts',
    ['foundation'],
    gatewayCpu,
    gatewayEnv,
    semiSpace,
  );
  const soakTokens: string[] = [];
  for (let i = 0; i < 2_000; i++) {
    soakTokens.push(
      (
        await accessTokens.issue({
          userId: secrets.BENCH_USER_ID,
          username: 'bench',
          sessionId: secrets.BENCH_SESSION_ID,
          scopes: [],
        })
      ).token,
    );
  }
  const run = (ms: number) =>
    runLoad({
      url,
      body: JSON.stringify({ query: testQuery, operationName: 'TestQuery' }),
      headers: (i) => ({ authorization: `Bearer ${soakTokens[i % soakTokens.length]!}` }),
      connections: 32,
      durationMs: ms,
      expected: JSON.stringify(expectedResponse),
    });
  // A minute: the heap grows to its working size (young generation included) first.
  await run(60_000);
  const baseline = rssMiB(child.pid!);
  console.log(
    `soak: ${soakMinutes} min at full load; RSS after 60 s warm-up ${baseline.toFixed(0)} MiB`,
  );
  let peak = baseline;
  let bad = 0;
  for (let t = 60; t < soakMinutes * 60; t += 30) {
    const r = await run(30_000);
    bad += r.failures;
    const rss = rssMiB(child.pid!);
    peak = Math.max(peak, rss);
    console.log(
      `${String(t + 30).padStart(5)} s  ${r.rps.toFixed(0)} RPS  RSS ${rss.toFixed(0)} MiB`,
    );
  }
  const growth = (rssMiB(child.pid!) - baseline) / baseline;
  console.log(
    `RSS growth after warm-up: ${(growth * 100).toFixed(1)}% (peak ${peak.toFixed(0)} MiB; target < 10%)`,
  );
  cleanup();
  rmSync(dir, { recursive: true, force: true });
  process.exit(bad > 0 ? 1 : 0);
}
