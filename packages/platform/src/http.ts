import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { HeaderMap, type ApolloServer, type BaseContext } from '@apollo/server';
import { ErrorCode } from './errors.js';
import { REQUEST_ID_HEADER } from './identity.js';
import type { Logger } from './logger.js';
import type { Metrics } from './metrics.js';

/** What a GraphQL context factory gets for each HTTP request. */
export interface RequestInfo {
  req: IncomingMessage;
  /** From the client's `x-request-id` when it is sane, otherwise a new UUID. */
  requestId: string;
  /** Child logger bound to `reqId`; every log line of the request should use it. */
  logger: Logger;
}

export interface GraphQLHttpOptions<TContext extends BaseContext> {
  apollo: ApolloServer<TContext>;
  context: (info: RequestInfo) => Promise<TContext>;
  logger: Logger;
  /** Path GraphQL is served on. @default '/graphql' */
  path?: string;
  /** Largest accepted request body, in bytes. @default 1_048_576 // 1 MiB */
  maxBodyBytes?: number;
  /** Answers `/ready`; `/health` only says the process is up. */
  ready?: () => boolean | Promise<boolean>;
  /** Records every request and serves `/metrics` (Prometheus text format). */
  metrics?: Metrics;
  /**
   * Sees each request to the GraphQL path (body read and parsed) before Apollo does, and
   * answers it itself by returning true: streamed subscriptions (SSE, multipart HTTP).
   */
  intercept?: (request: InterceptedRequest) => Promise<boolean>;
}

/** A GraphQL request offered to {@link GraphQLHttpOptions.intercept}. */
export interface InterceptedRequest extends RequestInfo {
  res: ServerResponse;
  url: URL;
  /** The parsed JSON body of a POST; undefined for GET. */
  body: unknown;
}

/** Takes over HTTP upgrade requests (WebSockets) on the port of a request listener. */
export interface UpgradeHandler {
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void;
  /** Ends every upgraded connection (and any other long-lived stream), politely, on shutdown. */
  closeAll(): void;
}

/** A node:http request listener that may also serve WebSockets on the same port. */
export type RequestListener = ((req: IncomingMessage, res: ServerResponse) => void) & {
  upgrade?: UpgradeHandler;
};

const requestIdPattern = /^[\w.:-]{1,128}$/;

/**
 * Serves an Apollo Server over node:http. It only translates: a native request becomes
 * Apollo's `{ method, headers, search, body }`, and the result is written back.
 */
export function createGraphQLRequestListener<TContext extends BaseContext>(
  options: GraphQLHttpOptions<TContext>,
): RequestListener {
  const graphqlPath = options.path ?? '/graphql';
  const maxBodyBytes = options.maxBodyBytes ?? 1_048_576;
  return (req, res) => {
    const header = req.headers[REQUEST_ID_HEADER];
    const requestId =
      typeof header === 'string' && requestIdPattern.test(header) ? header : randomUUID();
    res.setHeader(REQUEST_ID_HEADER, requestId);
    const logger = options.logger.child({ reqId: requestId });
    if (options.metrics) record(options.metrics, req, res);
    handle({ req, res, requestId, logger }).catch((err: unknown) => {
      logger.error({ err }, 'request failed unexpectedly');
      if (!res.headersSent)
        sendError(res, 500, ErrorCode.INTERNAL_SERVER_ERROR, 'Internal server error');
      else res.destroy();
    });
  };

  // A fixed set of endpoint labels, so unknown paths cannot grow the metrics without bound.
  function endpointOf(req: IncomingMessage): string {
    const pathname = (req.url ?? '/').split('?', 1)[0];
    if (pathname === graphqlPath) return graphqlPath;
    return pathname === '/health' || pathname === '/ready' || pathname === '/metrics'
      ? pathname
      : 'other';
  }

  function record(metrics: Metrics, req: IncomingMessage, res: ServerResponse) {
    const started = performance.now();
    res.once('finish', () => {
      const labels = { method: req.method ?? 'GET', endpoint: endpointOf(req) };
      metrics.httpRequests.inc({ ...labels, status: String(res.statusCode) });
      metrics.httpDuration.observe(labels, (performance.now() - started) / 1000);
    });
  }

  async function handle(info: RequestInfo & { res: ServerResponse }) {
    const { req, res } = info;
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (url.pathname === '/health') return sendJson(res, 200, { status: 'ok' });
    if (url.pathname === '/metrics' && options.metrics) {
      res.setHeader('content-type', options.metrics.registry.contentType);
      res.end(await options.metrics.registry.metrics());
      return;
    }
    if (url.pathname === '/ready') {
      const ready = options.ready ? await options.ready() : true;
      return sendJson(res, ready ? 200 : 503, { status: ready ? 'ready' : 'not ready' });
    }
    if (url.pathname !== graphqlPath) {
      return sendError(
        res,
        404,
        ErrorCode.NOT_FOUND,
        `Not found; GraphQL is served at ${graphqlPath}`,
      );
    }
    let body: unknown;
    if (req.method === 'POST') {
      const raw = await readBody(req, maxBodyBytes);
      if (raw === tooLarge) {
        return sendError(
          res,
          413,
          ErrorCode.BAD_REQUEST,
          `Request body is larger than ${maxBodyBytes} bytes`,
        );
      }
      const type = req.headers['content-type'] ?? '';
      if (type.includes('json')) {
        try {
          body = raw.length > 0 ? JSON.parse(raw) : undefined;
        } catch {
          return sendError(res, 400, ErrorCode.BAD_REQUEST, 'Request body is not valid JSON');
        }
      } else {
        body = raw;
      }
    }
    if (options.intercept && (await options.intercept({ ...info, url, body }))) return;
    const headers = new HeaderMap();
    for (const [name, value] of Object.entries(req.headers)) {
      if (value !== undefined) headers.set(name, Array.isArray(value) ? value.join(', ') : value);
    }
    const result = await options.apollo.executeHTTPGraphQLRequest({
      httpGraphQLRequest: { method: req.method ?? 'GET', headers, search: url.search, body },
      context: () => options.context(info),
    });
    for (const [name, value] of result.headers) res.setHeader(name, value);
    res.statusCode = result.status ?? 200;
    if (result.body.kind === 'complete') {
      res.end(result.body.string);
      return;
    }
    for await (const chunk of result.body.asyncIterator) res.write(chunk);
    res.end();
  }
}

