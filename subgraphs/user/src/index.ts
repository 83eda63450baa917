import { isDatabaseUnavailable, type Database, type User } from '@foundation/db';
import {
  createCacheAside,
  createMemoryCache,
  createMetrics,
  createSubgraph,
  type Cache,
  registerDbPoolGauges,
  type EventBus,
  type IdentityAssertions,
  type Logger,
  type Subgraph,
} from '@foundation/platform';
import { createUserLoader, resolvers } from './resolvers.js';

/** What the user subgraph needs from its host process. */
export interface UserSubgraphOptions {
  db: Database;
  events: EventBus;
  assertions: IdentityAssertions;
  logger: Logger;
  /** Where users read by id are cached (shared with other processes on Redis). @default in process */
  cache?: Cache;
  /** Lifetimes of cached users and of cached "no such user", in seconds. @default 60 and 10 */
  cacheTtl?: { userTtlSeconds: number; negativeTtlSeconds: number };
}

/** A cached user as JSON, with its dates revived. */
function decodeUser(raw: string): User {
  const user = JSON.parse(raw) as User & { createdAt: string; updatedAt: string };
  return { ...user, createdAt: new Date(user.createdAt), updatedAt: new Date(user.updatedAt) };
}

/** Builds the user subgraph (profiles, the `User` entity) without listening. */
export async function createUserSubgraph(options: UserSubgraphOptions): Promise<Subgraph> {
  const { db } = options;
  const metrics = createMetrics({ service: 'user' });
  const userCache = createCacheAside<User>({
    cache: options.cache ?? createMemoryCache(),
    name: 'user',
    ttlSeconds: options.cacheTtl?.userTtlSeconds ?? 60,
    negativeTtlSeconds: options.cacheTtl?.negativeTtlSeconds ?? 10,
    decode: decodeUser,
    registry: metrics.registry,
    logger: options.logger,
  });
  const subgraph = await createSubgraph({
    name: 'user',
    metrics,
    resolvers,
    logger: options.logger,
    assertions: options.assertions,
    ready: () => db.ping(),
    isUnavailable: isDatabaseUnavailable,
    context: (base) => ({
      ...base,
      prisma: db.prisma,
      events: options.events,
      userCache,
      // The caller's own record comes from the primary: they may have just written it
      // (register, updateProfile) and a replica may not have it yet.
      userById: createUserLoader(
        db,
        userCache,
        base.principal.kind === 'user' ? base.principal.userId : null,
      ),
    }),
  });
  registerDbPoolGauges(subgraph.metrics, () => db.poolStats());
  return subgraph;
}
