/**
 * One contract per store interface, run against every implementation: the in-memory ones
 * here (`../stores.memory.test.ts`) and the Redis ones on a real redis-server. A new
 * implementation is done when it passes these. Expiry is tested on the real clock with
 * short lifetimes, since a Redis server keeps its own time.
 */
import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type {
  Cache,
  DomainEvent,
  EventBus,
  RateLimiterStore,
  RevocationList,
  Session,
  SessionStore,
  Stores,
} from '../../src/index.js';

/** Builds a fresh, empty set of stores for one test; `close` is called after it. */
export type StoresFactory = () => Promise<Stores>;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function newSession(overrides: Partial<Session> = {}): Session {
  const now = Date.now();
  return {
    id: randomUUID(),
    userId: randomUUID(),
    createdAt: new Date(now),
    lastSeenAt: new Date(now),
    expiresAt: new Date(now + 3_600_000),
    clientIp: '127.0.0.1',
    userAgent: 'contract-test',
    refreshTokenHash: randomUUID(),
    ...overrides,
  };
}

async function withStores<T>(make: StoresFactory, use: (stores: Stores) => Promise<T>): Promise<T> {
  const stores = await make();
  try {
    return await use(stores);
  } finally {
    await stores.close();
  }
}

/** The session store contract. */
export function sessionStoreContract(name: string, make: StoresFactory): void {
  const run = (use: (sessions: SessionStore) => Promise<void>) => () =>
    withStores(make, (s) => use(s.sessions));

  describe(`${name} session store`, () => {
    it(
      'returns what was created, with dates intact',
      run(async (sessions) => {
        const session = newSession({ clientIp: null, userAgent: null });
        await sessions.create(session);
        expect(await sessions.get(session.id)).toEqual(session);
        expect(await sessions.get(randomUUID())).toBeUndefined();
      }),
    );

    it(
      'forgets a session at its expiry',
      run(async (sessions) => {
        const session = newSession({ expiresAt: new Date(Date.now() + 1_000) });
        await sessions.create(session);
        expect(await sessions.get(session.id)).toBeDefined();
        await sleep(1_300);
        expect(await sessions.get(session.id)).toBeUndefined();
        expect(await sessions.listForUser(session.userId)).toEqual([]);
      }),
    );

    it(
      'records activity on touch, and ignores unknown sessions',
      run(async (sessions) => {
        const session = newSession();
        await sessions.create(session);
        const later = new Date(session.lastSeenAt.getTime() + 90_000);
        await sessions.touch(session.id, later);
        expect((await sessions.get(session.id))?.lastSeenAt).toEqual(later);
        await sessions.touch(randomUUID(), later);
        expect(await sessions.get(randomUUID())).toBeUndefined();
      }),
    );

    it(
      'rotates the refresh token and detects reuse of an old one',
      run(async (sessions) => {
        const session = newSession({ refreshTokenHash: 'h0' });
        await sessions.create(session);
        const first = await sessions.rotateRefreshToken(session.id, 'h0', 'h1');
        expect(first.status).toBe('rotated');
        expect(first.status === 'rotated' && first.session.refreshTokenHash).toBe('h1');
        expect((await sessions.rotateRefreshToken(session.id, 'h1', 'h2')).status).toBe('rotated');
        // A token it never issued changes nothing.
        expect((await sessions.rotateRefreshToken(session.id, 'forged', 'h3')).status).toBe(
          'invalid',
        );
        expect((await sessions.get(session.id))?.refreshTokenHash).toBe('h2');
        // h0 was used already: a replay ends the session.
        const replay = await sessions.rotateRefreshToken(session.id, 'h0', 'h4');
        expect(replay.status).toBe('reused');
        expect(await sessions.get(session.id)).toBeUndefined();
        expect((await sessions.rotateRefreshToken(session.id, 'h2', 'h5')).status).toBe('invalid');
      }),
    );

    it(
      'lets exactly one of two concurrent rotations win',
      run(async (sessions) => {
        const session = newSession({ refreshTokenHash: 'c0' });
        await sessions.create(session);
        const results = await Promise.all([
          sessions.rotateRefreshToken(session.id, 'c0', 'a1'),
          sessions.rotateRefreshToken(session.id, 'c0', 'b1'),
        ]);
        const statuses = results.map((r) => r.status).sort();
        // The loser presents a token that is now used: that is a replay, and ends the session.
        expect(statuses).toEqual(['reused', 'rotated']);
        expect(await sessions.get(session.id)).toBeUndefined();
      }),
    );

    it(
      'lists and ends the sessions of one user only',
      run(async (sessions) => {
        const userId = randomUUID();
        const older = newSession({ userId, createdAt: new Date(Date.now() - 10_000) });
        const newer = newSession({ userId });
        const other = newSession();
        for (const s of [older, newer, other]) await sessions.create(s);
        expect((await sessions.listForUser(userId)).map((s) => s.id)).toEqual([newer.id, older.id]);
        expect((await sessions.delete(older.id))?.id).toBe(older.id);
        expect(await sessions.delete(older.id)).toBeUndefined();
        expect((await sessions.listForUser(userId)).map((s) => s.id)).toEqual([newer.id]);
        expect(await sessions.deleteAllForUser(userId)).toBe(1);
        expect(await sessions.listForUser(userId)).toEqual([]);
        expect(await sessions.get(other.id)).toBeDefined();
      }),
    );
  });
}

