import type DataLoader from 'dataloader';
import type { PrismaClient, User } from '@foundation/db';
import type { CacheAside, EventBus, SubgraphContext } from '@foundation/platform';

/** The context of every user-subgraph resolver. */
export interface Context extends SubgraphContext {
  prisma: PrismaClient;
  events: EventBus;
  /** Users by id across requests (cache-aside); invalidated on every profile write. */
  userCache: CacheAside<User>;
  /** Batches every user-by-id read of one request into one cache lookup and one query. */
  userById: DataLoader<string, User | null>;
}
