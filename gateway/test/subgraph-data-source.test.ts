/**
 * The router's data source (undici, merged and de-duplicated entity calls) must give the
 * results stock @apollo/gateway gives. Two routers over the same real HTTP subgraphs: the
 * reference runs Apollo's own `RemoteGraphQLDataSource.process()` with the project's hooks,
 * the other ours; every answer is compared byte for byte.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import {
  ApolloGateway,
  RemoteGraphQLDataSource,
  type GraphQLDataSourceProcessOptions,
} from '@apollo/gateway';
import { operationFromDocument, Supergraph } from '@apollo/federation-internals';
import { prettyFormatQueryPlan, QueryPlanner } from '@apollo/query-planner';
import { ApolloServer } from '@apollo/server';
import { createFormatError, createIdentityAssertions, repoRoot } from '@foundation/platform';
import { testLogger } from '@foundation/platform/testing';
import { parse } from 'graphql';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { GatewayContext } from '../src/context.js';
import { maxWaitMs } from '../src/fetch-merger.js';
import { SubgraphDataSource, type SubgraphDataSourceOptions } from '../src/subgraph-data-source.js';
import {
  faults,
  fixtureQueries,
  fixtureSchemas,
  fixtureSupergraph,
  oneShort,
} from './support/federation-fixture.js';
import { executeAnonymously } from './support/execute.js';
import { startTestSubgraphs, type TestSubgraphs } from './support/subgraph-server.js';

/** Apollo's own process() (make-fetch-happen replaced by fetch with the timeout), our hooks. */
class ReferenceDataSource extends SubgraphDataSource {
  constructor(options: SubgraphDataSourceOptions) {
    super({ ...options, mergeFetches: false });
    this.fetcher = ((url: string, init: RequestInit) =>
      fetch(url, { ...init, signal: AbortSignal.timeout(options.timeoutMs) })) as never;
  }
  override process(options: GraphQLDataSourceProcessOptions<GatewayContext>) {
    return RemoteGraphQLDataSource.prototype.process.call(this, options);
  }
}

const logger = testLogger();
const assertions = createIdentityAssertions({ secret: 'x'.repeat(48), ttlSeconds: 60 });
const timeoutMs = 400;
let slow: string | undefined;
const arrivals: { name: string; at: number }[] = [];
let short: string | undefined;
let subgraphs: TestSubgraphs;
let supergraphSdl: string;
const servers: { reference?: ApolloServer<GatewayContext>; fast?: ApolloServer<GatewayContext> } =
  {};

async function startRouter(kind: 'reference' | 'fast') {
  const dataSources: SubgraphDataSource[] = [];
  const gateway = new ApolloGateway({
    supergraphSdl,
    logger,
    buildService: ({ name, url }) => {
      const options = { name, url: url!, assertions, timeoutMs };
      const source =
        kind === 'fast' ? new SubgraphDataSource(options) : new ReferenceDataSource(options);
      dataSources.push(source);
      return source;
    },
  });
  const server = new ApolloServer<GatewayContext>({
    gateway,
    logger,
    formatError: createFormatError(logger),
    includeStacktraceInErrorResponses: false,
  });
  await server.start();
  servers[kind] = server;
  return async () => {
    await server.stop();
    await Promise.all(dataSources.map((d) => d.close()));
  };
}

const stops: (() => Promise<void>)[] = [];
beforeAll(async () => {
  subgraphs = await startTestSubgraphs({
    schemas: fixtureSchemas(),
    before: async (name) => {
      arrivals.push({ name, at: performance.now() });
      if (name === slow) await new Promise((r) => setTimeout(r, timeoutMs * 2));
    },
    after: (name, result) => (name === short ? oneShort(result) : result),
  });
  supergraphSdl = fixtureSupergraph(subgraphs.url);
  stops.push(await startRouter('reference'), await startRouter('fast'));
});
afterAll(async () => {
  for (const stop of stops) await stop();
  await subgraphs.close();
});
afterEach(() => {
  slow = undefined;
  short = undefined;
});