const tooLarge = Symbol('tooLarge');

async function readBody(req: IncomingMessage, limit: number): Promise<string | typeof tooLarge> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > limit) return tooLarge;
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

function sendJson(res: ServerResponse, status: number, value: unknown) {
  res.statusCode = status;
  res.setHeader('content-type', 'application/json; charset=utf-8');
  res.end(JSON.stringify(value));
}

/** Whole-request failures use the GraphQL response shape, so clients parse one format. */
function sendError(res: ServerResponse, status: number, code: ErrorCode, message: string) {
  sendJson(res, status, { errors: [{ message, extensions: { code } }] });
}

/** A listening server that can be shut down gracefully. */
export interface RunningServer {
  /** Base URL, e.g. `http://127.0.0.1:4001`. */
  url: string;
  port: number;
  /** Stops accepting connections and waits for in-flight requests (up to the grace period). */
  close(): Promise<void>;
}

export interface ListenOptions {
  host: string;
  /** 0 picks a free port. */
  port: number;
  /** How long in-flight requests may take to finish on close, in ms. @default 10_000 */
  shutdownGraceMs?: number;
}

/** Binds a request listener to a port; the only place in a service that listens. */
export async function listen(
  listener: RequestListener,
  options: ListenOptions,
): Promise<RunningServer> {
  const server: Server = createServer({ keepAliveTimeout: 65_000 }, listener);
  // Upgraded sockets leave the HTTP server's bookkeeping but keep it from closing.
  const upgraded = new Set<Duplex>();
  const { upgrade } = listener;
  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    if (!upgrade) {
      socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\n\r\n');
      return;
    }
    upgraded.add(socket);
    socket.once('close', () => upgraded.delete(socket));
    upgrade.handleUpgrade(req, socket, head);
  });
  let inFlight = 0;
  let drained: (() => void) | undefined;
  server.on('request', (_req, res: ServerResponse) => {
    inFlight++;
    res.once('close', () => {
      inFlight--;
      if (inFlight === 0) drained?.();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  const displayHost =
    options.host === '0.0.0.0' || options.host === '::' ? '127.0.0.1' : options.host;
  return {
    url: `http://${displayHost}:${port}`,
    port,
    async close() {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      // Long-lived streams (WebSockets, streamed subscriptions) end now rather than hold
      // the grace period: they would never finish by themselves.
      upgrade?.closeAll();
      if (inFlight > 0) {
        const grace = options.shutdownGraceMs ?? 10_000;
        await Promise.race([
          new Promise<void>((resolve) => (drained = resolve)),
          new Promise<void>((resolve) => setTimeout(resolve, grace).unref()),
        ]);
      }
      server.closeAllConnections();
      // A peer that does not answer the close handshake does not hold the shutdown.
      setTimeout(() => {
        for (const socket of upgraded) socket.destroy();
      }, 1_000).unref();
      await closed;
    },
  };
}
