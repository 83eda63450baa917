import type { Database } from '@foundation/db';
import {
  createSubgraph,
  type AccessTokens,
  type EventBus,
  type IdentityAssertions,
  type Logger,
  type Subgraph,
} from '@foundation/platform';
import { resolvers } from './resolvers.js';

/** What the auth subgraph needs from its host process. */
export interface AuthSubgraphOptions {
  db: Database;
  events: EventBus;
  accessTokens: AccessTokens;
  assertions: IdentityAssertions;
  logger: Logger;
  /** Shortest password accepted at registration, in characters. */
  passwordMinLength: number;
}

/** Builds the auth subgraph (credentials, register, login, me) without listening. */
export function createAuthSubgraph(options: AuthSubgraphOptions): Promise<Subgraph> {
  const { prisma } = options.db;
  return createSubgraph({
    name: 'auth',
    resolvers,
    logger: options.logger,
    assertions: options.assertions,
    context: (base) => ({
      ...base,
      prisma,
      events: options.events,
      accessTokens: options.accessTokens,
      passwordMinLength: options.passwordMinLength,
    }),
  });
}

export { hashPassword, verifyPassword } from './passwords.js';
