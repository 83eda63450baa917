/**
 * The router's plan executor and result shaping must answer exactly as @apollo/gateway's
 * own `executeQueryPlan` and `computeResponse` do. One router over real HTTP subgraphs
 * runs every operation twice, once with Apollo's functions in place and once with ours
 * (apollo-internals.ts switches them), and the answers are compared byte for byte: data,
 * errors with their paths and codes, extensions. The subgraphs misbehave on purpose: field
 * errors inside entity calls, short `_entities` lists, timeouts, and seeded random damage to
 * their answers (nulls, wrong types, missing keys, bad `__typename`s).
 */
import { createHash } from 'node:crypto';
import { ApolloGateway } from '@apollo/gateway';
import { ApolloServer } from '@apollo/server';
import { createFormatError, createIdentityAssertions } from '@foundation/platform';
import { testLogger } from '@foundation/platform/testing';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  apollo,
  gatewayVersion,
  installFastExecution,
  useExecution,
  verifiedGatewayVersions,
} from '../src/apollo-internals.js';
import type { GatewayContext } from '../src/context.js';
import { executeQueryPlan } from '../src/plan-executor.js';
import { computeResponse } from '../src/result-shaping.js';
import { SubgraphDataSource } from '../src/subgraph-data-source.js';
import {
  faults,
  fixtureQueries,
  fixtureSchemas,
  fixtureSupergraph,
  oneShort,
} from './support/federation-fixture.js';
import { executeAnonymously } from './support/execute.js';
import { startTestSubgraphs, type TestSubgraphs } from './support/subgraph-server.js';

const logger = testLogger();
const assertions = createIdentityAssertions({ secret: 'x'.repeat(48), ttlSeconds: 60 });
const timeoutMs = 300;
const foundation = { executeQueryPlan, computeResponse };

let subgraphs: TestSubgraphs;
let server: ApolloServer<GatewayContext>;
const dataSources: SubgraphDataSource[] = [];
/** Per test: how the subgraphs misbehave. */
let slow: string | undefined;
let short: string | undefined;
let damageSeed: number | undefined;
/** Per test: ask for a usage-reporting trace, as Apollo's usage reporting plugin does. */
let captureTraces = false;
let lastQueryPlanTrace: unknown;

/** A small deterministic hash of a call, so both runs damage the same call the same way. */
function seeded(text: string, seed: number) {
  let state = createHash('sha256').update(`${seed}:${text}`).digest().readUInt32LE(0);
  return () => {
    state = (Math.imul(state ^ (state >>> 15), 0x2c1b3c6d) + 0x6d2b79f5) >>> 0;
    return state / 4294967296;
  };
}

/** Breaks some values of an answer: what a buggy subgraph could send. */
function damage(value: unknown, next: () => number): unknown {
  if (Array.isArray(value)) return value.map((v) => damage(v, next));
  if (value === null || typeof value !== 'object') return value;
  const out: Record<string, unknown> = {};
  for (const [key, v] of Object.entries(value as Record<string, unknown>)) {
    const roll = next();
    if (roll < 0.04) continue; // missing
    if (roll < 0.08) out[key] = null;
    else if (roll < 0.1) out[key] = key === '__typename' ? 'Nope' : 42;
    else if (roll < 0.12) out[key] = typeof v === 'string' ? true : 'text';
    else if (roll < 0.13) out[key] = Array.isArray(v) ? {} : [];
    else out[key] = damage(v, next);
  }
  return out;
}

beforeAll(async () => {
  subgraphs = await startTestSubgraphs({
    schemas: fixtureSchemas(),
    before: async (name) => {
      if (name === slow) await new Promise((r) => setTimeout(r, timeoutMs * 2));
    },
    after: (name, result, body) => {
      let out = name === short ? oneShort(result) : result;
      if (damageSeed !== undefined && out.data) {
        const next = seeded(`${name}:${JSON.stringify(body)}`, damageSeed);
        out = { ...out, data: damage(out.data, next) as Record<string, unknown> };
      }
      return out;
    },
  });
  const gateway = new ApolloGateway({
    supergraphSdl: fixtureSupergraph(subgraphs.url),
    logger,
    buildService: ({ name, url }) => {
      const source = new SubgraphDataSource({ name, url: url!, assertions, timeoutMs });
      dataSources.push(source);
      return source;
    },
  });
  server = new ApolloServer<GatewayContext>({
    gateway,
    logger,
    formatError: createFormatError(logger),
    includeStacktraceInErrorResponses: false,
    plugins: [
      {
        async requestDidStart() {
          return {
            async didResolveOperation(requestContext) {
              requestContext.metrics.captureTraces = captureTraces;
            },

            async willSendResponse(requestContext) {
              lastQueryPlanTrace = requestContext.metrics.queryPlanTrace;
            },
          };
        },
      },
    ],
  });
  await server.start();
});
afterAll(async () => {
  useExecution(apollo);
  await server.stop();
  await Promise.all(dataSources.map((d) => d.close()));
  await subgraphs.close();
});
afterEach(() => {
  slow = short = damageSeed = undefined;
  captureTraces = false;
  faults.inStockError = faults.nameError = faults.userNameError = true;
});

const run = (query: string, variables?: Record<string, unknown>) =>
  executeAnonymously(server, logger, query, variables);

/**
 * Apollo's answer and ours. `data` and `extensions` must be byte-identical; errors the same
 * list, sorted, since their order follows which parallel call landed first (in Apollo too).
 */