/** The revocation list contract. */
export function revocationListContract(name: string, make: StoresFactory): void {
  const run = (use: (list: RevocationList) => Promise<void>) => () =>
    withStores(make, (s) => use(s.revocations));

  describe(`${name} revocation list`, () => {
    it(
      'revokes a token until its expiry, then forgets it',
      run(async (list) => {
        const jti = randomUUID();
        expect(await list.isRevoked(jti)).toBe(false);
        await list.revoke(jti, new Date(Date.now() + 1_000));
        expect(await list.isRevoked(jti)).toBe(true);
        expect(await list.isRevoked(randomUUID())).toBe(false);
        await sleep(1_300);
        expect(await list.isRevoked(jti)).toBe(false);
      }),
    );

    it(
      'ignores a token that has expired already',
      run(async (list) => {
        const jti = randomUUID();
        await list.revoke(jti, new Date(Date.now() - 1_000));
        expect(await list.isRevoked(jti)).toBe(false);
      }),
    );
  });
}

/** The rate limiter contract. */
export function rateLimiterContract(name: string, make: StoresFactory): void {
  const run = (use: (limiters: RateLimiterStore) => Promise<void>) => () =>
    withStores(make, (s) => use(s.rateLimiters));

  describe(`${name} rate limiter`, () => {
    it(
      'allows `limit` attempts per window, then says how long to wait',
      run(async (limiters) => {
        const limiter = limiters.limiter({
          name: `t-${randomUUID()}`,
          limit: 3,
          windowSeconds: 60,
        });
        const results = [];
        for (let i = 0; i < 4; i++) results.push(await limiter.consume('1.2.3.4'));
        expect(results.slice(0, 3)).toEqual([
          { allowed: true, remaining: 2 },
          { allowed: true, remaining: 1 },
          { allowed: true, remaining: 0 },
        ]);
        expect(results[3]).toEqual({ allowed: false, retryAfterSeconds: expect.any(Number) });
        const wait = results[3]?.allowed === false ? results[3].retryAfterSeconds : 0;
        expect(wait).toBeGreaterThan(0);
        expect(wait).toBeLessThanOrEqual(60);
        // Other keys and other rules count on their own.
        expect((await limiter.consume('5.6.7.8')).allowed).toBe(true);
        const other = limiters.limiter({ name: `t-${randomUUID()}`, limit: 1, windowSeconds: 60 });
        expect((await other.consume('1.2.3.4')).allowed).toBe(true);
      }),
    );

    it(
      'counts concurrent attempts exactly',
      run(async (limiters) => {
        const limiter = limiters.limiter({
          name: `t-${randomUUID()}`,
          limit: 10,
          windowSeconds: 60,
        });
        const results = await Promise.all(Array.from({ length: 25 }, () => limiter.consume('k')));
        expect(results.filter((r) => r.allowed)).toHaveLength(10);
      }),
    );

    it(
      'starts afresh after the window and after reset',
      run(async (limiters) => {
        const limiter = limiters.limiter({ name: `t-${randomUUID()}`, limit: 1, windowSeconds: 1 });
        expect((await limiter.consume('k')).allowed).toBe(true);
        expect((await limiter.consume('k')).allowed).toBe(false);
        await sleep(1_200);
        expect((await limiter.consume('k')).allowed).toBe(true);
        expect((await limiter.consume('k')).allowed).toBe(false);
        await limiter.reset('k');
        expect((await limiter.consume('k')).allowed).toBe(true);
      }),
    );
  });
}

