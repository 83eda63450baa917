import { isDatabaseUnavailable, type Database } from '@foundation/db';
import {
  createSubgraph,
  registerDbPoolGauges,
  type AccessTokens,
  type EventBus,
  type IdentityAssertions,
  type Logger,
  type RateLimitRule,
  type Stores,
  type Subgraph,
} from '@foundation/platform';
import { resolvers } from './resolvers.js';

/** What the auth subgraph needs from its host process. */
export interface AuthSubgraphOptions {
  db: Database;
  events: EventBus;
  accessTokens: AccessTokens;
  assertions: IdentityAssertions;
  /** Sessions, revocations, rate limits and the cache; the router must share them. */
  stores: Stores;
  logger: Logger;
  /** Shortest password accepted at registration, in characters. */
  passwordMinLength: number;
  /** Absolute lifetime of a session, in seconds. */
  sessionTtlSeconds: number;
  /** Login attempts allowed per client IP and per account. */
  loginRateLimit: {
    perIp: Omit<RateLimitRule, 'name'>;
    perAccount: Omit<RateLimitRule, 'name'>;
  };
}

/**
 * Builds the auth subgraph without listening: credentials, register, login, sessions
 * (refresh, logout, revocation) and API keys.
 */
export async function createAuthSubgraph(options: AuthSubgraphOptions): Promise<Subgraph> {
  const { db } = options;
  // Always the primary: login right after register must find the account, and a revoked
  // key or changed credential must never be read from a replica that has not caught up.
  const prisma = db.primary;
  const { stores } = options;
  const loginLimits = {
    perIp: stores.rateLimiters.limiter({ name: 'login-ip', ...options.loginRateLimit.perIp }),
    perAccount: stores.rateLimiters.limiter({
      name: 'login-account',
      ...options.loginRateLimit.perAccount,
    }),
  };
  const subgraph = await createSubgraph({
    name: 'auth',
    resolvers,
    logger: options.logger,
    assertions: options.assertions,
    ready: () => db.ping(),
    isUnavailable: isDatabaseUnavailable,
    context: (base) => ({
      ...base,
      prisma,
      events: options.events,
      accessTokens: options.accessTokens,
      sessions: stores.sessions,
      revocations: stores.revocations,
      cache: stores.cache,
      loginLimits,
      passwordMinLength: options.passwordMinLength,
      sessionTtlSeconds: options.sessionTtlSeconds,
    }),
  });
  registerDbPoolGauges(subgraph.metrics, () => db.poolStats());
  return subgraph;
}

export { createApiKey, type NewApiKey } from './api-keys.js';
export { hashPassword, passwordHashParameters, verifyPassword } from './passwords.js';
export { demoPassword, seedDemoUsers } from './demo-users.js';
