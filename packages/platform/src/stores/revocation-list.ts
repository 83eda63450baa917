/**
 * Access tokens revoked before their expiry (logout), by `jti`. An entry needs to live only
 * until the token would have expired anyway, so the list stays as small as the tokens alive.
 */
export interface RevocationList {
  /** Revokes `tokenId` until `until` (the token's `exp`); a past `until` does nothing. */
  revoke(tokenId: string, until: Date): Promise<void>;
  isRevoked(tokenId: string): Promise<boolean>;
}

export interface MemoryRevocationListOptions {
  /** Current time in ms since the epoch. @default Date.now */
  now?: () => number;
}

/** In-process revocation list; expired entries are dropped as they are met and on revoke. */
export function createMemoryRevocationList(
  options: MemoryRevocationListOptions = {},
): RevocationList {
  const now = options.now ?? Date.now;
  const until = new Map<string, number>();
  let nextSweep = 0;
  const sweep = (at: number) => {
    for (const [id, end] of until) if (end <= at) until.delete(id);
  };
  return {
    async revoke(tokenId, end) {
      const at = now();
      if (end.getTime() <= at) return;
      // Amortised clean-up: one pass over the map at most once a minute, so a long-lived
      // process does not keep every token it ever revoked.
      if (at >= nextSweep) {
        sweep(at);
        nextSweep = at + 60_000;
      }
      until.set(tokenId, Math.max(end.getTime(), until.get(tokenId) ?? 0));
    },
    async isRevoked(tokenId) {
      const end = until.get(tokenId);
      if (end === undefined) return false;
      if (end <= now()) {
        until.delete(tokenId);
        return false;
      }
      return true;
    },
  };
}
