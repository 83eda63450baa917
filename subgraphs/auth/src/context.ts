import type { PrismaClient } from '@foundation/db';
import type { AccessTokens, EventBus, SubgraphContext } from '@foundation/platform';

/** The context of every auth-subgraph resolver. */
export interface Context extends SubgraphContext {
  prisma: PrismaClient;
  events: EventBus;
  accessTokens: AccessTokens;
  passwordMinLength: number;
}
