import { STATUS_CODES } from 'node:http';
import { RemoteGraphQLDataSource, type GraphQLDataSourceProcessOptions } from '@apollo/gateway';
import {
  CLIENT_IP_HEADER,
  CLIENT_USER_AGENT_HEADER,
  ErrorCode,
  foundationError,
  IDENTITY_ASSERTION_HEADER,
  REQUEST_ID_HEADER,
  type IdentityAssertions,
  type Principal,
} from '@foundation/platform';
import { GraphQLError } from 'graphql';
import { Pool } from 'undici';
import type { GatewayContext } from './context.js';
import { enqueueEntityCall, sendTracked, type SubgraphCall } from './fetch-merger.js';
import { SubgraphHeaders } from './subgraph-headers.js';

type Response = Awaited<ReturnType<RemoteGraphQLDataSource['process']>>;
type CachePolicy = { restrict(hint: { maxAge?: number; scope?: 'PUBLIC' | 'PRIVATE' }): void };

/** Options of {@link SubgraphDataSource}: one per subgraph. */
export interface SubgraphDataSourceOptions {
  name: string;
  url: string;
  assertions: IdentityAssertions;
  /** Budget for one call, in milliseconds. */
  timeoutMs: number;
  /**
   * Merge the `_entities` calls one request makes to this subgraph in the same tick into one
   * call with de-duplicated representations. @default true
   */
  mergeFetches?: boolean;
  /** Most connections kept open to the subgraph. @default 128 */
  connections?: number;
}

/**
 * An identity assertion is signed once per request and reused for its other subgraph calls
 * (one HMAC instead of one per call), for at most this long, in ms: well inside the
 * assertion's lifetime, so a long-lived context (a subscription) still sends fresh ones.
 */
const assertionReuseMs = 10_000;

/**
 * How the router calls one subgraph. It forwards the request id and a signed identity
 * assertion (never the client's credential), and turns transport failures into
 * SERVICE_UNAVAILABLE errors that name the service but not its address.
 *
 * `process()` is Apollo's contract (headers → `willSendRequest` → call → `didEncounterError`
 * on failure) over an undici Pool, reading each body once and parsing it once; Apollo's own
 * make-fetch-happen stack cost a third of the router's CPU (../shared/design/performance.md).
 * Entity calls of one request are merged (see fetch-merger.ts); results are the same.
 */
export class SubgraphDataSource extends RemoteGraphQLDataSource<GatewayContext> {
  readonly #options: SubgraphDataSourceOptions;
  readonly #pool: Pool;
  readonly #path: string;
  readonly #assertions = new WeakMap<object, { at: number; value: Promise<string> }>();
  /** `send`, bound once: the merger groups calls by it. */
  readonly #send = (call: SubgraphCall) => this.send(call);