/** One operation through one router: the JSON body it would send, and the calls it made. */
async function run(kind: 'reference' | 'fast', query: string) {
  for (const list of Object.values(subgraphs.calls)) list.length = 0;
  const body = await executeAnonymously(servers[kind]!, logger, query);
  const calls = Object.fromEntries(
    Object.entries(subgraphs.calls).map(([name, list]) => [name, list.slice()]),
  );
  return { body, calls };
}

/**
 * Both routers' answers: `data` must be byte-identical. Errors must be the same list; their
 * order follows which parallel call landed first, in stock Apollo too, so both are sorted.
 */
async function compare(query: string) {
  const reference = await run('reference', query);
  const fast = await run('fast', query);
  expect(JSON.stringify(fast.body.data)).toBe(JSON.stringify(reference.body.data));
  const sorted = (errors: readonly unknown[] | undefined) =>
    (errors ?? []).map((e) => JSON.stringify(e)).sort();
  expect(sorted(fast.body.errors)).toEqual(sorted(reference.body.errors));
  expect(Object.keys(fast.body)).toEqual(Object.keys(reference.body));
  return { reference, fast };
}

const totalCalls = (calls: Record<string, unknown[]>) =>
  Object.values(calls).reduce((n, list) => n + list.length, 0);

const {
  top: topQuery,
  merged: mergeQuery,
  aliased: aliasQuery,
  search: searchQuery,
} = fixtureQueries;

