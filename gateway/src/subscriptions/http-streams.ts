import type { IncomingHttpHeaders, ServerResponse } from 'node:http';
import {
  getOperationAST,
  GraphQLError,
  OperationTypeNode,
  parse,
  validate,
  type DocumentNode,
  type ExecutionResult,
  type GraphQLSchema,
} from 'graphql';
import { codeOf, type InterceptedRequest, type Principal } from '@foundation/platform';
import type { GatewayContext } from '../context.js';
import { clientOf } from './client-info.js';
import { createCredentialWatch } from './credential-watch.js';
import type { ClientStream, SubscriptionHub } from './subscription-hub.js';
import type { SubscriptionMetrics } from './subscription-metrics.js';

/** What the streamed-HTTP subscription protocols need. */
export interface HttpStreamsOptions {
  authenticate: (headers: IncomingHttpHeaders) => Promise<Principal>;
  schema: () => GraphQLSchema;
  hub: SubscriptionHub;
  metrics: SubscriptionMetrics;
  /** Interval of heartbeats (SSE comments, empty multipart parts), in ms. */
  keepAliveMs: number;
  recheckIntervalMs: number;
}

type Protocol = 'sse' | 'multipart';

/**
 * Subscriptions over plain HTTP on the same /graphql: GraphQL over SSE (graphql-sse's
 * "distinct connections" mode: `Accept: text/event-stream`) and Apollo's multipart
 * subscriptions (`Accept: multipart/mixed;…;subscriptionSpec=1.0`). Anything that is not a
 * subscription is left to Apollo Server (returns false).
 */
export function createHttpStreams(
  options: HttpStreamsOptions,
): (request: InterceptedRequest) => Promise<boolean> {
  return async (request) => {
    const { req, res } = request;
    const accept = req.headers.accept ?? '';
    const protocol: Protocol | undefined = accept.includes('text/event-stream')
      ? 'sse'
      : accept.includes('multipart/mixed') && accept.includes('subscriptionSpec')
        ? 'multipart'
        : undefined;
    const params = paramsOf(request);
    // Cheap test first: only operations that may be subscriptions are parsed here.
    if (!params || !params.query.includes('subscription')) return false;
    let document: DocumentNode;
    try {
      document = parse(params.query);
    } catch {
      return false; // Apollo answers parse errors in its usual way.
    }
    const operation = getOperationAST(document, params.operationName);
    if (operation?.operation !== OperationTypeNode.SUBSCRIPTION) return false;
    if (!protocol) {
      // Apollo Server would answer 500 ("not supported by gateway"): say what works.
      sendJson(res, 400, {
        errors: [
          {
            message:
              'Subscriptions are served over graphql-ws (WebSocket), GraphQL over SSE (Accept: text/event-stream) or multipart HTTP (Accept: multipart/mixed;boundary="graphql";subscriptionSpec=1.0)',
            extensions: { code: 'BAD_REQUEST' },
          },
        ],
      });
      return true;
    }
    const invalid = validate(options.schema(), document);
    if (invalid.length > 0) {
      sendJson(res, 400, { errors: invalid.map((e) => withCode(e, 'GRAPHQL_VALIDATION_FAILED')) });
      return true;
    }
    let principal: Principal;
    try {
      principal = await options.authenticate(req.headers);
    } catch (err) {
      const error = err as GraphQLError;
      sendJson(res, 401, { errors: [error.toJSON?.() ?? { message: error.message }] });
      return true;
    }
    const context: GatewayContext = {
      principal,
      client: clientOf(req),
      requestId: request.requestId,
      logger: request.logger,
    };
    const watch = createCredentialWatch({
      principal,
      recheck: () => options.authenticate(req.headers),
      recheckIntervalMs: options.recheckIntervalMs,
    });
    const result = options.hub.subscribe({
      document,
      operationName: params.operationName,
      variables: params.variables,
      context,
      credential: watch,
    });
    if (!(Symbol.asyncIterator in result)) {
      watch.stop();
      const code = result.errors?.[0] ? codeOf(result.errors[0].toJSON()) : undefined;
      const status = code === 'RATE_LIMITED' ? 429 : code === 'BAD_REQUEST' ? 400 : 200;
      sendJson(res, status, result);
      return true;
    }
    await stream(res, protocol, result, options);
    watch.stop();
    return true;
  };
}

