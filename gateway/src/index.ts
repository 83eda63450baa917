import path from 'node:path';
import { ApolloGateway } from '@apollo/gateway';
import { ApolloServer, type ApolloServerPlugin } from '@apollo/server';
import {
  anonymous,
  createFormatError,
  createMetrics,
  metricsPlugin,
  createGraphQLRequestListener,
  ErrorCode,
  foundationError,
  repoRoot,
  type AccessTokens,
  type Config,
  type IdentityAssertions,
  type Logger,
  type Metrics,
  type Principal,
} from '@foundation/platform';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { GatewayContext } from './context.js';
import { SubgraphDataSource } from './subgraph-data-source.js';
import { supergraphFromFile } from './supergraph-file.js';

export type { GatewayContext } from './context.js';

/** What the router needs from its host process. */
export interface GatewayOptions {
  config: Pick<Config, 'env' | 'gateway' | 'subgraphs'>;
  logger: Logger;
  accessTokens: AccessTokens;
  assertions: IdentityAssertions;
  /** Where its metrics go. @default a new registry labelled `gateway` */
  metrics?: Metrics;
}

/** The router, started but not listening; bind `listener` with `listen()`. */
export interface Gateway {
  listener: (req: IncomingMessage, res: ServerResponse) => void;
  /** Served at `/metrics`. */
  metrics: Metrics;
  stop(): Promise<void>;
}

/**
 * Builds the router: it authenticates the caller, plans each operation over the
 * supergraph and calls the subgraphs at the URLs of config (not those in the file).
 */
export async function createGateway(options: GatewayOptions): Promise<Gateway> {
  const { config, logger } = options;
  const metrics = options.metrics ?? createMetrics({ service: 'gateway' });
  const urls = new Map(Object.entries(config.subgraphs).map(([name, s]) => [name, s.url]));
  const gateway = new ApolloGateway({
    supergraphSdl: supergraphFromFile(
      path.resolve(repoRoot, config.gateway.supergraphPath),
      logger,
    ),
    logger,
    buildService: ({ name, url }) => {
      const configured = urls.get(name) ?? url;
      if (!configured)
        throw new Error(`No URL for subgraph "${name}": add subgraphs.${name}.url to config`);
      return new SubgraphDataSource({
        name,
        url: configured,
        assertions: options.assertions,
        timeoutMs: config.gateway.subgraphTimeoutMs,
      });
    },
  });
  const apollo = new ApolloServer<GatewayContext>({
    gateway,
    logger,
    formatError: createFormatError(logger),
    includeStacktraceInErrorResponses: false,
    // runService owns shutdown; Apollo's own signal handlers would race it.
    stopOnTerminationSignals: false,
    introspection: config.env !== 'production',
    plugins: [requestLogging(), metricsPlugin<GatewayContext>(metrics)],
  });
  await apollo.start();
  const listener = createGraphQLRequestListener<GatewayContext>({
    apollo,
    logger,
    metrics,
    context: async ({ req, requestId, logger: requestLogger }) => ({
      principal: await authenticate(req.headers.authorization, options.accessTokens),
      requestId,
      logger: requestLogger,
    }),
  });
  return { listener, metrics, stop: () => apollo.stop() };
}

/**
 * No Authorization header: anonymous. A Bearer token: it must be valid, or the whole
 * request fails with 401 (a client sending a bad token wants to know, not to be
 * silently treated as anonymous).
 */
async function authenticate(header: string | undefined, tokens: AccessTokens): Promise<Principal> {
  if (header === undefined || header === '') return anonymous;
  const [scheme, token] = header.split(' ');
  if (scheme?.toLowerCase() !== 'bearer' || !token) {
    throw foundationError(ErrorCode.UNAUTHENTICATED, 'Authorization must be "Bearer <token>"', {
      http: { status: 401 },
    });
  }
  const { userId, username } = await tokens.verify(token);
  return { kind: 'user', userId, username };
}

/** One log line per operation, with its outcome. */
function requestLogging(): ApolloServerPlugin<GatewayContext> {
  return {
    async requestDidStart({ contextValue }) {
      const started = performance.now();
      return {
        async willSendResponse({ operationName, errors, response }) {
          const codes = errors?.map((e) => e.extensions['code'] ?? 'UNKNOWN');
          contextValue.logger.info(
            {
              op: operationName,
              status: response.http.status ?? 200,
              ms: Math.round(performance.now() - started),
              ...(codes?.length ? { errors: codes } : {}),
            },
            'graphql request',
          );
        },
      };
    },
  };
}
