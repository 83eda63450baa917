import { RateLimiterMemory, RateLimiterRes, type RateLimiterAbstract } from 'rate-limiter-flexible';

/** How many attempts one key may make in a window, e.g. 10 logins per IP per minute. */
export interface RateLimitRule {
  /** Names the counter family (`login-ip`); keys of different rules never collide. */
  name: string;
  /** Attempts allowed per window. */
  limit: number;
  /** Length of the window, in seconds. */
  windowSeconds: number;
}

/** The outcome of one attempt. */
export type RateLimitResult =
  | { allowed: true; remaining: number }
  /** Answer with RATE_LIMITED and this delay (`Retry-After`). */
  | { allowed: false; retryAfterSeconds: number };

/** Counts attempts per key under one rule. Counting is atomic across processes (Redis). */
export interface RateLimiter {
  readonly rule: RateLimitRule;
  /** Counts one attempt by `key` and says whether it is allowed. */
  consume(key: string): Promise<RateLimitResult>;
  /** Forgets the attempts of `key` (e.g. after a successful login). */
  reset(key: string): Promise<void>;
}

/** Makes rate limiters that share one backend (process memory or Redis). */
export interface RateLimiterStore {
  limiter(rule: RateLimitRule): RateLimiter;
}

/**
 * Adapts a `rate-limiter-flexible` limiter (memory, Redis and more, each atomic on its
 * backend) to {@link RateLimiter}. Backend failures reject; a refusal resolves.
 */
export function rateLimiterFromFlexible(
  rule: RateLimitRule,
  limiter: RateLimiterAbstract,
): RateLimiter {
  return {
    rule,
    async consume(key) {
      try {
        const res = await limiter.consume(key);
        return { allowed: true, remaining: res.remainingPoints };
      } catch (error) {
        if (error instanceof RateLimiterRes) {
          return {
            allowed: false,
            retryAfterSeconds: Math.max(1, Math.ceil(error.msBeforeNext / 1000)),
          };
        }
        throw error;
      }
    },
    async reset(key) {
      await limiter.delete(key);
    },
  };
}

/** In-process rate limiters: per process, so N processes allow N times the limit. */
export function createMemoryRateLimiterStore(): RateLimiterStore {
  return {
    limiter: (rule) =>
      rateLimiterFromFlexible(
        rule,
        new RateLimiterMemory({
          keyPrefix: rule.name,
          points: rule.limit,
          duration: rule.windowSeconds,
        }),
      ),
  };
}
