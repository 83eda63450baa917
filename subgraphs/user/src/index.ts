import type { Database } from '@foundation/db';
import {
  createSubgraph,
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
export function createUserSubgraph(options: UserSubgraphOptions): Promise<Subgraph> {
  const { prisma } = options.db;
  return createSubgraph({
    name: 'user',
    resolvers,
    logger: options.logger,
    assertions: options.assertions,
    context: (base) => ({
      ...base,
      prisma,
      events: options.events,
      userById: createUserLoader(prisma),
    }),
  });
}
