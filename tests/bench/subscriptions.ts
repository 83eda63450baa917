/**
 * `pnpm bench:subscriptions [subscribers=1000] [events=100] [intervalMs=50]`: N WebSocket
 * subscribers on one stream whose events need one entity hop
 * (`searchIndexUpdated { … user { username displayName } }`: search → user), M events.
 * Runs the Foundation router, then Hive Gateway (`@graphql-hive/gateway`, WebSocket to the
 * subgraphs) on the same subgraph process, and prints publish-to-client latency, delivery
 * rate, upstream subscriptions and entity requests for each, with ratios. By hand only.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import path from 'node:path';
import { openDatabase } from '@foundation/db';
import { createIdentityAssertions, loadConfig, repoRoot } from '@foundation/platform';
import WebSocket from 'ws';
import { delegateAuthorization } from '../../gateway/src/supergraph-file.js';
import { entries, freePort, ServiceProcess } from '../harness.js';

const [subscribers = 1_000, eventCount = 100, intervalMs = 50] = process.argv.slice(2).map(Number);
const query =
  'subscription { searchIndexUpdated { indexedUsers at user { username displayName } } }';

interface Counts {
  upstreamOpened: number;
  upstreamActive: number;
  entityRequests: number;
}

interface Result {
  name: string;
  p50: number;
  p99: number;
  perSecond: number;
  delivered: number;
  upstream: number;
  entityRequests: number;
}

const dir = mkdtempSync(path.join(tmpdir(), 'bench-subscriptions-'));
const databaseUrl = `file:${path.join(dir, 'bench.db')}`;
const db = await openDatabase({ url: databaseUrl, migrate: true });
for (let i = 0; i < 50; i++) {
  await db.prisma.user.create({
    data: { username: `bench${i}`, email: `bench${i}@example.org`, displayName: `Bench ${i}` },
  });
}
await db.close();

const [userPort, searchPort, controlPort, routerPort, servicePort, hivePort] = await Promise.all(
  Array.from({ length: 6 }, () => freePort()),
);
const control = `http://127.0.0.1:${controlPort}`;
const subgraphUrls = {
  user: `http://127.0.0.1:${userPort}/graphql`,
  search: `http://127.0.0.1:${searchPort}/graphql`,
  auth: `http://127.0.0.1:${await freePort()}/graphql`, // not started: the stream needs no auth
};
const baseEnv = {
  APP_ENV: 'test',
  LOG_LEVEL: 'warn',
  LOG_FORMAT: 'json',
  DATABASE_URL: databaseUrl,
};
const subgraphs = new ServiceProcess('tests/bench/subscription-subgraphs.ts', {
  ...baseEnv,
  USER_PORT: String(userPort),
  SEARCH_PORT: String(searchPort),
  CONTROL_PORT: String(controlPort),
});
await subgraphs.waitFor('bench subgraphs ready');

const stats = async (reset = false): Promise<Counts> =>
  (await fetch(`${control}/${reset ? 'reset' : 'stats'}`)).json() as Promise<Counts>;

/** Opens N subscribers on `url`, publishes M events, and measures what arrives. */
async function run(name: string, url: string): Promise<Result> {
  const published = new Map<number, number>();
  const latencies: number[] = [];
  let delivered = 0;
  let warm = 0;
  let lastAt = 0;
  const sockets: WebSocket[] = [];
  for (let i = 0; i < subscribers; i++) {
    const socket = new WebSocket(url.replace(/^http/, 'ws'), 'graphql-transport-ws');
    sockets.push(socket);
    socket.on('open', () => socket.send(JSON.stringify({ type: 'connection_init', payload: {} })));
    socket.on('message', (raw: Buffer) => {
      const message = JSON.parse(raw.toString()) as {
        type: string;
        payload?: { data?: { searchIndexUpdated?: { indexedUsers: number; user?: unknown } } };
      };
      if (message.type === 'connection_ack') {
        socket.send(JSON.stringify({ type: 'subscribe', id: '1', payload: { query } }));
        return;
      }
      if (message.type === 'ping') return void socket.send(JSON.stringify({ type: 'pong' }));
      if (message.type !== 'next') return;
      const event = message.payload?.data?.searchIndexUpdated;
      if (!event?.user) return;
      const seq = event.indexedUsers;
      if (seq < 0) return void warm++;
      const sent = published.get(seq);
      if (sent === undefined) return;
      const now = performance.now();
      latencies.push(now - sent);
      delivered++;
      lastAt = now;
    });
    if (i % 100 === 99) await new Promise((resolve) => setTimeout(resolve, 20));
  }
  // Warm-up: publish until every subscriber has an event, so all are live.
  const warmDeadline = Date.now() + 60_000;
  let warmSeq = -1;
  while (warm < subscribers) {
    if (Date.now() > warmDeadline) throw new Error(`${name}: only ${warm}/${subscribers} live`);
    warm = 0;
    await fetch(`${control}/publish?seq=${warmSeq--}`);
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
  await stats(true);
  const start = performance.now();
  for (let seq = 0; seq < eventCount; seq++) {
    published.set(seq, performance.now());
    await fetch(`${control}/publish?seq=${seq}`);
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
  const expected = subscribers * eventCount;
  const deadline = Date.now() + 30_000;
  while (delivered < expected && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  const counts = await stats();
  for (const socket of sockets) socket.close();
  latencies.sort((a, b) => a - b);
  const at = (q: number) =>
    latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? NaN;
  return {
    name,
    p50: at(0.5),
    p99: at(0.99),
    perSecond: delivered / ((lastAt - start) / 1000),
    delivered,
    upstream: counts.upstreamOpened,
    entityRequests: counts.entityRequests,
  };
}

const env = {
  ...baseEnv,
  FOUNDATION_GATEWAY__PORT: String(routerPort),
  FOUNDATION_GATEWAY__SERVICE_PORT: String(servicePort),
  FOUNDATION_SUBGRAPHS__USER__URL: subgraphUrls.user,
  FOUNDATION_SUBGRAPHS__SEARCH__URL: subgraphUrls.search,
  FOUNDATION_SUBGRAPHS__AUTH__URL: subgraphUrls.auth,
  // Every subscriber is the same anonymous caller; the bench measures fan-out, not limits.
  FOUNDATION_SUBSCRIPTIONS__MAX_PER_PRINCIPAL: String(subscribers * 2),
};
const results: Result[] = [];
const router = new ServiceProcess(entries.gateway, { ...env, LOG_LEVEL: 'info' });
await router.waitFor('router ready');
results.push(await run('Foundation router', `http://127.0.0.1:${routerPort}/graphql`));
await router.stop();

// Hive Gateway on the same subgraphs: the supergraph with their ports, a long-lived
// anonymous identity assertion (subgraphs require one), WebSocket to the subgraphs.
const config = loadConfig({ env: { APP_ENV: 'test' } });
const assertion = await createIdentityAssertions({
  secret: config.secrets.internalTokenSecret,
  ttlSeconds: 3_600,
}).sign({ kind: 'anonymous' });
const supergraph = delegateAuthorization(
  readFileSync(path.join(repoRoot, 'schema/supergraph.graphql'), 'utf8'),
)
  .replace(/url: "http:\/\/127\.0\.0\.1:4001\/graphql"/, `url: "${subgraphUrls.user}"`)
  .replace(/url: "http:\/\/127\.0\.0\.1:4002\/graphql"/, `url: "${subgraphUrls.auth}"`)
  .replace(/url: "http:\/\/127\.0\.0\.1:4003\/graphql"/, `url: "${subgraphUrls.search}"`);
writeFileSync(path.join(dir, 'supergraph.graphql'), supergraph);
writeFileSync(
  path.join(dir, 'gateway.config.mjs'),
  `export const gatewayConfig = {
  transportEntries: {
    '*.http': {
      headers: [['x-identity-assertion', ${JSON.stringify(assertion)}]],
      options: {
        subscriptions: {
          kind: 'ws',
          location: '/graphql',
          options: { connectionParams: { 'x-identity-assertion': ${JSON.stringify(assertion)} } },
        },
      },
    },
  },
  propagateHeaders: {
    fromClientToSubgraphs: () => ({ 'x-identity-assertion': ${JSON.stringify(assertion)} }),
  },
};
`,
);
const hive = spawn(
  process.execPath,
  [
    path.join(repoRoot, 'tests/node_modules/@graphql-hive/gateway/dist/bin.js'),
    'supergraph',
    path.join(dir, 'supergraph.graphql'),
    '--port',
    String(hivePort),
    '--host',
    '127.0.0.1',
  ],
  { cwd: dir, env: { ...process.env, NODE_ENV: 'production' }, stdio: ['ignore', 'pipe', 'pipe'] },
);
let hiveOutput = '';
hive.stdout.on('data', (chunk: Buffer) => (hiveOutput += chunk.toString()));
hive.stderr.on('data', (chunk: Buffer) => (hiveOutput += chunk.toString()));
try {
  const hiveUrl = `http://127.0.0.1:${hivePort}/graphql`;
  const ready = Date.now() + 60_000;
  for (;;) {
    const ok = await fetch(`http://127.0.0.1:${hivePort}/readiness`).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) break;
    if (Date.now() > ready || hive.exitCode !== null) {
      throw new Error(`Hive Gateway did not start:\n${hiveOutput.slice(-3000)}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  results.push(await run('Hive Gateway 2.15.1', hiveUrl));
} catch (err) {
  console.error(`Hive Gateway run failed: ${(err as Error).message}`);
} finally {
  hive.kill('SIGTERM');
}

const base = results[0]!;
console.log(
  `\n${subscribers} subscribers × ${eventCount} events (every ${intervalMs} ms), one entity hop; ` +
    `Node ${process.version}, ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}\n`,
);
console.log(
  '| gateway | p50 | p99 | events/s delivered | delivered | upstream subscriptions | entity requests |',
);
console.log('| --- | ---: | ---: | ---: | ---: | ---: | ---: |');
for (const r of results) {
  console.log(
    `| ${r.name} | ${r.p50.toFixed(1)} ms | ${r.p99.toFixed(1)} ms | ${Math.round(r.perSecond)} | ${r.delivered} | ${r.upstream} | ${r.entityRequests} |`,
  );
}
for (const r of results.slice(1)) {
  console.log(
    `\n${r.name} / Foundation: p50 ×${(r.p50 / base.p50).toFixed(1)}, p99 ×${(r.p99 / base.p99).toFixed(1)}, ` +
      `events/s ×${(r.perSecond / base.perSecond).toFixed(2)}, entity requests ×${(r.entityRequests / Math.max(1, base.entityRequests)).toFixed(0)}`,
  );
}
await subgraphs.stop();
rmSync(dir, { recursive: true, force: true });
