import path from 'node:path';
import { ApolloGateway } from '@apollo/gateway';
import { ApolloServer, type ApolloServerPlugin } from '@apollo/server';
import { isDatabaseUnavailable, type Database } from '@foundation/db';
import {
  codeOf,
  createFormatError,
  createMetrics,
  metricsPlugin,
  createGraphQLRequestListener,
  ErrorCode,
  repoRoot,
  type AccessTokens,
  type ClientInfo,
  type Config,
  type IdentityAssertions,
  type Logger,
  type Metrics,
  type Principal,
  type RequestInfo,
  type Stores,
} from '@foundation/platform';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createApiKeyVerifier } from './api-keys.js';
import { createAuthenticator } from './authenticate.js';
import type { GatewayContext } from './context.js';
import { SubgraphDataSource } from './subgraph-data-source.js';
import { supergraphFromFile } from './supergraph-file.js';

export type { GatewayContext } from './context.js';
export { createApiKeyVerifier, type ApiKeyVerifier } from './api-keys.js';
export { createAuthenticator, type Authenticator } from './authenticate.js';

/** What the router needs from its host process. */
export interface GatewayOptions {
  config: Pick<Config, 'env' | 'gateway' | 'subgraphs'>;
  logger: Logger;
  accessTokens: AccessTokens;
  assertions: IdentityAssertions;
  /** Sessions and revocations (written by the auth subgraph), and the API key cache. */
  stores: Stores;
  /** Where API keys are looked up. */
  db: Database;
  /** Where its metrics go. @default a new registry labelled `gateway` */
  metrics?: Metrics;
}

/**
 * The router, started but not listening. Bind `listener` (public: access tokens and
 * anonymous callers) and `serviceListener` (API keys only) with `listen()`.
 */
export interface Gateway {
  listener: (req: IncomingMessage, res: ServerResponse) => void;
  serviceListener: (req: IncomingMessage, res: ServerResponse) => void;
  /** Served at `/metrics` on the public listener. */
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
    // API key lookups read the database: while it is down, callers with a key get
    // SERVICE_UNAVAILABLE rather than an internal error.
    formatError: createFormatError(logger, {
      isUnavailable: isDatabaseUnavailable,
      unavailableMessage: 'The database is unavailable; try again shortly',
    }),
    includeStacktraceInErrorResponses: false,
    // runService owns shutdown; Apollo's own signal handlers would race it.
    stopOnTerminationSignals: false,
    introspection: config.env !== 'production',
    plugins: [requestLogging(), rateLimitStatus(), metricsPlugin<GatewayContext>(metrics)],
  });
  await apollo.start();
  const authenticator = createAuthenticator({
    accessTokens: options.accessTokens,
    sessions: options.stores.sessions,
    revocations: options.stores.revocations,
    apiKeys: createApiKeyVerifier({
      // The primary: a replica that has not seen a revocation yet would let the key in, and
      // the answer is cached.
      prisma: options.db.primary,
      cache: options.stores.cache,
      cacheTtlSeconds: config.gateway.apiKeyCacheTtlSeconds,
      logger,
    }),
    logger,
  });
  // A bad credential fails the whole request with 401 (a client sending a bad token
  // wants to know, not to be silently treated as anonymous).
  const contextFor =
    (authenticate: (info: RequestInfo) => Promise<Principal>) =>
    async (info: RequestInfo): Promise<GatewayContext> => ({
      principal: await authenticate(info),
      client: clientOf(info.req),
      requestId: info.requestId,
      logger: info.logger,
    });
  const listener = createGraphQLRequestListener<GatewayContext>({
    apollo,
    logger,
    metrics,
    context: contextFor(({ req }) => authenticator.publicCaller(req.headers)),
  });
  const serviceListener = createGraphQLRequestListener<GatewayContext>({
    apollo,
    logger,
    metrics,
    context: contextFor(({ req }) => authenticator.serviceCaller(req.headers)),
  });
  return { listener, serviceListener, metrics, stop: () => apollo.stop() };
}

/**
 * The caller as this router saw it. The socket's address, not `X-Forwarded-For`, which
 * any client can write; behind a proxy, every caller has the proxy's address.
 */
function clientOf(req: IncomingMessage): ClientInfo {
  const ip = req.socket.remoteAddress?.replace(/^::ffff:/, '') ?? null;
  const agent = req.headers['user-agent'];
  return { ip, userAgent: agent ? agent.slice(0, 512) : null };
}

/**
 * A request refused as a whole for too many attempts (no data, only RATE_LIMITED errors,
 * e.g. a login) is answered with HTTP 429 and `Retry-After`, so clients and proxies that
 * know HTTP back off without parsing GraphQL.
 */
function rateLimitStatus(): ApolloServerPlugin<GatewayContext> {
  return {
    async requestDidStart() {
      return {
        async willSendResponse({ response }) {
          if (response.body.kind !== 'single') return;
          const { data, errors } = response.body.singleResult;
          if ((data !== null && data !== undefined) || !errors?.length) return;
          if (!errors.every((e) => codeOf(e) === ErrorCode.RATE_LIMITED)) return;
          const retryAfter = Math.max(
            1,
            ...errors.map((e) => Number(e.extensions?.['retryAfterSeconds']) || 1),
          );
          response.http.status = 429;
          response.http.headers.set('retry-after', String(retryAfter));
        },
      };
    },
  };
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
