import type { Logger, Principal } from '@foundation/platform';

/** Per-request state of the router, handed to every subgraph call. */
export interface GatewayContext {
  principal: Principal;
  requestId: string;
  logger: Logger;
}
