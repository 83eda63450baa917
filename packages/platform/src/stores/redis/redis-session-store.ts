import type { RefreshRotation, Session, SessionStore } from '../session-store.js';
import { usedRefreshTokensRemembered } from '../session-store.js';
import { guarded, type RedisClient } from './redis-connection.js';

export interface RedisSessionStoreOptions {
  client: RedisClient;
  /** Prepended to every key, e.g. `foundation:`. */
  keyPrefix: string;
}

/*
 * Layout. A session is one hash, `<prefix>session:{<id>}`, expiring with the session
 * (PEXPIREAT), with the fields
 *   s    JSON of the fixed part (id, userId, createdAt, expiresAt, clientIp, userAgent)
 *   seen lastSeenAt, ms since the epoch
 *   rt   the current refresh token's hash
 *   used JSON array of the hashes used before, newest first
 * A user's sessions are listed in a sorted set, `<prefix>user-sessions:{<userId>}`, scored
 * by createdAt, expiring with the user's last session. Every script touches one key only,
 * so the layout works on a Cluster too (`{…}` is the hash tag that picks the slot).
 */

/** Rotation: one atomic step on the session's hash. Returns [status, ...HGETALL]. */
const rotateScript = `
if redis.call('EXISTS', KEYS[1]) == 0 then return {'invalid'} end
local current = redis.call('HGET', KEYS[1], 'rt')
local used = cjson.decode(redis.call('HGET', KEYS[1], 'used') or '[]')
if current == ARGV[1] then
  table.insert(used, 1, ARGV[1])
  while #used > tonumber(ARGV[3]) do table.remove(used) end
  redis.call('HSET', KEYS[1], 'rt', ARGV[2], 'used', cjson.encode(used))
  local all = redis.call('HGETALL', KEYS[1])
  table.insert(all, 1, 'rotated')
  return all
end
for _, hash in ipairs(used) do
  if hash == ARGV[1] then
    local all = redis.call('HGETALL', KEYS[1])
    redis.call('DEL', KEYS[1])
    table.insert(all, 1, 'reused')
    return all
  end
end
return {'invalid'}
`;

/** Records activity only on a live session (HSET alone would resurrect a deleted one). */
const touchScript = `
if redis.call('EXISTS', KEYS[1]) == 1 then redis.call('HSET', KEYS[1], 'seen', ARGV[1]) end
return 0
`;

/** Reads and deletes a session in one step, so two deletes cannot both return it. */
const takeScript = `
local all = redis.call('HGETALL', KEYS[1])
redis.call('DEL', KEYS[1])
return all
`;

interface FixedPart {
  id: string;
  userId: string;
  createdAt: number;
  expiresAt: number;
  clientIp: string | null;
  userAgent: string | null;
}

const what = 'session store';

