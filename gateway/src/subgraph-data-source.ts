import { RemoteGraphQLDataSource, type GraphQLDataSourceProcessOptions } from '@apollo/gateway';
import {
  CLIENT_IP_HEADER,
  CLIENT_USER_AGENT_HEADER,
  ErrorCode,
  foundationError,
  IDENTITY_ASSERTION_HEADER,
  REQUEST_ID_HEADER,
  type IdentityAssertions,
} from '@foundation/platform';
import type { GatewayContext } from './context.js';

type Fetcher = NonNullable<
  NonNullable<ConstructorParameters<typeof RemoteGraphQLDataSource>[0]>['fetcher']
>;

export interface SubgraphDataSourceOptions {
  name: string;
  url: string;
  assertions: IdentityAssertions;
  /** Budget for one call, in milliseconds. */
  timeoutMs: number;
}

/**
 * How the router calls one subgraph. It forwards the request id and a signed identity
 * assertion (never the client's credential), and turns transport failures into
 * SERVICE_UNAVAILABLE errors that name the service but not its address.
 */
export class SubgraphDataSource extends RemoteGraphQLDataSource<GatewayContext> {
  readonly #options: SubgraphDataSourceOptions;

  constructor(options: SubgraphDataSourceOptions) {
    const timeoutMs = options.timeoutMs;
    // Node's built-in fetch (undici) instead of the default make-fetch-happen stack, which
    // costs a third of the router's CPU under load (see ../shared/design/performance.md).
    const fetcher = ((url: string, init: RequestInit) =>
      fetch(url, { ...init, signal: AbortSignal.timeout(timeoutMs) })) as unknown as Fetcher;
    super({ url: options.url, fetcher });
    this.#options = options;
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
    headers.set(IDENTITY_ASSERTION_HEADER, await this.#options.assertions.sign(principal));
    if (client?.ip) headers.set(CLIENT_IP_HEADER, client.ip);
    if (client?.userAgent) headers.set(CLIENT_USER_AGENT_HEADER, client.userAgent);
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
