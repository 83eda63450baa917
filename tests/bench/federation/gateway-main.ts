/**
 * Child process of the benchmark: one gateway, chosen by argv[2] (`foundation`, `apollo` or
 * `hive`), over the supergraph file in `BENCH_SUPERGRAPH`. Tells the parent its URL over IPC.
 */
import cluster from 'node:cluster';
import { mkdtempSync, readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';

const kind = process.argv[2];
const supergraphPath = process.env['BENCH_SUPERGRAPH'] ?? '';
const supergraphSdl = readFileSync(supergraphPath, 'utf8');

async function serve(listener: (req: IncomingMessage, res: ServerResponse) => void) {
  const server = createServer({ keepAliveTimeout: 65_000 }, listener);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}/graphql`;
}

async function start(): Promise<string> {
  if (kind === 'apollo') {
    // Stock: @apollo/gateway with its default data source, @apollo/server's standalone server.
    const { ApolloGateway } = await import('@apollo/gateway');
    const { ApolloServer } = await import('@apollo/server');
    const { startStandaloneServer } = await import('@apollo/server/standalone');
    const server = new ApolloServer({ gateway: new ApolloGateway({ supergraphSdl }) });
    const { url } = await startStandaloneServer(server, { listen: { port: 0, host: '127.0.0.1' } });
    return new URL('/graphql', url).toString();
  }
  if (kind === 'hive') {
    const { createGatewayRuntime } = await import('@graphql-hive/gateway-runtime');
    const gateway = createGatewayRuntime({
      supergraph: supergraphSdl,
      logging: false,
      // Request deduplication off, inbound (its default) and towards subgraphs (on by
      // default), so it does the same work per request as the others.
      inboundInflightRequestDeduplication: false,
      transportEntries: { '*': { options: { deduplicateInflightRequests: false } } },
    });
    // The runtime is a node:http listener (it returns a promise the server ignores).
    return serve((req, res) => void gateway(req, res));
  }
  if (kind === 'foundation') {
    const { createFoundation } = await import('./foundation.js');
    return createFoundation({
      supergraphPath,
      dataDir: mkdtempSync(path.join(tmpdir(), 'bench-foundation-')),
    });
  }
  throw new Error(`unknown gateway "${kind}"`);
}

const workers = Number(process.env['BENCH_WORKERS'] ?? 1);
if (kind === 'foundation' && workers > 1 && cluster.isPrimary) {
  // The router's own node:cluster primary; it reports once every worker listens.
  const { runWorkers } = await import('@foundation/gateway/workers');
  const { createLogger } = await import('@foundation/platform');
  let ready = 0;
  cluster.on('message', (_worker, message: { ready?: string }) => {
    if (message.ready && ++ready === workers) process.send?.({ ready: message.ready });
  });
  process.on('disconnect', () => process.kill(process.pid, 'SIGTERM'));
  await runWorkers({
    count: workers,
    logger: createLogger({ level: 'warn', format: 'json' }, { service: 'gateway' }),
  });
} else {
  const url = await start();
  process.send?.({ ready: url });
  process.on('disconnect', () => process.exit(0));
}