  constructor(options: SubgraphDataSourceOptions) {
    // Only Apollo's own process() uses the fetcher (see process()); Node's fetch with the
    // call's budget instead of Apollo's default make-fetch-happen.
    const fetcher = ((url: string, init: RequestInit) =>
      fetch(url, { ...init, signal: AbortSignal.timeout(options.timeoutMs) })) as never;
    super({ url: options.url, fetcher });
    this.#options = options;
    const url = new URL(options.url);
    this.#path = `${url.pathname}${url.search}`;
    this.#pool = new Pool(url.origin, {
      connections: options.connections ?? 128,
      pipelining: 1,
      keepAliveTimeout: 30_000,
    });
  }

  /** Closes the connections to the subgraph. */
  async close(): Promise<void> {
    await this.#pool.close();
  }

  override async process(
    options: GraphQLDataSourceProcessOptions<GatewayContext>,
  ): Promise<Response> {
    // Automatic persisted queries and a didReceiveResponse hook are Apollo's process()
    // features this one lacks: with either, Apollo's own runs (over fetch, see constructor).
    if (this.apq || typeof this.didReceiveResponse === 'function') return super.process(options);
    const { request } = options;
    const headers = new SubgraphHeaders(request.http?.headers);
    headers.set('content-type', 'application/json');
    request.http = { method: 'POST', url: this.url, headers };
    await this.willSendRequest(options);
    if (!request.query) throw new Error('Missing query');
    // GraphQLDataSourceRequestKind.INCOMING_OPERATION (the enum is not exported).
    const incoming = 'incomingRequestContext' in options ? options : undefined;
    const overall: unknown = incoming?.incomingRequestContext.overallCachePolicy;
    const policy =
      this.honorSubgraphCacheControlHeader &&
      typeof overall === 'object' &&
      overall !== null &&
      'restrict' in overall
        ? (overall as CachePolicy)
        : undefined;
    const call: SubgraphCall = { request, headers, context: options.context, policy };
    if (!incoming || this.#options.mergeFetches === false) return this.send(call);
    if (!Array.isArray(request.variables?.['representations'])) {
      return sendTracked(call, this.#send);
    }
    return enqueueEntityCall(call, this.#send);
  }

  /** One HTTP call to the subgraph: the response parsed, or the error mapped and thrown. */
  async send(call: SubgraphCall): Promise<Response> {
    const { request, headers, context } = call;
    const { http: _http, query, ...rest } = request;
    const body = JSON.stringify({ query, ...rest });
    const controller = new AbortController();
    const timer = setTimeout(
      () => controller.abort(new Error(`no response in ${this.#options.timeoutMs} ms`)),
      this.#options.timeoutMs,
    );
    let status: number | undefined;
    try {
      const res = await this.#pool.request({
        path: this.#path,
        method: 'POST',
        headers: headers.toRecord(),
        body,
        signal: controller.signal,
      });
      status = res.statusCode;
      const text = await res.body.text();
      if (status < 200 || status > 299) {
        // As Apollo words it; the body is not logged (it may carry anything).
        throw new GraphQLError(`${status}: ${STATUS_CODES[status] ?? 'Unknown'}`, {
          extensions: { response: { status } },
        });
      }
      const type = res.headers['content-type'];
      const json =
        typeof type === 'string' &&
        (type.startsWith('application/json') ||
          type.startsWith('application/graphql-response+json'));
      const parsed: unknown = json ? JSON.parse(text) : text;
      if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
        throw new Error(`Expected a JSON object in the response (content-type ${String(type)})`);
      }
      if (call.policy) call.policy.restrict(cacheHint(res.headers['cache-control']));
      return {
        ...(parsed as Response),
        http: { status, headers: new SubgraphHeaders(res.headers) },
      };
    } catch (error) {
      this.didEncounterError(
        error as Error,
        { url: this.url },
        status === undefined ? undefined : { status },
        context as GatewayContext,
      );
    } finally {
      clearTimeout(timer);
    }
  }

  override async willSendRequest({
    request,
    context,
  }: GraphQLDataSourceProcessOptions<GatewayContext>): Promise<void> {
    // Health checks and schema loads carry no request context; they get no identity.
    const { requestId, principal, client } = context as Partial<GatewayContext>;
    const headers = request.http?.headers;
    if (!headers || !principal || !requestId) return;
    headers.set(REQUEST_ID_HEADER, requestId);
    headers.set(IDENTITY_ASSERTION_HEADER, await this.#assertionFor(context, principal));
    if (client?.ip) headers.set(CLIENT_IP_HEADER, client.ip);
    if (client?.userAgent) headers.set(CLIENT_USER_AGENT_HEADER, client.userAgent);
  }

  #assertionFor(context: object, principal: Principal): Promise<string> {
    const now = Date.now();
    const cached = this.#assertions.get(context);
    if (cached && now - cached.at < assertionReuseMs) return cached.value;
    const value = this.#options.assertions.sign(principal);
    this.#assertions.set(context, { at: now, value });
    // A failed signature is not cached: the next call tries again.
    value.catch(() => this.#assertions.delete(context));
    return value;
  }

  override didEncounterError(
    error: Error,
    _request: unknown,
    response: { status: number } | undefined,
    context?: GatewayContext,
  ): never {
    const { name } = this.#options;
    const logger = context?.logger;
    if (response?.status === 401 || response?.status === 403) {
      // The subgraph refused the router's assertion: the two disagree on
      // INTERNAL_TOKEN_SECRET. That is an operator's problem, not the caller's.
      logger?.error(
        { subgraph: name, status: response.status },
        'subgraph refused the identity assertion; check that INTERNAL_TOKEN_SECRET is the same everywhere',
      );
      throw foundationError(
        ErrorCode.INTERNAL_SERVER_ERROR,
        `The ${name} service refused the router`,
        { serviceName: name },
      );
    }
    logger?.warn(
      { subgraph: name, status: response?.status, err: error.message },
      'subgraph call failed',
    );
    throw foundationError(
      ErrorCode.SERVICE_UNAVAILABLE,
      `The ${name} service is unavailable; try again shortly`,
      { serviceName: name },
    );
  }
}

/** A subgraph's `cache-control` header read exactly as RemoteGraphQLDataSource reads it. */
function cacheHint(header: string | string[] | undefined): {
  maxAge: number;
  scope?: 'PUBLIC' | 'PRIVATE';
} {
  const hint: { maxAge: number; scope?: 'PUBLIC' | 'PRIVATE' } = { maxAge: 0 };
  if (typeof header !== 'string' || header === '') return hint;
  const parsed = new Map<string, string | true>();
  for (const part of header.trim().split(/\s*,\s*/)) {
    const [name, value] = part.split(/\s*=\s*/, 2) as [string, string | undefined];
    parsed.set(name, value === undefined ? true : value.replace(/^"|"$/g, ''));
  }
  const maxAge = parsed.get('max-age');
  if (typeof maxAge === 'string' && /^[0-9]+$/.test(maxAge)) hint.maxAge = Number(maxAge);
  if (parsed.get('private') === true) hint.scope = 'PRIVATE';
  if (parsed.get('public') === true) hint.scope = 'PUBLIC';
  return hint;
}
