import { isDatabaseUnavailable, type Database } from '@foundation/db';
import {
  createSubgraph,
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
}

/** Builds the user subgraph (profiles, the `User` entity) without listening. */
export async function createUserSubgraph(options: UserSubgraphOptions): Promise<Subgraph> {
  const { db } = options;
  const subgraph = await createSubgraph({
    name: 'user',
    resolvers,
    logger: options.logger,
    assertions: options.assertions,
    ready: () => db.ping(),
    isUnavailable: isDatabaseUnavailable,
    context: (base) => ({
      ...base,
      prisma: db.prisma,
      events: options.events,
      // The caller's own record comes from the primary: they may have just written it
      // (register, updateProfile) and a replica may not have it yet.
      userById: createUserLoader(db, base.principal.kind === 'user' ? base.principal.userId : null),
    }),
  });
  registerDbPoolGauges(subgraph.metrics, () => db.poolStats());
  return subgraph;
}