/** Sessions in Redis, shared by every process (the router checks what auth created). */
export function createRedisSessionStore(options: RedisSessionStoreOptions): SessionStore {
  const { client, keyPrefix } = options;
  const sessionKey = (id: string) => `${keyPrefix}session:{${id}}`;
  const userKey = (userId: string) => `${keyPrefix}user-sessions:{${userId}}`;

  const fromHash = (hash: Record<string, string>): Session | undefined => {
    const fixed = hash['s'];
    if (fixed === undefined) return undefined;
    const s = JSON.parse(fixed) as FixedPart;
    // A key can outlive expiresAt by the few ms Redis takes to expire it.
    if (s.expiresAt <= Date.now()) return undefined;
    return {
      id: s.id,
      userId: s.userId,
      createdAt: new Date(s.createdAt),
      lastSeenAt: new Date(Number(hash['seen'])),
      expiresAt: new Date(s.expiresAt),
      clientIp: s.clientIp,
      userAgent: s.userAgent,
      refreshTokenHash: hash['rt'] ?? '',
    };
  };
  /** `[k1, v1, k2, v2, …]` (a script's HGETALL) → object. */
  const pairs = (flat: string[]): Record<string, string> => {
    const out: Record<string, string> = {};
    for (let i = 0; i + 1 < flat.length; i += 2) out[flat[i]!] = flat[i + 1]!;
    return out;
  };
  const forgetInIndex = (userId: string, id: string) =>
    client.zrem(userKey(userId), id).catch(() => {
      // The index is only a listing aid: a stale entry is skipped and dropped later.
    });

  return {
    async create(session) {
      const fixed: FixedPart = {
        id: session.id,
        userId: session.userId,
        createdAt: session.createdAt.getTime(),
        expiresAt: session.expiresAt.getTime(),
        clientIp: session.clientIp,
        userAgent: session.userAgent,
      };
      const expiresAt = session.expiresAt.getTime();
      const key = sessionKey(session.id);
      const index = userKey(session.userId);
      // Two pipelines, one per key's slot (a Cluster refuses a pipeline across slots).
      const sessionWrite = client
        .pipeline()
        .del(key)
        .hset(key, {
          s: JSON.stringify(fixed),
          seen: String(session.lastSeenAt.getTime()),
          rt: session.refreshTokenHash,
          used: '[]',
        })
        .pexpireat(key, expiresAt);
      const indexWrite = client
        .pipeline()
        .zadd(index, session.createdAt.getTime(), session.id)
        // The index lives as long as the user's longest session: set when it has no expiry
        // yet (NX), lengthened when this session ends later (GT).
        .pexpireat(index, expiresAt, 'NX')
        .pexpireat(index, expiresAt, 'GT');
      await guarded(what, async () => {
        for (const results of await Promise.all([sessionWrite.exec(), indexWrite.exec()])) {
          const failed = results?.find(([error]) => error);
          if (failed) throw failed[0] as Error;
        }
      });
    },

    async get(id) {
      const hash = await guarded(what, () => client.hgetall(sessionKey(id)));
      return fromHash(hash);
    },

    async touch(id, at) {
      await guarded(what, () => client.eval(touchScript, 1, sessionKey(id), String(at.getTime())));
    },

    async rotateRefreshToken(id, presentedHash, nextHash): Promise<RefreshRotation> {
      const reply = (await guarded(what, () =>
        client.eval(
          rotateScript,
          1,
          sessionKey(id),
          presentedHash,
          nextHash,
          String(usedRefreshTokensRemembered),
        ),
      )) as string[];
      const [status, ...rest] = reply;
      const session = fromHash(pairs(rest));
      if (status === 'rotated' && session) return { status, session };
      if (status === 'reused' && session) {
        await forgetInIndex(session.userId, id);
        return { status, session };
      }
      return { status: 'invalid' };
    },

    async delete(id) {
      const flat = (await guarded(what, () =>
        client.eval(takeScript, 1, sessionKey(id)),
      )) as string[];
      const session = fromHash(pairs(flat));
      if (session) await forgetInIndex(session.userId, id);
      return session;
    },

    async listForUser(userId) {
      const index = userKey(userId);
      const ids = await guarded(what, () => client.zrevrange(index, 0, -1));
      if (ids.length === 0) return [];
      const hashes = await guarded(what, () =>
        Promise.all(ids.map((id) => client.hgetall(sessionKey(id)))),
      );
      const sessions: Session[] = [];
      const gone: string[] = [];
      hashes.forEach((hash, i) => {
        const session = fromHash(hash);
        if (session && session.userId === userId) sessions.push(session);
        else gone.push(ids[i]!);
      });
      if (gone.length > 0) await client.zrem(index, ...gone).catch(() => {});
      return sessions.sort((a, b) => b.createdAt.getTime() - a.createdAt.getTime());
    },

    async deleteAllForUser(userId) {
      const index = userKey(userId);
      const ids = await guarded(what, () => client.zrange(index, 0, -1));
      if (ids.length === 0) return 0;
      // One DEL per session (they live in different slots on a Cluster); DEL answers 1
      // only for a key that still existed, i.e. a live session.
      const deleted = await guarded(what, () =>
        Promise.all(ids.map((id) => client.del(sessionKey(id)))),
      );
      await guarded(what, () => client.zrem(index, ...ids));
      return deleted.reduce((sum, n) => sum + n, 0);
    },
  };
}
