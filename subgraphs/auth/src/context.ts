import type { PrismaClient } from '@foundation/db';
import type {
  AccessTokens,
  Cache,
  EventBus,
  RateLimiter,
  RevocationList,
  SessionStore,
  SubgraphContext,
} from '@foundation/platform';

/** The context of every auth-subgraph resolver. */
export interface Context extends SubgraphContext {
  prisma: PrismaClient;
  events: EventBus;
  accessTokens: AccessTokens;
  sessions: SessionStore;
  revocations: RevocationList;
  /** Holds the router's API key lookups; revoking a key deletes its entry. */
  cache: Cache;
  loginLimits: { perIp: RateLimiter; perAccount: RateLimiter };
  passwordMinLength: number;
  /** Absolute lifetime of a new session, in seconds. */
  sessionTtlSeconds: number;
}
