import { randomUUID } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import type { ExecutionArgs, ExecutionResult, GraphQLSchema } from 'graphql';
import { useServer } from 'graphql-ws/use/ws';
import type { WebSocketServer } from 'ws';
import {
  API_KEY_HEADER,
  createWebSocketEndpoint,
  ErrorCode,
  foundationError,
  headerReader,
  type Logger,
  type Principal,
  type UpgradeHandler,
} from '@foundation/platform';
import type { GatewayContext } from '../context.js';
import { createCredentialWatch } from './credential-watch.js';
import { clientOf } from './client-info.js';
import type { SubscriptionHub } from './subscription-hub.js';
import type { SubscriptionMetrics } from './subscription-metrics.js';

/** What the router's graphql-ws endpoint needs. */
export interface RouterWebSocketOptions {
  /** The listener's own credential check (public or service), as for HTTP. */
  authenticate: (headers: IncomingHttpHeaders) => Promise<Principal>;
  /** The current API schema, which operations are validated against. */
  schema: () => GraphQLSchema;
  /** Runs a query or mutation through Apollo Server (plugins, metrics, errors as HTTP). */
  execute: (args: ExecutionArgs) => Promise<ExecutionResult>;
  hub: SubscriptionHub;
  metrics: SubscriptionMetrics;
  logger: Logger;
  /** Most open subscriptions on one connection. */
  maxPerConnection: number;
  /** Ping interval; a client that misses a pong is dropped, in ms. */
  keepAliveMs: number;
  /** How often a connection's credential is checked again, in ms. */
  recheckIntervalMs: number;
  /** Path served. @default '/graphql' */
  path?: string;
}

interface Connection {
  context: Omit<GatewayContext, 'logger'> & { logger: Logger };
  watch: ReturnType<typeof createCredentialWatch>;
  subscriptions: Set<string>;
}

/**
 * graphql-ws (`graphql-transport-ws`) on the router's /graphql: subscriptions through the
 * hub, queries and mutations through Apollo Server. The credential comes from the
 * `connection_init` payload (`authorization` or `x-api-key`, at top level or in `headers`),
 * else from the upgrade request, and is checked exactly as for HTTP; a bad one closes the
 * socket with 4403 and the reason.
 */
export function createRouterWebSocket(options: RouterWebSocketOptions): UpgradeHandler {
  const { hub, metrics, logger } = options;
  const connections = new WeakMap<object, Connection>();
  const byContext = new WeakMap<object, { connection: Connection; id: string }>();
  const serve = (wss: WebSocketServer) => {
    wss.on('connection', (socket) => {
      metrics.connections.inc({ protocol: 'graphql-ws' });
      socket.once('close', () => metrics.connections.dec({ protocol: 'graphql-ws' }));
    });
    return useServer<Record<string, unknown> | undefined>(
      {
        schema: () => options.schema(),
        async onConnect(ctx) {
          const read = headerReader(ctx.extra.request, ctx.connectionParams);
          const headers: IncomingHttpHeaders = {};
          const authorization = read('authorization');
          const apiKey = read(API_KEY_HEADER);
          if (authorization) headers.authorization = authorization;
          if (apiKey) headers[API_KEY_HEADER] = apiKey;
          const requestId = randomUUID();
          try {
            const principal = await options.authenticate(headers);
            connections.set(ctx, {
              context: {
                principal,
                client: clientOf(ctx.extra.request),
                requestId,
                logger: logger.child({ reqId: requestId }),
              },
              watch: createCredentialWatch({
                principal,
                recheck: () => options.authenticate(headers),
                recheckIntervalMs: options.recheckIntervalMs,
              }),
              subscriptions: new Set(),
            });
            return true;
          } catch (err) {
            const message = (err as Error).message || 'Unauthenticated';
            logger.info({ reqId: requestId, reason: message }, 'graphql-ws connection refused');
            // Close reasons are at most 123 bytes.
            ctx.extra.socket.close(4403, Buffer.from(message).subarray(0, 120).toString());
            return false;
          }
        },
        onClose(ctx) {
          connections.get(ctx)?.watch.stop();
        },
        context(ctx, id) {
          const connection = connections.get(ctx);
          if (!connection) throw new Error('graphql-ws context before connection_init');
          // One object per operation, so the operation can be found from its context.
          const context: GatewayContext = { ...connection.context };
          byContext.set(context, { connection, id });
          return context;
        },
        async execute(args) {
          return options.execute(args);
        },
        subscribe(args) {
          const owner = byContext.get(args.contextValue as object);
          if (!owner) throw new Error('subscription without a connection');
          const { connection, id } = owner;
          if (connection.subscriptions.size >= options.maxPerConnection) {
            return {
              errors: [
                foundationError(
                  ErrorCode.RATE_LIMITED,
                  `Too many open subscriptions on this connection (at most ${options.maxPerConnection})`,
                  { retryAfterSeconds: 1, limit: options.maxPerConnection },
                ),
              ],
            };
          }
          const result = hub.subscribe({
            document: args.document,
            operationName: args.operationName ?? undefined,
            variables: args.variableValues ?? {},
            context: args.contextValue as GatewayContext,
            credential: connection.watch,
          });
          if (Symbol.asyncIterator in result) connection.subscriptions.add(id);
          return result;
        },
        onComplete(ctx, id) {
          connections.get(ctx)?.subscriptions.delete(id);
        },
      },
      wss,
      options.keepAliveMs,
    );
  };
  return createWebSocketEndpoint({
    path: options.path ?? '/graphql',
    logger,
    shutdownReason: 'Router is shutting down',
    serve,
  });
}