/** The cache contract. */
export function cacheContract(name: string, make: StoresFactory): void {
  const run = (use: (cache: Cache) => Promise<void>) => () => withStores(make, (s) => use(s.cache));

  describe(`${name} cache`, () => {
    it(
      'returns what was set until it expires or is deleted',
      run(async (cache) => {
        const key = `k-${randomUUID()}`;
        expect(await cache.get(key)).toBeUndefined();
        await cache.set(key, '{"a":1}', 1);
        expect(await cache.get(key)).toBe('{"a":1}');
        await cache.set(key, 'v2', 60);
        expect(await cache.get(key)).toBe('v2');
        await cache.delete(key);
        expect(await cache.get(key)).toBeUndefined();
        await cache.set(key, 'short', 1);
        await sleep(1_300);
        expect(await cache.get(key)).toBeUndefined();
      }),
    );

    it(
      'keeps empty strings and unicode as they are',
      run(async (cache) => {
        await cache.set('empty', '', 60);
        expect(await cache.get('empty')).toBe('');
        await cache.set('uni', 'Grace Hopper — 😀', 60);
        expect(await cache.get('uni')).toBe('Grace Hopper — 😀');
      }),
    );
  });
}

const user = (id: string) => ({
  id,
  username: `u${id.slice(0, 8)}`,
  displayName: 'Contract Test',
  createdAt: new Date(0).toISOString(),
});

/** The event bus contract. */
export function eventBusContract(name: string, make: StoresFactory): void {
  const run = (use: (events: EventBus) => Promise<void>) => () =>
    withStores(make, (s) => use(s.events));

  describe(`${name} event bus`, () => {
    it(
      'delivers each event to the subscribers of its type, never on the publisher’s stack',
      run(async (events) => {
        const registered: DomainEvent[] = [];
        const updated: DomainEvent[] = [];
        events.subscribe('user.registered', (e) => void registered.push(e));
        events.subscribe('user.updated', (e) => void updated.push(e));
        const event: DomainEvent = { type: 'user.registered', user: user(randomUUID()) };
        const published = events.publish(event);
        expect(registered).toEqual([]); // not synchronously
        await published;
        await expect.poll(() => registered).toEqual([event]);
        expect(updated).toEqual([]);
      }),
    );

    it(
      'keeps delivering to the others when one handler fails, and stops after unsubscribe',
      run(async (events) => {
        const seen: string[] = [];
        events.subscribe('user.updated', () => {
          throw new Error('handler failure (expected by the test)');
        });
        events.subscribe('user.updated', async () => {
          await Promise.reject(new Error('async handler failure (expected by the test)'));
        });
        const off = events.subscribe('user.updated', (e) => void seen.push(e.user.id));
        const first = randomUUID();
        await events.publish({ type: 'user.updated', user: user(first) });
        await expect.poll(() => seen).toEqual([first]);
        off();
        await events.publish({ type: 'user.updated', user: user(randomUUID()) });
        // A marker subscribed after: once it has its event, the earlier one was handled too.
        const marker: string[] = [];
        events.subscribe('user.registered', (e) => void marker.push(e.user.id));
        const last = randomUUID();
        await events.publish({ type: 'user.registered', user: user(last) });
        await expect.poll(() => marker).toEqual([last]);
        expect(seen).toEqual([first]);
      }),
    );

    it(
      'carries every kind of domain event, whole',
      run(async (events) => {
        const at = new Date(0).toISOString();
        const all: DomainEvent[] = [
          { type: 'user.registered', user: user(randomUUID()) },
          { type: 'user.updated', user: user(randomUUID()) },
          {
            type: 'session.activity',
            kind: 'login',
            userId: randomUUID(),
            sessionId: randomUUID(),
            at,
          },
          { type: 'search.index.updated', userId: randomUUID(), indexedUsers: 3, at },
        ];
        const seen: DomainEvent[] = [];
        for (const e of all) events.subscribe(e.type, (got) => void seen.push(got));
        for (const e of all) await events.publish(e);
        await expect.poll(() => seen).toEqual(all);
      }),
    );

    it(
      'delivers events in the order one publisher sent them',
      run(async (events) => {
        const seen: string[] = [];
        events.subscribe('user.updated', (e) => void seen.push(e.user.id));
        const ids = Array.from({ length: 20 }, () => randomUUID());
        for (const id of ids) await events.publish({ type: 'user.updated', user: user(id) });
        await expect.poll(() => seen).toEqual(ids);
      }),
    );
  });
}

/** Every store contract, for one backend. */
export function storesContract(name: string, make: StoresFactory): void {
  sessionStoreContract(name, make);
  revocationListContract(name, make);
  rateLimiterContract(name, make);
  cacheContract(name, make);
  eventBusContract(name, make);
}
