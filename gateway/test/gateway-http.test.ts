/**
 * What Apollo Server and the project's plugins give the router still holds with the merged
 * data source and the router's own plan executor: the real `createGateway` (test config, memory stores, SQLite) over real HTTP
 * subgraphs, called over HTTP.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { openDatabase, type Database } from '@foundation/db';
import {
  createMemoryStores,
  identityFromConfig,
  listen,
  loadConfig,
  type RunningServer,
} from '@foundation/platform';
import { testLogger } from '@foundation/platform/testing';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { apollo, useExecution } from '../src/apollo-internals.js';
import { createGateway, type Gateway } from '../src/index.js';
import { executeQueryPlan } from '../src/plan-executor.js';
import { computeResponse } from '../src/result-shaping.js';
import { fixtureSchemas, fixtureSupergraph } from './support/federation-fixture.js';
import { startTestSubgraphs, type TestSubgraphs } from './support/subgraph-server.js';

let dir: string;
let db: Database;
let subgraphs: TestSubgraphs;
let gateway: Gateway;
let server: RunningServer;

beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'gateway-http-'));
  subgraphs = await startTestSubgraphs({ schemas: fixtureSchemas() });
  const supergraphPath = path.join(dir, 'supergraph.graphql');
  writeFileSync(supergraphPath, fixtureSupergraph(subgraphs.url));
  const config = loadConfig({
    env: { APP_ENV: 'test', FOUNDATION_GATEWAY__SUPERGRAPH_PATH: supergraphPath },
  });
  db = await openDatabase({ url: `file:${path.join(dir, 'test.db')}`, migrate: true });
  gateway = await createGateway({
    config,
    logger: testLogger(),
    ...identityFromConfig(config),
    stores: createMemoryStores(),
    db,
  });
  server = await listen(gateway.listener, { host: '127.0.0.1', port: 0 });
});
afterAll(async () => {
  await server.close();
  await gateway.stop();
  await subgraphs.close();
  await db.close();
  rmSync(dir, { recursive: true, force: true });
});

const post = (body: unknown, headers: Record<string, string> = {}) =>
  fetch(`${server.url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  });

it('answers a merged query with formatted, coded errors and the request id', async () => {
  const res = await post(
    { query: '{ a: top { upc inStock } b: top { upc inStock } }' },
    {
      'x-request-id': 'merged-1',
    },
  );
  expect(res.status).toBe(200);
  expect(res.headers.get('x-request-id')).toBe('merged-1');
  const body = (await res.json()) as { data: { a: unknown[] }; errors: unknown[] };
  expect(body.data.a).toHaveLength(6);
  // The subgraph's unexpected error is masked, at its path, with no stack trace.
  expect(body.errors).toEqual([
    {
      message: 'Internal server error',
      path: ['a', 3, 'inStock'],
      extensions: { code: 'INTERNAL_SERVER_ERROR' },
    },
    {
      message: 'Internal server error',
      path: ['b', 3, 'inStock'],
      extensions: { code: 'INTERNAL_SERVER_ERROR' },
    },
  ]);
  // One inventory call served both branches.
  expect(subgraphs.calls['inventory']).toHaveLength(1);
});

it('still refuses requests a browser could send cross-site (CSRF prevention)', async () => {
  const res = await fetch(`${server.url}/graphql?query=${encodeURIComponent('{ top { upc } }')}`);
  expect(res.status).toBe(400);
  expect(await res.text()).toMatch(/CSRF/);
});

it('answers a request refused as rate limited with 429 and Retry-After', async () => {
  const res = await post({ query: '{ limited }' });
  expect(res.status).toBe(429);
  expect(res.headers.get('retry-after')).toBe('7');
  const body = (await res.json()) as { errors: { extensions: { code: string } }[] };
  expect(body.errors[0]?.extensions.code).toBe('RATE_LIMITED');
});

it('records the operations in its metrics', async () => {
  await post({ query: 'query Named { top { upc } }' });
  const metrics = await (await fetch(`${server.url}/metrics`)).text();
  expect(metrics).toMatch(/graphql_operations_total\{[^}]*operation="Named"[^}]*\} 1/);
  expect(metrics).toMatch(/http_requests_total\{[^}]*status="429"[^}]*\} 1/);
});

it("runs the router's executor, or Apollo's own with gateway.fastExecution false", async () => {
  const plans = createRequire(import.meta.url)('@apollo/gateway/dist/executeQueryPlan.js') as {
    executeQueryPlan: unknown;
  };
  expect(plans.executeQueryPlan).toBe(executeQueryPlan);
  const query = { query: '{ top { upc name inStock deliveryNote } }' };
  const fast = await (await post(query)).text();
  const config = loadConfig({
    env: {
      APP_ENV: 'test',
      FOUNDATION_GATEWAY__SUPERGRAPH_PATH: path.join(dir, 'supergraph.graphql'),
      FOUNDATION_GATEWAY__FAST_EXECUTION: 'false',
    },
  });
  expect(config.gateway.fastExecution).toBe(false);
  const other = await createGateway({
    config,
    logger: testLogger(),
    ...identityFromConfig(config),
    stores: createMemoryStores(),
    db,
  });
  try {
    // The switch is per process: this router now runs Apollo's executor too, same answer.
    expect(plans.executeQueryPlan).toBe(apollo.executeQueryPlan);
    expect(await (await post(query)).text()).toBe(fast);
  } finally {
    await other.stop();
    useExecution({ executeQueryPlan, computeResponse });
  }
});
