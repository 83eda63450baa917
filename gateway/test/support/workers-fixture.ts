/**
 * A process for the workers test: under `runWorkers` (count from argv[2]), each worker
 * serves its pid over HTTP on one shared port; the primary reports the port over IPC.
 */
import cluster from 'node:cluster';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { testLogger } from '@foundation/platform/testing';
import { runWorkers } from '../../src/workers.js';

if (cluster.isPrimary) {
  cluster.on('message', (_worker, message: { port?: number }) => {
    if (message.port) process.send?.({ port: message.port });
  });
  await runWorkers({ count: Number(process.argv[2]), logger: testLogger(), restartDelayMs: 50 });
} else {
  const server = createServer((_req, res) => {
    res.setHeader('connection', 'close');
    res.end(String(process.pid));
  });
  server.listen(Number(process.env['FIXTURE_PORT'] ?? 0), '127.0.0.1', () => {
    process.send?.({ port: (server.address() as AddressInfo).port });
  });
  process.on('SIGTERM', () => server.close(() => process.exit(0)));
}
