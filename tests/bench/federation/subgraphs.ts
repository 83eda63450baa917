/**
 * The benchmark's four subgraphs in Node: @apollo/subgraph schemas over the data of
 * workload.ts, served by graphql-js behind node:http with a parse/validate cache, on one
 * port at `/<name>`. `/stats` counts the requests each has served.
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { buildSubgraphSchema } from '@apollo/subgraph';
import {
  execute as executeGraphQL,
  parse,
  validate,
  type DocumentNode,
  type GraphQLError,
  type GraphQLSchema,
} from 'graphql';
import { subgraphNames, subgraphSdl, tablesFromExpected, type SubgraphName } from './workload.js';

/** Requests served per subgraph since start (or the last reset). */
export type SubgraphCounts = Record<string, number>;

/** A running set of subgraphs on one port. */
export interface SubgraphServer {
  /** Base URL; each subgraph is at `${url}/${name}`. */
  url: string;
  counts: SubgraphCounts;
  close(): Promise<void>;
}

/** The benchmark's resolvers, as the Rust subgraphs of the public benchmark behave. */
export function benchmarkSchemas(): Record<SubgraphName, GraphQLSchema> {
  const t = tablesFromExpected();
  const user = (id: string) => t.users.get(id) ?? null;
  const product = (upc: string) => t.products.get(upc) ?? null;
  const review = (id: string) => t.reviews.get(id) ?? null;
  const resolvers: Record<SubgraphName, Record<string, Record<string, unknown>>> = {
    accounts: {
      Query: {
        me: () => user('1'),
        user: (_: unknown, { id }: { id: string }) => user(id),
        users: () => t.userOrder.map(user),
      },
      User: { __resolveReference: ({ id }: { id: string }) => user(id) },
    },
    products: {
      Query: {
        topProducts: (_: unknown, { first }: { first: number }) =>
          t.productOrder.slice(0, first).map(product),
      },
      Product: { __resolveReference: ({ upc }: { upc: string }) => product(upc) },
    },
    inventory: {
      Product: {
        __resolveReference: (ref: { upc: string; price?: number; weight?: number }) => {
          const row = product(ref.upc);
          return row && { ...ref, inStock: row.inStock };
        },
        // The published expected response has null here for every product; the @requires
        // fields must still have arrived, or the plan was wrong.
        shippingEstimate: (p: { price?: unknown; weight?: unknown }) => {
          if (typeof p.price !== 'number' || typeof p.weight !== 'number')
            throw new Error('shippingEstimate needs price and weight (@requires)');
          return null;
        },
      },
    },
    reviews: {
      Review: {
        __resolveReference: ({ id }: { id: string }) => review(id),
        author: (r: { authorId: string }) => {
          const u = user(r.authorId);
          return u && { id: u.id, username: u.username };
        },
        product: (r: { productUpc: string }) => ({ upc: r.productUpc }),
      },
      User: {
        __resolveReference: ({ id }: { id: string }) => ({ id }),
        reviews: ({ id }: { id: string }) => (user(id)?.reviewIds ?? []).map(review),
      },
      Product: {
        __resolveReference: ({ upc }: { upc: string }) => ({ upc }),
        reviews: ({ upc }: { upc: string }) => (product(upc)?.reviewIds ?? []).map(review),
      },
    },
  };
  return Object.fromEntries(
    subgraphNames.map((name) => [
      name,
      buildSubgraphSchema({
        typeDefs: parse(subgraphSdl(name)),
        resolvers: resolvers[name] as never,
      }),
    ]),
  ) as Record<SubgraphName, GraphQLSchema>;
}

/** Options of {@link startSubgraphs}. */
export interface SubgraphServerOptions {
  schemas: Record<string, GraphQLSchema>;
  /** 0 picks a free port. */
  port?: number;
  /**
   * Answer a request body seen before from memory. The data never changes, so the answer is
   * the same; it keeps the subgraphs (which share a core with the load generator) from being
   * what the benchmark measures, as the public benchmark's Rust subgraphs are not.
   */
  memoize?: boolean;
  /** Called before each request is executed; may delay or fail it (for tests). */
  before?: (name: string, body: { query: string; variables?: unknown }) => Promise<void> | void;
}

/** Serves GraphQL schemas at `/<name>` on one loopback port. */
export async function startSubgraphs(options: SubgraphServerOptions): Promise<SubgraphServer> {
  const counts: SubgraphCounts = Object.fromEntries(
    Object.keys(options.schemas).map((n) => [n, 0]),
  );
  const documents = new Map<string, DocumentNode | readonly GraphQLError[]>();
  const answers = new Map<string, string>();
  const server: Server = createServer({ keepAliveTimeout: 65_000 }, (req, res) => {
    const name = (req.url ?? '/').slice(1).split('?', 1)[0] ?? '';
    if (name === 'stats') {
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify(counts));
      return;
    }
    const schema = options.schemas[name];
    if (!schema || req.method !== 'POST') {
      res.statusCode = 404;
      res.end();
      return;
    }
    counts[name] = (counts[name] ?? 0) + 1;
    void handle(name, schema, req).then(
      (result) => {
        res.setHeader('content-type', 'application/json');
        res.end(result);
      },
      (err: unknown) => {
        res.statusCode = 500;
        res.end(String(err));
      },
    );
  });

  async function handle(name: string, schema: GraphQLSchema, req: IncomingMessage) {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const raw = Buffer.concat(chunks).toString('utf8');
    const memoKey = `${name}\n${raw}`;
    const memoized = options.memoize ? answers.get(memoKey) : undefined;
    if (memoized !== undefined) return memoized;
    const answer = JSON.stringify(await execute(name, schema, raw));
    if (options.memoize) {
      if (answers.size >= 10_000) answers.clear();
      answers.set(memoKey, answer);
    }
    return answer;
  }

  async function execute(name: string, schema: GraphQLSchema, raw: string) {
    const body = JSON.parse(raw) as {
      query: string;
      variables?: Record<string, unknown>;
      operationName?: string;
    };
    await options.before?.(name, body);
    const key = `${name}\n${body.query}`;
    let document = documents.get(key);
    if (!document) {
      const parsed = parse(body.query);
      const errors = validate(schema, parsed);
      document = errors.length > 0 ? errors : parsed;
      documents.set(key, document);
    }
    if (Array.isArray(document)) return { errors: document };
    return executeGraphQL({
      schema,
      document: document as DocumentNode,
      variableValues: body.variables ?? null,
      operationName: body.operationName ?? null,
    });
  }

  await new Promise<void>((resolve) => server.listen(options.port ?? 0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    counts,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
