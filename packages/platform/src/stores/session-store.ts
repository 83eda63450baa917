/**
 * A signed-in session: created at login, checked on every authenticated request, ended by
 * logout, revocation, refresh-token reuse or its expiry. Access tokens name it in `sid`.
 */
export interface Session {
  id: string;
  userId: string;
  createdAt: Date;
  /** Last authenticated request; updated at most once a minute, not on every request. */
  lastSeenAt: Date;
  /** The session ends here whatever happens (its refresh token's absolute lifetime). */
  expiresAt: Date;
  clientIp: string | null;
  userAgent: string | null;
  /** SHA-256 (hex) of the current refresh token; the token itself is never stored. */
  refreshTokenHash: string;
}

/** What presenting a refresh token did; see {@link SessionStore.rotateRefreshToken}. */
export type RefreshRotation =
  | { status: 'rotated'; session: Session }
  /** The token was valid once and already used: the session has been deleted. */
  | { status: 'reused'; session: Session }
  /** No such live session, or a token it never issued. Nothing changed. */
  | { status: 'invalid' };

/**
 * Where sessions live: in process (embedded mode) or in Redis (distributed mode). Every
 * implementation passes the same contract suite (`test/contracts/session-store.contract.ts`).
 * Expired sessions behave as absent everywhere.
 */
export interface SessionStore {
  create(session: Session): Promise<void>;
  /** The live session, or undefined when it is absent, deleted or expired. */
  get(id: string): Promise<Session | undefined>;
  /** Records activity; does nothing for a session that is not live. */
  touch(id: string, at: Date): Promise<void>;
  /**
   * Atomically swaps the refresh token: when `presentedHash` is the current one it becomes
   * used and `nextHash` current (`rotated`); when it is one the session used before, the
   * session is deleted (`reused`: someone replayed a stolen token, so neither party keeps
   * it). Two concurrent calls with the same token: exactly one rotates.
   */
  rotateRefreshToken(id: string, presentedHash: string, nextHash: string): Promise<RefreshRotation>;
  /** Ends one session; returns it when it was live. */
  delete(id: string): Promise<Session | undefined>;
  /** The user's live sessions, newest first. */
  listForUser(userId: string): Promise<Session[]>;
  /** Ends every session of the user; returns how many were live. */
  deleteAllForUser(userId: string): Promise<number>;
}

/** Refresh-token hashes a session remembers as used, for reuse detection. */
export const usedRefreshTokensRemembered = 32;

export interface MemorySessionStoreOptions {
  /** Current time in ms since the epoch. @default Date.now */
  now?: () => number;
}

interface Record_ {
  session: Session;
  used: string[];
}

/** In-process sessions for embedded mode; lost on restart, like the process's tokens' use. */
export function createMemorySessionStore(options: MemorySessionStoreOptions = {}): SessionStore {
  const now = options.now ?? Date.now;
  const records = new Map<string, Record_>();
  const byUser = new Map<string, Set<string>>();
  const copy = (s: Session): Session => ({
    ...s,
    createdAt: new Date(s.createdAt),
    lastSeenAt: new Date(s.lastSeenAt),
    expiresAt: new Date(s.expiresAt),
  });
  const live = (id: string): Record_ | undefined => {
    const record = records.get(id);
    if (!record) return undefined;
    if (record.session.expiresAt.getTime() <= now()) {
      remove(id);
      return undefined;
    }
    return record;
  };
  const remove = (id: string): Record_ | undefined => {
    const record = records.get(id);
    if (!record) return undefined;
    records.delete(id);
    const ids = byUser.get(record.session.userId);
    ids?.delete(id);
    if (ids?.size === 0) byUser.delete(record.session.userId);
    return record;
  };
  return {
    async create(session) {
      records.set(session.id, { session: copy(session), used: [] });
      const ids = byUser.get(session.userId) ?? new Set();
      ids.add(session.id);
      byUser.set(session.userId, ids);
    },
    async get(id) {
      const record = live(id);
      return record && copy(record.session);
    },
    async touch(id, at) {
      const record = live(id);
      if (record) record.session.lastSeenAt = new Date(at);
    },
    async rotateRefreshToken(id, presentedHash, nextHash) {
      const record = live(id);
      if (!record) return { status: 'invalid' };
      if (record.session.refreshTokenHash === presentedHash) {
        record.used = [presentedHash, ...record.used].slice(0, usedRefreshTokensRemembered);
        record.session.refreshTokenHash = nextHash;
        return { status: 'rotated', session: copy(record.session) };
      }
      if (record.used.includes(presentedHash)) {
        remove(id);
        return { status: 'reused', session: copy(record.session) };
      }
      return { status: 'invalid' };
    },
    async delete(id) {
      const record = live(id);
      if (!record) return undefined;
      remove(id);
      return copy(record.session);
    },
    async listForUser(userId) {
      const sessions: Session[] = [];
      for (const id of [...(byUser.get(userId) ?? [])]) {
        const record = live(id);
        if (record) sessions.push(copy(record.session));
      }
      return sessions.sort((a, b) => b.createdAt.getTime() - a.createdAt.getTime());
    },
    async deleteAllForUser(userId) {
      let count = 0;
      for (const id of [...(byUser.get(userId) ?? [])]) {
        if (live(id)) count++;
        remove(id);
      }
      return count;
    },
  };
}