interface Params {
  query: string;
  operationName: string | undefined;
  variables: Record<string, unknown>;
}

function paramsOf({ req, url, body }: InterceptedRequest): Params | undefined {
  if (req.method === 'POST') {
    if (!body || typeof body !== 'object') return undefined;
    const { query, operationName, variables } = body as Record<string, unknown>;
    if (typeof query !== 'string') return undefined;
    return {
      query,
      operationName: typeof operationName === 'string' ? operationName : undefined,
      variables:
        variables && typeof variables === 'object' ? (variables as Params['variables']) : {},
    };
  }
  if (req.method === 'GET') {
    const query = url.searchParams.get('query');
    if (!query) return undefined;
    let variables: Params['variables'] = {};
    try {
      const raw = url.searchParams.get('variables');
      if (raw) variables = JSON.parse(raw) as Params['variables'];
    } catch {
      return undefined;
    }
    return { query, operationName: url.searchParams.get('operationName') ?? undefined, variables };
  }
  return undefined;
}

/** Writes events as they come until the stream ends or the client goes away. */
async function stream(
  res: ServerResponse,
  protocol: Protocol,
  events: ClientStream,
  options: HttpStreamsOptions,
): Promise<void> {
  options.metrics.connections.inc({ protocol });
  res.statusCode = 200;
  res.setHeader('cache-control', 'no-cache');
  res.setHeader('x-accel-buffering', 'no');
  if (protocol === 'sse') {
    res.setHeader('content-type', 'text/event-stream; charset=utf-8');
    res.setHeader('connection', 'keep-alive');
    res.write(':\n\n');
  } else {
    res.setHeader('content-type', 'multipart/mixed;boundary="graphql";subscriptionSpec=1.0');
    res.write('\r\n--graphql');
  }
  res.flushHeaders();
  const heartbeat = setInterval(() => {
    res.write(protocol === 'sse' ? ':\n\n' : part({}));
  }, options.keepAliveMs);
  // A client that goes away ends its subscription at once (no upstream left behind).
  const gone = () => void events.return?.();
  res.once('close', gone);
  try {
    for await (const result of events) {
      const flushed = res.write(
        protocol === 'sse' ? sseEvent(result) : part({ payload: serialize(result) }),
      );
      // Backpressure: a slow reader leaves events in the hub's bounded queue (oldest
      // dropped), not in an ever-growing socket buffer.
      if (!flushed && !res.destroyed) {
        await new Promise((resolve) => {
          res.once('drain', resolve);
          res.once('close', resolve);
        });
      }
    }
    res.end(protocol === 'sse' ? 'event: complete\ndata:\n\n' : '--\r\n');
  } finally {
    clearInterval(heartbeat);
    res.off('close', gone);
    options.metrics.connections.dec({ protocol });
  }
}

/**
 * One multipart part, with the boundary that closes it written right away: clients parse a
 * part only once they see its closing boundary, so holding it back would delay each event
 * until the next.
 */
function part(value: unknown): string {
  return `\r\ncontent-type: application/json; charset=utf-8\r\n\r\n${JSON.stringify(value)}\r\n--graphql`;
}

function sseEvent(result: ExecutionResult): string {
  return `event: next\ndata: ${JSON.stringify(serialize(result))}\n\n`;
}

function serialize(result: ExecutionResult) {
  return {
    ...(result.data !== undefined ? { data: result.data } : {}),
    ...(result.errors?.length ? { errors: result.errors.map((e) => e.toJSON()) } : {}),
  };
}

function withCode(error: GraphQLError, code: string) {
  return { ...error.toJSON(), extensions: { ...error.extensions, code } };
}

function sendJson(res: ServerResponse, status: number, value: unknown) {
  res.statusCode = status;
  res.setHeader('content-type', 'application/json; charset=utf-8');
  res.end(
    JSON.stringify(value, (_key, v: unknown) => (v instanceof GraphQLError ? v.toJSON() : v)),
  );
}
