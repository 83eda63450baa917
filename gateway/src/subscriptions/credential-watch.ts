import type { GraphQLError } from 'graphql';
import { ErrorCode, foundationError, type Principal } from '@foundation/platform';
import type { CredentialWatch } from './subscription-hub.js';

/** How a long-lived connection keeps checking the credential it was opened with. */
export interface CredentialWatchOptions {
  principal: Principal;
  /** Authenticates the same credential again; throws once it is revoked or expired. */
  recheck: () => Promise<unknown>;
  /** Interval between rechecks (session revocation, logout, key revocation), in ms. */
  recheckIntervalMs: number;
}

/**
 * Watches a connection's credential: an access token ends at its `exp` (timer), and a
 * session or key ended early (logout, revocation) is noticed at the next recheck. Either
 * way every stream on it ends with UNAUTHENTICATED. Anonymous callers have nothing to watch.
 */
export function createCredentialWatch(
  options: CredentialWatchOptions,
): CredentialWatch & { stop(): void } {
  const listeners = new Set<(error: GraphQLError) => void>();
  let ended: GraphQLError | undefined;
  const end = (message: string) => {
    if (ended) return;
    ended = foundationError(ErrorCode.UNAUTHENTICATED, message);
    stop();
    for (const listener of [...listeners]) listener(ended);
    listeners.clear();
  };
  const timers: NodeJS.Timeout[] = [];
  const { principal } = options;
  if (principal.kind === 'user') {
    const ms = principal.tokenExpiresAt.getTime() - Date.now();
    timers.push(
      setTimeout(() => end('Access token has expired; refresh it and subscribe again'), ms),
    );
  }
  if (principal.kind !== 'anonymous') {
    const interval = setInterval(() => {
      options.recheck().catch((err: unknown) => {
        const message = (err as Error).message || 'Credential is no longer valid';
        end(`${message}; subscriptions ended`);
      });
    }, options.recheckIntervalMs);
    timers.push(interval);
  }
  for (const timer of timers) timer.unref();
  function stop() {
    for (const timer of timers) clearTimeout(timer);
  }
  return {
    onEnd(listener) {
      if (ended) {
        const error = ended;
        queueMicrotask(() => listener(error));
        return () => {};
      }
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    stop,
  };
}