async function compare(query: string, variables?: Record<string, unknown>) {
  useExecution(apollo);
  const reference = await run(query, variables);
  useExecution(foundation);
  const ours = await run(query, variables);
  useExecution(apollo);
  const sorted = (errors: readonly unknown[] | undefined) =>
    (errors ?? []).map((e) => JSON.stringify(e)).sort();
  const context = `query: ${query}\nvariables: ${JSON.stringify(variables)}`;
  expect(JSON.stringify(ours.data), context).toBe(JSON.stringify(reference.data));
  expect(sorted(ours.errors), context).toEqual(sorted(reference.errors));
  expect(JSON.stringify(ours.extensions), context).toBe(JSON.stringify(reference.extensions));
  expect(Object.keys(ours), context).toEqual(Object.keys(reference));
  return { reference, ours };
}

const queries: Record<string, string> = {
  ...fixtureQueries,
  requiresChain: `{ top { upc deliveryNote } }`,
  typenames: `{ media { t: __typename __typename ... on Book { id } } search { __typename } }`,
  introspection: `{ __typename __schema { queryType { name } } p: __type(name: "Product") { name fields { name } } top { upc } }`,
  nonNull: `{ top { upc name reviews { author { id name } } } limited }`,
};

const conditional = `query C($withStock: Boolean!, $withReviews: Boolean = true) {
  top {
    upc
    inStock @include(if: $withStock)
    reviews @include(if: $withReviews) { id author @skip(if: $withStock) { name } }
  }
  media @skip(if: $withStock) { id }
}`;

describe('plan executor and result shaping, Apollo vs Foundation', () => {
  it.each(Object.entries(queries))('same answer: %s', async (_, query) => {
    await compare(query);
  });

  it('takes @skip/@include conditions the same way (condition nodes, variables, defaults)', async () => {
    for (const variables of [
      { withStock: true },
      { withStock: false },
      { withStock: true, withReviews: false },
      { withStock: false, withReviews: false },
    ])
      await compare(conditional, variables);
    const { ours } = await compare(conditional, { withStock: false, withReviews: false });
    expect(JSON.stringify(ours.data)).not.toContain('reviews');
    expect(JSON.stringify(ours.data)).toContain('media');
  });

  it('gives the same answers with every fault off', async () => {
    faults.inStockError = faults.nameError = faults.userNameError = false;
    for (const query of Object.values(queries)) {
      const { ours } = await compare(query);
      if (!query.includes('limited')) expect(ours.errors).toBeUndefined();
    }
  });

  it('reports short _entities answers the same way', async () => {
    short = 'inventory';
    const { ours } = await compare(queries['top']!);
    expect(ours.errors?.length).toBeGreaterThan(0);
    short = 'reviews';
    await compare(queries['search']!);
  });

  it('reports a subgraph timing out the same way', async () => {
    slow = 'accounts';
    const { ours } = await compare(queries['top']!);
    expect((ours.errors ?? []).map((e) => e.extensions?.['code'])).toContain('SERVICE_UNAVAILABLE');
  });

  it('gives the same answers when subgraphs send damaged data (30 seeds)', async () => {
    let withErrors = 0;
    for (let seed = 1; seed <= 30; seed++) {
      damageSeed = seed;
      for (const name of ['top', 'search', 'typenames'] as const) {
        const { ours } = await compare(queries[name]!);
        if (ours.errors?.length || ours.extensions) withErrors++;
      }
    }
    // The damage does reach the answers: most of them carry errors.
    expect(withErrors).toBeGreaterThan(45);
  });
});

describe('what the executor leaves to Apollo', () => {
  it('gives a plan captured for usage reporting to Apollo, which records its trace', async () => {
    useExecution(foundation);
    try {
      await run(queries['requiresChain']!);
      expect(lastQueryPlanTrace).toBeUndefined();
      captureTraces = true;
      const body = await run(queries['requiresChain']!);
      expect(lastQueryPlanTrace).toBeDefined();
      expect(JSON.stringify(body.data)).toContain('delivery costs 50');
    } finally {
      useExecution(apollo);
    }
  });
});

describe('useExecution', () => {
  it('is verified against the @apollo/gateway release installed', () => {
    // A dependency bump lands here first: rerun this file and result-shaping.test.ts against
    // the new release, then add it to verifiedGatewayVersions.
    expect(verifiedGatewayVersions).toContain(gatewayVersion);
    const warnings: string[] = [];
    expect(installFastExecution(foundation, (m) => warnings.push(m))).toBe(true);
    useExecution(apollo);
    expect(warnings).toEqual([]);
  });

  it('switches the functions @apollo/gateway calls', async () => {
    const { createRequire } = await import('node:module');
    const require = createRequire(import.meta.url);
    const planModule = require('@apollo/gateway/dist/executeQueryPlan.js') as {
      executeQueryPlan: unknown;
    };
    const shapingModule = require('@apollo/gateway/dist/resultShaping.js') as {
      computeResponse: unknown;
    };
    useExecution(foundation);
    expect(planModule.executeQueryPlan).toBe(executeQueryPlan);
    expect(shapingModule.computeResponse).toBe(computeResponse);
    useExecution(apollo);
    expect(planModule.executeQueryPlan).toBe(apollo.executeQueryPlan);
    expect(shapingModule.computeResponse).toBe(apollo.computeResponse);
  });
});
