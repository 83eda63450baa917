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
  type Config,
  type IdentityAssertions,
  type Logger,
  type Metrics,
  type Principal,
  type RequestInfo,
  type RequestListener,
  type Stores,
} from '@foundation/platform';
import { createApiKeyVerifier } from './api-keys.js';
import { createAuthenticator } from './authenticate.js';
import type { GatewayContext } from './context.js';
import * as apolloInternals from './apollo-internals.js';
import { executeQueryPlan } from './plan-executor.js';
import { computeResponse } from './result-shaping.js';
import { SubgraphDataSource } from './subgraph-data-source.js';
import { supergraphFromFile } from './supergraph-file.js';
import { clientOf } from './subscriptions/client-info.js';
import {
  createRouterSubscriptions,
  defaultSubscriptionOptions,
  type RouterSubscriptions,
} from './subscriptions/index.js';

export type { GatewayContext } from './context.js';
export { createApiKeyVerifier, type ApiKeyVerifier } from './api-keys.js';
export { createAuthenticator, type Authenticator } from './authenticate.js';

/** What the router needs from its host process. */
export interface GatewayOptions {
  config: Pick<Config, 'env' | 'gateway' | 'subgraphs'> & Partial<Pick<Config, 'subscriptions'>>;
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
  /** HTTP, and graphql-ws, SSE and multipart subscriptions, on the same /graphql. */
  listener: RequestListener;
  serviceListener: RequestListener;
  /** Served at `/metrics` on the public listener. */
  metrics: Metrics;
  /** Federated subscriptions (the hub is exposed for tests and diagnostics). */
  subscriptions: RouterSubscriptions;
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
  // Subscriptions run each event's entity work through these same data sources.
  const dataSources = new Map<string, SubgraphDataSource>();
  // @apollo/gateway otherwise probes cloud metadata endpoints (169.254.169.254 …) and sends
  // usage telemetry to Apollo's servers from every router. Foundation's routers talk only to
  // their subgraphs; an operator who wants it sets APOLLO_TELEMETRY_DISABLED=false.
  process.env['APOLLO_TELEMETRY_DISABLED'] ??= 'true';
  // Apollo's gateway walks plans and shapes results with our equivalent, faster code (same
  // output, tested against Apollo's); on an unverified @apollo/gateway release, its own.
  if (config.gateway.fastExecution)
    apolloInternals.installFastExecution({ executeQueryPlan, computeResponse }, (message) =>
      logger.warn(message),
    );
  else apolloInternals.useExecution(apolloInternals.apollo);
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
      // A supergraph reload asks again for every subgraph: keep the one we have (and its
      // warm connection pool) rather than leak a pool per reload.
      const existing = dataSources.get(name);
      if (existing?.url === configured) return existing;
      void existing?.close();
      const dataSource = new SubgraphDataSource({
        name,
        url: configured,
        assertions: options.assertions,
        timeoutMs: config.gateway.subgraphTimeoutMs,
      });
      dataSources.set(name, dataSource);
      return dataSource;
    },
  });
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
      registry: metrics.registry,
    }),
    logger,
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
  const subscriptions = createRouterSubscriptions({
    options: config.subscriptions ?? defaultSubscriptionOptions,
    apollo,
    dataSources,
    urlOf: (name) => {
      const url = urls.get(name);
      if (!url)
        throw new Error(`No URL for subgraph "${name}": add subgraphs.${name}.url to config`);
      return url;
    },
    authenticators: {
      public: (headers) => authenticator.publicCaller(headers),
      service: (headers) => authenticator.serviceCaller(headers),
    },
    metrics,
    logger,
  });
  // Before start: the first supergraph is announced while the server starts.
  gateway.onSchemaLoadOrUpdate(({ coreSupergraphSdl }) =>
    subscriptions.onSupergraph(coreSupergraphSdl),
  );
  await apollo.start();
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
  // Ready when the router can authenticate: the stores (sessions, revocations) answer and
  // the database (API keys) does. Liveness (`/health`) does not depend on them.
  const ready = async () => options.stores.ready() && (await options.db.ping());
  const listener = createGraphQLRequestListener<GatewayContext>({
    apollo,
    logger,
    metrics,
    ready,
    context: contextFor(({ req }) => authenticator.publicCaller(req.headers)),
    intercept: subscriptions.intercept.public,
  });
  const serviceListener = createGraphQLRequestListener<GatewayContext>({
    apollo,
    logger,
    metrics,
    ready,
    context: contextFor(({ req }) => authenticator.serviceCaller(req.headers)),
    intercept: subscriptions.intercept.service,
  });
  return {
    listener: Object.assign(listener, { upgrade: subscriptions.upgrade.public }),
    serviceListener: Object.assign(serviceListener, { upgrade: subscriptions.upgrade.service }),
    metrics,
    subscriptions,
    async stop() {
      subscriptions.stop();
      await apollo.stop();
      await Promise.all([...dataSources.values()].map((d) => d.close()));
    },
  };
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
