import type { IncomingHttpHeaders } from 'node:http';
import type { GraphQLDataSource, ServiceMap } from '@apollo/gateway';
import type { ApolloServer } from '@apollo/server';
import { print, type ExecutionArgs, type ExecutionResult } from 'graphql';
import type {
  InterceptedRequest,
  Logger,
  Metrics,
  Principal,
  UpgradeHandler,
} from '@foundation/platform';
import type { GatewayContext } from '../context.js';
import { toGraphQLError } from './event-executor.js';
import { createHttpStreams } from './http-streams.js';
import { createRouterWebSocket } from './router-websocket.js';
import {
  createSubscriptionHub,
  supergraphChangedError,
  type SubscriptionHub,
  type SubscriptionLimits,
} from './subscription-hub.js';
import { createSubscriptionMetrics } from './subscription-metrics.js';
import { createSubscriptionPlanner, type SubscriptionPlanner } from './subscription-planner.js';
import type { UpstreamOptions, Upstream } from './upstream.js';

export { createSubscriptionPlanner, type SubscriptionPlanner } from './subscription-planner.js';
export type { SubscriptionHub, SubscriptionLimits } from './subscription-hub.js';

/** The `subscriptions` section of config. */
export interface SubscriptionOptions extends SubscriptionLimits {
  /** Most open subscriptions on one client connection (graphql-ws). */
  maxPerConnection: number;
  /** How often a long-lived connection's credential is checked again, in seconds. */
  authRecheckSeconds: number;
}

/** Defaults used when the host passes no `subscriptions` config. */
export const defaultSubscriptionOptions: SubscriptionOptions = {
  maxPerConnection: 100,
  maxPerPrincipal: 500,
  queueSize: 128,
  keepAliveMs: 12_000,
  upstreamRetryAttempts: 5,
  upstreamRetryMaxDelayMs: 5_000,
  authRecheckSeconds: 30,
};

/** What the router hands its subscription support. */
export interface RouterSubscriptionsOptions {
  options: SubscriptionOptions;
  apollo: ApolloServer<GatewayContext>;
  /** The data sources the gateway built (buildService), by subgraph name. */
  dataSources: ReadonlyMap<string, GraphQLDataSource>;
  urlOf: (serviceName: string) => string;
  authenticators: {
    public: (headers: IncomingHttpHeaders) => Promise<Principal>;
    service: (headers: IncomingHttpHeaders) => Promise<Principal>;
  };
  metrics: Metrics;
  logger: Logger;
  /** Replaces how upstream subscriptions are opened (tests). */
  openUpstream?: (options: UpstreamOptions) => Upstream;
}

/** Subscriptions on the router: graphql-ws, SSE and multipart on both listeners. */
export interface RouterSubscriptions {
  hub: SubscriptionHub;
  /** graphql-ws on the public and service listeners. */
  upgrade: { public: UpgradeHandler; service: UpgradeHandler };
  /** SSE and multipart subscriptions, before Apollo Server sees the request. */
  intercept: {
    public: (request: InterceptedRequest) => Promise<boolean>;
    service: (request: InterceptedRequest) => Promise<boolean>;
  };
  /** Give it every supergraph the gateway loads (`onSchemaLoadOrUpdate`). */
  onSupergraph(supergraphSdl: string): void;
  /** Ends every subscription and closes every socket. */
  stop(): void;
}

/**
 * Federated subscriptions for `@apollo/gateway`, which has none: each subscription is
 * planned over the supergraph, its primary part opened on the owning subgraph over
 * graphql-ws, and each event's entity work run with the gateway's own executor and data
 * sources. Identical subscriptions of the same identity share all of it.
 */
