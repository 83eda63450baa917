import type { IncomingMessage } from 'node:http';
import { randomUUID } from 'node:crypto';
import type { GraphQLSchema } from 'graphql';
import { useServer } from 'graphql-ws/use/ws';
import { WebSocketServer } from 'ws';
import type { UpgradeHandler } from './http.js';
import {
  CLIENT_IP_HEADER,
  CLIENT_USER_AGENT_HEADER,
  IDENTITY_ASSERTION_HEADER,
  REQUEST_ID_HEADER,
  type IdentityAssertions,
  type Principal,
} from './identity.js';
import type { Logger } from './logger.js';
import type { ClientInfo, SubgraphContext } from './subgraph.js';

/** The graphql-ws subprotocol name (the modern one; `subscriptions-transport-ws` is not served). */
export const GRAPHQL_WS_PROTOCOL = 'graphql-transport-ws';

/** What {@link createSubgraphWebSocket} needs. */
export interface SubgraphWebSocketOptions<TContext extends SubgraphContext> {
  schema: GraphQLSchema;
  assertions: IdentityAssertions;
  logger: Logger;
  context: (base: SubgraphContext) => TContext;
  /** Path the WebSocket endpoint is served on. @default '/graphql' */
  path?: string;
  /** Interval of ws pings; a peer that misses one is dropped, in ms. @default 12_000 */
  keepAliveMs?: number;
}

/** What {@link createWebSocketEndpoint} needs. */
export interface WebSocketEndpointOptions {
  /** Path served; upgrades elsewhere get 404. */
  path: string;
  logger: Logger;
  /** Close reason sent to clients on shutdown (close code 1001). */
  shutdownReason: string;
  /** Attaches the protocol (graphql-ws `useServer`) to the socket server; returns its disposer. */
  serve: (wss: WebSocketServer) => { dispose(): void | Promise<void> };
}

/**
 * The plumbing every graphql-ws endpoint here shares: a socket server bound to one path of
 * a listener, messages bounded like HTTP bodies, and a polite, idempotent shutdown.
 */
export function createWebSocketEndpoint(options: WebSocketEndpointOptions): UpgradeHandler {
  const { path, logger } = options;
  // Messages are operations: the same 1 MiB bound as HTTP request bodies, not ws's 100 MiB.
  const wss = new WebSocketServer({ noServer: true, maxPayload: 1_048_576 });
  const disposable = options.serve(wss);
  let closed = false;
  return {
    handleUpgrade(req, socket, head) {
      const pathname = (req.url ?? '/').split('?', 1)[0];
      if (pathname !== path) {
        socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\n\r\n');
        return;
      }
      wss.handleUpgrade(req, socket, head, (ws) => wss.emit('connection', ws, req));
    },
    closeAll() {
      if (closed) return;
      closed = true;
      for (const client of wss.clients) client.close(1001, options.shutdownReason);
      Promise.resolve(disposable.dispose()).catch((err: unknown) =>
        logger.warn({ err }, 'could not close the WebSocket server'),
      );
    },
  };
}

interface Identity {
  principal: Principal;
  client: ClientInfo;
  requestId: string;
}

/**
 * Serves a subgraph's schema over graphql-ws (`graphql-transport-ws`) on the listener's
 * port. The router's identity assertion is required exactly as over HTTP: in the
 * `connection_init` payload (`{ headers: { 'x-identity-assertion': … } }` or the header name
 * as a key) or on the upgrade request; a connection without a valid one is closed with
 * 4403 before it can subscribe.
 */
export function createSubgraphWebSocket<TContext extends SubgraphContext>(
  options: SubgraphWebSocketOptions<TContext>,
): UpgradeHandler {
  const identities = new WeakMap<object, Identity>();
  const serve = (wss: WebSocketServer) =>
    useServer<Record<string, unknown> | undefined>(
      {
        schema: options.schema,
        async onConnect(ctx) {
          const read = headerReader(ctx.extra.request, ctx.connectionParams);
          try {
            const principal = await options.assertions.verify(read(IDENTITY_ASSERTION_HEADER));
            const requestId = read(REQUEST_ID_HEADER) ?? randomUUID();
            identities.set(ctx, {
              principal,
              requestId,
              client: {
                ip: read(CLIENT_IP_HEADER) ?? null,
                userAgent: read(CLIENT_USER_AGENT_HEADER) ?? null,
              },
            });
            return true;
          } catch {
            options.logger.warn('graphql-ws connection without a valid identity assertion');
            return false;
          }
        },
        context(ctx, id) {
          const identity = identities.get(ctx);
          if (!identity) throw new Error('graphql-ws context before connection_init');
          return options.context({
            ...identity,
            logger: options.logger.child({ reqId: identity.requestId, op: id }),
          });
        },
      },
      wss,
      options.keepAliveMs ?? 12_000,
    );
  return createWebSocketEndpoint({
    path: options.path ?? '/graphql',
    logger: options.logger,
    shutdownReason: 'Server is shutting down',
    serve,
  });
}

/**
 * Reads a header from the `connection_init` payload (a `headers` object, or the header name
 * as a top-level key, any case) or else from the upgrade request.
 */
export function headerReader(
  request: IncomingMessage,
  payload: Record<string, unknown> | undefined,
): (name: string) => string | undefined {
  const fromPayload = new Map<string, string>();
  const collect = (source: unknown) => {
    if (!source || typeof source !== 'object') return;
    for (const [key, value] of Object.entries(source)) {
      if (typeof value === 'string') fromPayload.set(key.toLowerCase(), value);
    }
  };
  collect(payload);
  collect(payload?.['headers']);
  return (name) => {
    const value = fromPayload.get(name) ?? request.headers[name];
    return typeof value === 'string' && value !== '' ? value : undefined;
  };
}
