import type DataLoader from 'dataloader';
import type { PrismaClient, User } from '@foundation/db';
import type { EventBus, SubgraphContext } from '@foundation/platform';

/** The context of every user-subgraph resolver. */
export interface Context extends SubgraphContext {
  prisma: PrismaClient;
  events: EventBus;
  /** Batches every user-by-id read of one request into one query. */
  userById: DataLoader<string, User | null>;
}
