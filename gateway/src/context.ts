import type { ClientInfo, Logger, Principal } from '@foundation/platform';

/** Per-request state of the router, handed to every subgraph call. */
export interface GatewayContext {
  principal: Principal;
  /** The caller's address and user agent, forwarded to subgraphs. */
  client: ClientInfo;
  requestId: string;
  logger: Logger;
}