export function createRouterSubscriptions(opts: RouterSubscriptionsOptions): RouterSubscriptions {
  const { options, logger } = opts;
  const metrics = createSubscriptionMetrics(opts.metrics);
  let planner: SubscriptionPlanner | undefined;
  let currentSdl: string | undefined;
  const current = () => {
    if (!planner) throw new Error('No supergraph loaded yet');
    return planner;
  };
  const hub = createSubscriptionHub({
    planner: current,
    services: (): ServiceMap => Object.fromEntries(opts.dataSources),
    urlOf: opts.urlOf,
    identityHeaders: (name, context) => identityHeaders(opts.dataSources.get(name), context),
    limits: options,
    metrics,
    logger,
    ...(opts.openUpstream ? { openUpstream: opts.openUpstream } : {}),
  });
  const execute = async (args: ExecutionArgs): Promise<ExecutionResult> => {
    const response = await opts.apollo.executeOperation(
      {
        query: print(args.document),
        ...(args.variableValues ? { variables: { ...args.variableValues } } : {}),
        ...(args.operationName ? { operationName: args.operationName } : {}),
      },
      { contextValue: args.contextValue as GatewayContext },
    );
    if (response.body.kind !== 'single') {
      return {
        errors: [toGraphQLError({ message: 'Incremental delivery is not served over graphql-ws' })],
      };
    }
    const { data, errors } = response.body.singleResult;
    return {
      ...(data !== undefined ? { data } : {}),
      ...(errors?.length ? { errors: errors.map(toGraphQLError) } : {}),
    };
  };
  const recheckIntervalMs = options.authRecheckSeconds * 1000;
  const schema = () => current().apiSchema;
  const socketFor = (authenticate: (headers: IncomingHttpHeaders) => Promise<Principal>) =>
    createRouterWebSocket({
      authenticate,
      schema,
      execute,
      hub,
      metrics,
      logger,
      maxPerConnection: options.maxPerConnection,
      keepAliveMs: options.keepAliveMs,
      recheckIntervalMs,
    });
  const streamsFor = (authenticate: (headers: IncomingHttpHeaders) => Promise<Principal>) =>
    createHttpStreams({
      authenticate,
      schema,
      hub,
      metrics,
      keepAliveMs: options.keepAliveMs,
      recheckIntervalMs,
    });
  const shuttingDown = () =>
    hub.endAll(
      toGraphQLError({
        message: 'The router is shutting down; subscribe again shortly',
        extensions: { code: 'SERVICE_UNAVAILABLE', reason: 'SHUTTING_DOWN' },
      }),
    );
  // Closing a listener ends every subscription first (SSE and multipart streams included),
  // so shutdown does not wait out its grace period on streams that never finish.
  const withShutdown = (handler: UpgradeHandler): UpgradeHandler => ({
    handleUpgrade: (req, socket, head) => handler.handleUpgrade(req, socket, head),
    closeAll() {
      shuttingDown();
      handler.closeAll();
    },
  });
  const upgrade = {
    public: withShutdown(socketFor(opts.authenticators.public)),
    service: withShutdown(socketFor(opts.authenticators.service)),
  };
  return {
    hub,
    upgrade,
    intercept: {
      public: streamsFor(opts.authenticators.public),
      service: streamsFor(opts.authenticators.service),
    },
    onSupergraph(supergraphSdl) {
      if (supergraphSdl === currentSdl) return;
      const first = planner === undefined;
      planner = createSubscriptionPlanner(supergraphSdl);
      currentSdl = supergraphSdl;
      // Plans (and the subgraphs behind them) may have changed: every open subscription
      // ends with a clear error and clients subscribe again against the new supergraph.
      if (!first) {
        logger.info({ groups: hub.groupCount }, 'supergraph changed: ending subscriptions');
        hub.endAll(supergraphChangedError());
      }
    },
    stop() {
      upgrade.public.closeAll();
      upgrade.service.closeAll();
    },
  };
}

/**
 * The headers the subgraph's configured data source would send for a query in `context`
 * (identity assertion, request id, client address), for the upstream `connection_init`:
 * one identity-forwarding path for queries and subscriptions.
 */
async function identityHeaders(
  dataSource: GraphQLDataSource | undefined,
  context: GatewayContext,
): Promise<Record<string, string>> {
  const hook = (dataSource as { willSendRequest?: (options: unknown) => unknown } | undefined)
    ?.willSendRequest;
  if (!dataSource || !hook) throw new Error('Subgraph data source cannot forward identity');
  const headers = new Headers();
  const request = { query: '', http: { method: 'POST', url: '', headers } };
  await hook.call(dataSource, {
    kind: 'incoming operation',
    request,
    context,
    incomingRequestContext: { context },
  });
  return Object.fromEntries(headers.entries());
}
