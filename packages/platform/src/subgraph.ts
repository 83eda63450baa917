import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { IncomingMessage } from 'node:http';
import { ApolloServer, type ApolloServerPlugin } from '@apollo/server';
import { ApolloServerPluginInlineTraceDisabled } from '@apollo/server/plugin/disabled';
import { buildSubgraphSchema } from '@apollo/subgraph';
import type { GraphQLResolverMap } from '@apollo/subgraph/dist/schema-helper/resolverMap.js';
import { parse } from 'graphql';
import { repoRoot } from './config.js';
import { createFormatError } from './errors.js';
import { createSubgraphWebSocket } from './graphql-ws-server.js';
import { createGraphQLRequestListener, type RequestListener } from './http.js';
import { enforceAuthorization } from './authorization.js';
import {
  CLIENT_IP_HEADER,
  CLIENT_USER_AGENT_HEADER,
  IDENTITY_ASSERTION_HEADER,
  type IdentityAssertions,
  type Principal,
} from './identity.js';
import type { Logger } from './logger.js';
import { createMetrics, metricsPlugin, type Metrics } from './metrics.js';

/** What every subgraph resolver can rely on in its context. */
export interface SubgraphContext {
  /** Who is calling, as asserted by the router. */
  principal: Principal;
  /** Where the call came from, as the router saw it (for sessions and rate limits). */
  client: ClientInfo;
  requestId: string;
  /** Bound to the request id. */
  logger: Logger;
}

/** The caller's address and user agent; null when the router did not say. */
export interface ClientInfo {
  ip: string | null;
  userAgent: string | null;
}

export interface SubgraphOptions<TContext extends SubgraphContext> {
  /** Names the SDL file `schema/<name>.graphql` and tags log lines. */
  name: string;
  /** Resolvers typed by the subgraph's generated `__generated__/resolvers-types.ts`. */
  resolvers: unknown;
  logger: Logger;
  assertions: IdentityAssertions;
  /** Adds the subgraph's own per-request state (DataLoaders, repositories) to the base context. */
  context: (base: SubgraphContext) => TContext;
  /** Answers `/ready` (e.g. the search index is built, the database answers). */
  ready?: () => boolean | Promise<boolean>;
  /**
   * Recognises errors that mean a dependency (the database) is unavailable: clients get
   * SERVICE_UNAVAILABLE for them rather than INTERNAL_SERVER_ERROR.
   */
  isUnavailable?: (error: unknown) => boolean;
  /** Where its metrics go. @default a new registry labelled with `name` */
  metrics?: Metrics;
}

/** A subgraph server that is started but not listening; bind `listener` with `listen()`. */
export interface Subgraph {
  name: string;
  /** HTTP, and graphql-ws (subscriptions) on the same port and path. */
  listener: RequestListener;
  /** Served at `/metrics`; a subgraph may add its own series to the registry. */
  metrics: Metrics;
  stop(): Promise<void>;
}

/** Reads the SDL of a subgraph from `schema/<name>.graphql`, the single source of truth. */
export function readSubgraphSdl(name: string): string {
  return readFileSync(path.join(repoRoot, 'schema', `${name}.graphql`), 'utf8');
}

/**
 * Builds a federation subgraph from its SDL file and resolvers. Every request must carry a
 * valid identity assertion from the router, so a caller reaching the port directly gets 401.
 */
export async function createSubgraph<TContext extends SubgraphContext>(
  options: SubgraphOptions<TContext>,
): Promise<Subgraph> {
  const schema = enforceAuthorization(
    buildSubgraphSchema({
      typeDefs: parse(readSubgraphSdl(options.name)),
      resolvers: options.resolvers as GraphQLResolverMap<unknown>,
    }),
  );
  const metrics = options.metrics ?? createMetrics({ service: options.name });
  const apollo = new ApolloServer<TContext>({
    schema,
    logger: options.logger,
    formatError: createFormatError(
      options.logger,
      options.isUnavailable
        ? {
            isUnavailable: options.isUnavailable,
            unavailableMessage: 'The database is unavailable; try again shortly',
          }
        : {},
    ),
    includeStacktraceInErrorResponses: false,
    // runService owns shutdown; Apollo's own signal handlers would race it.
    stopOnTerminationSignals: false,
    // Inline traces (ftv1) feed Apollo's hosted usage reporting, which we do not use; they
    // would cost every traced request.
    plugins: [
      ApolloServerPluginInlineTraceDisabled(),
      requestLogging<TContext>(),
      metricsPlugin<TContext>(metrics),
    ],
  });
  await apollo.start();
  const listener = createGraphQLRequestListener<TContext>({
    apollo,
    logger: options.logger,
    metrics,
    ...(options.ready ? { ready: options.ready } : {}),
    async context({ req, requestId, logger }) {
      const header = req.headers[IDENTITY_ASSERTION_HEADER];
      const principal = await options.assertions.verify(
        typeof header === 'string' ? header : undefined,
      );
      // Only now, with the router's assertion verified, are its other headers believed.
      const client = {
        ip: headerOf(req, CLIENT_IP_HEADER),
        userAgent: headerOf(req, CLIENT_USER_AGENT_HEADER),
      };
      return options.context({ principal, client, requestId, logger });
    },
  });
  // Subscriptions (and any operation) over graphql-ws, behind the same assertion check.
  const upgrade = createSubgraphWebSocket<TContext>({
    schema,
    assertions: options.assertions,
    logger: options.logger,
    context: options.context,
  });
  return {
    name: options.name,
    listener: Object.assign(listener, { upgrade }),
    metrics,
    async stop() {
      upgrade.closeAll();
      await apollo.stop();
    },
  };
}

function headerOf(req: IncomingMessage, name: string): string | null {
  const value = req.headers[name];
  return typeof value === 'string' && value !== '' ? value : null;
}

/** Logs each operation once, at debug level, with its duration and error count. */
function requestLogging<TContext extends SubgraphContext>(): ApolloServerPlugin<TContext> {
  return {
    async requestDidStart({ contextValue }) {
      const started = performance.now();
      return {
        async willSendResponse({ operationName, errors }) {
          contextValue.logger.debug(
            {
              op: operationName,
              ms: Math.round(performance.now() - started),
              errors: errors?.length ?? 0,
            },
            'operation',
          );
        },
      };
    },
  };
}
