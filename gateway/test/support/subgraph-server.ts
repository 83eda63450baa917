/**
 * Real HTTP subgraphs for router tests: GraphQL schemas served by graphql-js at `/<name>`
 * on one free loopback port, counting the calls each gets, with hooks to delay a call or
 * doctor its answer (a slow or misbehaving subgraph).
 */
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createRequire } from 'node:module';
import type * as GraphQL from 'graphql';
import type { ExecutionResult, GraphQLSchema } from 'graphql';

// graphql's CommonJS build, the one @apollo/subgraph builds schemas with: under an ESM
// loader `import 'graphql'` would load the .mjs copy, and graphql-js refuses a schema
// from "another realm".
const { execute, parse, validate } = createRequire(import.meta.url)('graphql') as typeof GraphQL;

/** A GraphQL request as a subgraph receives it. */
export interface SubgraphRequestBody {
  query: string;
  variables?: Record<string, unknown>;
  operationName?: string;
}

/** Options of {@link startTestSubgraphs}. */
export interface TestSubgraphsOptions {
  schemas: Record<string, GraphQLSchema>;
  /** Runs before a call is executed; may wait (a slow subgraph). */
  before?: (name: string, body: SubgraphRequestBody) => Promise<void> | void;
  /** May change an answer before it is sent (a misbehaving subgraph). */
  after?: (name: string, result: ExecutionResult, body: SubgraphRequestBody) => ExecutionResult;
}

/** Running subgraphs: `url/<name>` each, and the calls (bodies) each has received. */
export interface TestSubgraphs {
  url: string;
  calls: Record<string, SubgraphRequestBody[]>;
  close(): Promise<void>;
}

/** Starts the subgraphs on a free loopback port. */
export async function startTestSubgraphs(options: TestSubgraphsOptions): Promise<TestSubgraphs> {
  const calls: Record<string, SubgraphRequestBody[]> = {};
  for (const name of Object.keys(options.schemas)) calls[name] = [];
  const server = createServer((req, res) => {
    const name = (req.url ?? '/').slice(1);
    const schema = options.schemas[name];
    if (!schema || req.method !== 'POST') {
      res.statusCode = 404;
      res.end();
      return;
    }
    handle(name, schema, req).then(
      (result) => {
        res.setHeader('content-type', 'application/json');
        res.end(JSON.stringify(result));
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
    const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as SubgraphRequestBody;
    calls[name]!.push(body);
    await options.before?.(name, body);
    const document = parse(body.query);
    const errors = validate(schema, document);
    const result: ExecutionResult =
      errors.length > 0
        ? { errors }
        : await execute({
            schema,
            document,
            variableValues: body.variables ?? null,
            operationName: body.operationName ?? null,
          });
    return options.after ? options.after(name, result, body) : result;
  }

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    calls,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
