import { createClient } from 'graphql-ws';
import type { GraphQLError } from 'graphql';
import WebSocket from 'ws';
import { ErrorCode, foundationError, type Logger } from '@foundation/platform';
import type { UpstreamPayload } from './event-executor.js';

/** How the router keeps one subscription open to a subgraph. */
export interface UpstreamOptions {
  serviceName: string;
  /** The subgraph's GraphQL URL (http or https; the WebSocket is on the same path). */
  url: string;
  query: string;
  operationName: string | undefined;
  variables: Record<string, unknown>;
  /** Headers for `connection_init`, asked afresh on every (re)connect (assertions expire). */
  identityHeaders: () => Promise<Record<string, string>>;
  /** Reconnects tried after a lost connection before giving up. */
  retryAttempts: number;
  /** Longest wait between reconnects, in ms (exponential backoff with jitter up to it). */
  retryMaxDelayMs: number;
  /** Ping interval; an upstream that misses a pong for as long is dropped, in ms. */
  keepAliveMs: number;
  logger: Logger;
  onEvent(payload: UpstreamPayload): void;
  /** The stream failed for good; `error` is what subscribers should see. */
  onError(error: GraphQLError): void;
  onComplete(): void;
}

/** An open upstream subscription. */
export interface Upstream {
  close(): void;
}

/** A refusal is final: retrying cannot fix a bad assertion, a bad operation or a limit. */
const isFatalClose = (code: number) => code >= 4400 && code < 4500;

/**
 * Opens the primary subscription on the owning subgraph over graphql-ws. Lost connections
 * are retried with backoff; a 44xx close (the subgraph refused the router) is not retried,
 * so it reaches the client as an error instead of a hang.
 */
export function openUpstream(options: UpstreamOptions): Upstream {
  const { serviceName, logger } = options;
  let pongTimer: NodeJS.Timeout | undefined;
  const client = createClient({
    url: options.url.replace(/^http/, 'ws'),
    webSocketImpl: WebSocket,
    lazy: true,
    lazyCloseTimeout: 0,
    retryAttempts: options.retryAttempts,
    keepAlive: options.keepAliveMs,
    connectionParams: async () => ({ headers: await options.identityHeaders() }),
    async retryWait(retries) {
      const ceiling = Math.min(options.retryMaxDelayMs, 100 * 2 ** retries);
      const wait = ceiling / 2 + Math.random() * (ceiling / 2);
      logger.warn({ subgraph: serviceName, retries, waitMs: Math.round(wait) }, 'upstream retry');
      await new Promise((resolve) => setTimeout(resolve, wait));
    },
    shouldRetry: (event) => !(isCloseEvent(event) && isFatalClose(event.code)),
    on: {
      // Dead-peer detection: a ping without a pong within the interval closes the socket
      // (4408), which counts as a lost connection and is retried.
      ping(received) {
        if (received) return;
        pongTimer = setTimeout(() => {
          logger.warn({ subgraph: serviceName }, 'upstream missed a pong; reconnecting');
          activeSocket?.close(4408, 'Pong timeout');
        }, options.keepAliveMs);
      },
      pong(received) {
        if (received) clearTimeout(pongTimer);
      },
      connected(socket) {
        activeSocket = socket as WebSocket;
      },
      closed() {
        clearTimeout(pongTimer);
        activeSocket = undefined;
      },
    },
  });
  let activeSocket: WebSocket | undefined;
  let closed = false;
  const unsubscribe = client.subscribe<Record<string, unknown>>(
    {
      query: options.query,
      variables: options.variables,
      ...(options.operationName ? { operationName: options.operationName } : {}),
    },
    {
      next: (value) => {
        if (!closed) options.onEvent(value as UpstreamPayload);
      },
      error: (error: unknown) => {
        if (closed) return;
        closed = true;
        options.onError(upstreamError(serviceName, error, logger));
        void client.dispose();
      },
      complete: () => {
        if (closed) return;
        closed = true;
        options.onComplete();
        void client.dispose();
      },
    },
  );
  return {
    close() {
      if (closed) return;
      closed = true;
      clearTimeout(pongTimer);
      unsubscribe();
      void client.dispose();
    },
  };
}

function isCloseEvent(value: unknown): value is { code: number; reason: string } {
  return typeof value === 'object' && value !== null && 'code' in value && 'reason' in value;
}

/** What subscribers see when an upstream subscription fails for good. */
function upstreamError(serviceName: string, error: unknown, logger: Logger): GraphQLError {
  if (isCloseEvent(error) && isFatalClose(error.code)) {
    // Same as the data source: a refused router is an operator's problem (secrets differ).
    logger.error(
      { subgraph: serviceName, code: error.code, reason: error.reason },
      'subgraph refused the router subscription; check that INTERNAL_TOKEN_SECRET is the same everywhere',
    );
    return foundationError(
      ErrorCode.INTERNAL_SERVER_ERROR,
      `The ${serviceName} service refused the router`,
      { serviceName },
    );
  }
  if (Array.isArray(error)) {
    // The subgraph rejected the operation itself (graphql-ws `error` message).
    const first = error[0] as { message?: string; extensions?: { code?: unknown } } | undefined;
    logger.warn({ subgraph: serviceName, err: first?.message }, 'upstream subscription refused');
    return foundationError(
      ErrorCode.INTERNAL_SERVER_ERROR,
      `The ${serviceName} service refused the subscription`,
      { serviceName },
    );
  }
  logger.warn(
    { subgraph: serviceName, err: isCloseEvent(error) ? error.code : String(error) },
    'upstream subscription lost and not resumed',
  );
  return foundationError(
    ErrorCode.SERVICE_UNAVAILABLE,
    `The ${serviceName} service's event stream was lost and could not be resumed; subscribe again shortly`,
    { serviceName },
  );
}