describe('merged, de-duplicated entity calls', () => {
  it('gives stock results for lists with repeated keys, errors and null propagation', async () => {
    const { reference, fast } = await compare(topQuery);
    // The same errors land at the same paths, one per position asked for.
    const paths = (fast.body.errors ?? []).map((e) => e.path?.join('.'));
    expect(paths).toContain('top.3.inStock');
    expect(paths).toContain('top.4.name');
    expect(paths.filter((p) => p?.endsWith('.inStock')).length).toBeGreaterThan(1);
    expect(fast.body.data?.['top']).toHaveLength(6);
    expect((fast.body.data?.['top'] as unknown[])[4]).toBeNull();
    // No representation sent twice in one call.
    expect(totalCalls(fast.calls)).toBe(totalCalls(reference.calls));
    for (const list of Object.values(fast.calls)) {
      for (const call of list) {
        const reps = (call.variables?.['representations'] ?? []) as unknown[];
        expect(new Set(reps.map((r) => JSON.stringify(r))).size).toBe(reps.length);
      }
    }
  });

  it('merges parallel calls with the same selection into one, fanning answers and errors back', async () => {
    const { reference, fast } = await compare(mergeQuery);
    expect(reference.calls['inventory']).toHaveLength(3);
    expect(fast.calls['inventory']).toHaveLength(1);
    const [merged] = fast.calls['inventory']!;
    const reps = merged!.variables!['representations'] as { upc: string }[];
    expect(reps.map((r) => r.upc).sort()).toEqual(['1', '2', '3', '4']);
    // The error of product 3 lands once per position that asked for it.
    const paths = (fast.body.errors ?? []).map((e) => e.path?.join('.')).sort();
    expect(paths).toEqual(['a.3.inStock', 'b.3.inStock', 'top.4.name']);
  });

  it('sends different selections to one subgraph as one aliased call, splitting the answer', async () => {
    const { reference, fast } = await compare(aliasQuery);
    expect(reference.calls['inventory']).toHaveLength(2);
    expect(fast.calls['inventory']).toHaveLength(1);
    expect(fast.calls['inventory']![0]!.query).toMatch(/_0:_entities\(representations:\$r0\)/);
    const paths = (fast.body.errors ?? []).map((e) => e.path?.join('.')).sort();
    expect(paths).toEqual(['a.3.inStock', 'top.4.name']);
  });

  it('follows a @requires chain over three subgraphs', async () => {
    const { fast } = await compare('{ top { upc deliveryNote } }');
    expect(fast.body.data).toEqual({
      top: [
        { upc: '1', deliveryNote: 'delivery costs 50' },
        { upc: '2', deliveryNote: 'free delivery' },
        { upc: '1', deliveryNote: 'delivery costs 50' },
        { upc: '3', deliveryNote: 'delivery costs 10' },
        { upc: '4', deliveryNote: 'delivery costs 50' },
        { upc: '1', deliveryNote: 'delivery costs 50' },
      ],
    });
  });

  it('handles interfaces, unions and fragments on them', async () => {
    const { fast } = await compare(searchQuery);
    expect(JSON.stringify(fast.body.data)).toContain('"__typename":"Movie"');
  });

  it('gives each caller its own error when a merged call fails inside one entity', async () => {
    const { fast } = await compare(
      '{ top { upc inStock reviews { author { reviews { product { upc inStock } } } } } }',
    );
    expect(fast.calls['inventory']).toHaveLength(2);
    // The subgraph's message is masked by the router's error formatting; the path is not.
    const stockErrors = (fast.body.errors ?? []).filter((e) => e.path?.at(-1) === 'inStock');
    // top.3 and every review path that reaches product 3.
    expect(stockErrors.map((e) => e.path?.join('.'))).toContain('top.3.inStock');
    expect(stockErrors.length).toBeGreaterThanOrEqual(2);
  });

  it('reports a subgraph that returns fewer entities than asked as stock does', async () => {
    short = 'inventory';
    await compare(aliasQuery);
    const { fast } = await compare(topQuery);
    // The shortfall is an unexpected error: answered as a bare INTERNAL_SERVER_ERROR (the
    // formatter masks Apollo's "_entities" message, which stays in the log) with no path.
    const errors = fast.body.errors ?? [];
    expect(errors.some((e) => !e.path && e.extensions?.['code'] === 'INTERNAL_SERVER_ERROR')).toBe(
      true,
    );
    expect(JSON.stringify(errors)).not.toContain('_entities');
  });

  it('maps a subgraph that times out to SERVICE_UNAVAILABLE as stock does', async () => {
    slow = 'accounts';
    const { fast } = await compare(topQuery);
    const codes = (fast.body.errors ?? []).map((e) => e.extensions?.['code']);
    expect(codes).toContain('SERVICE_UNAVAILABLE');
    expect(fast.body.data?.['top']).toHaveLength(6);
  });

  it('does not hold a branch back for a slow subgraph longer than maxWaitMs', async () => {
    slow = 'reviews';
    arrivals.length = 0;
    const started = performance.now();
    // inventory answers at once and leads to a shipping call; reviews hangs until timeout.
    const fast = await run('fast', '{ top { upc deliveryNote reviews { body } } }');
    const shipping = arrivals.find((a) => a.name === 'shipping');
    expect(shipping).toBeDefined();
    expect(shipping!.at - started).toBeLessThan(timeoutMs - 100);
    expect(maxWaitMs).toBeLessThan(timeoutMs - 100);
    expect(JSON.stringify(fast.body.data)).toContain('delivery costs 50');
  });

  it('gives stock results with every fault off', async () => {
    faults.inStockError = faults.nameError = faults.userNameError = false;
    try {
      const { fast } = await compare(topQuery);
      expect(fast.body.errors).toBeUndefined();
      await compare(searchQuery);
    } finally {
      faults.inStockError = faults.nameError = faults.userNameError = true;
    }
  });
});

describe('query plans', () => {
  const workload = path.join(repoRoot, 'tests/bench/federation/workload');
  // A planner change shows up here: the merge relies on the plans' shape (parallel
  // entity fetches to one subgraph with the same selection).
  it.each([
    ['top', topQuery],
    ['search', searchQuery],
    ['benchmark TestQuery', readFileSync(path.join(workload, 'query.graphql'), 'utf8')],
  ])('%s', (name, query) => {
    const sdl =
      name === 'benchmark TestQuery'
        ? readFileSync(path.join(workload, 'supergraph.graphql'), 'utf8')
        : supergraphSdl.replaceAll(subgraphs.url, 'http://subgraphs');
    const supergraph = Supergraph.build(sdl);
    const operation = operationFromDocument(supergraph.schema, parse(query));
    const plan = new QueryPlanner(supergraph).buildQueryPlan(operation);
    expect(prettyFormatQueryPlan(plan)).toMatchSnapshot();
  });
});
