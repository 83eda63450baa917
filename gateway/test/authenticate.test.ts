import { randomUUID } from 'node:crypto';
import type { Database } from '@foundation/db';
import { openTestDatabase, type TestDatabase } from '@foundation/db/testing';
import { createAccessTokens, createMemoryStores, type Stores } from '@foundation/platform';
import { testLogger } from '@foundation/platform/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiKeyVerifier } from '../src/api-keys.js';
import { createAuthenticator, touchIntervalMs, type Authenticator } from '../src/authenticate.js';

const accessTokens = createAccessTokens({
  signingKey: { id: 'k1', secret: 'gateway-test-secret-gateway-test-secret' },
  issuer: 'foundation',
  audience: 'foundation-api',
  ttlSeconds: 900,
  clockSkewSeconds: 5,
});
let testDb: TestDatabase;
let db: Database;
let stores: Stores;
let authenticator: Authenticator;

beforeAll(async () => {
  testDb = await openTestDatabase();
  db = testDb.db;
  stores = createMemoryStores();
  const logger = testLogger();
  authenticator = createAuthenticator({
    accessTokens,
    sessions: stores.sessions,
    revocations: stores.revocations,
    apiKeys: createApiKeyVerifier({
      prisma: db.prisma,
      cache: stores.cache,
      cacheTtlSeconds: 30,
      logger,
    }),
    logger,
  });
});

afterAll(async () => {
  await stores?.close();
  await testDb?.close();
});

async function signedIn(lastSeenAgoMs = 0) {
  const userId = randomUUID();
  const sessionId = randomUUID();
  const now = Date.now();
  await stores.sessions.create({
    id: sessionId,
    userId,
    createdAt: new Date(now - lastSeenAgoMs),
    lastSeenAt: new Date(now - lastSeenAgoMs),
    expiresAt: new Date(now + 3_600_000),
    clientIp: null,
    userAgent: null,
    refreshTokenHash: 'x',
  });
  const issued = await accessTokens.issue({ userId, username: 'ada', sessionId, scopes: [] });
  return { userId, sessionId, ...issued };
}

describe('the router’s authenticator', () => {
  it('accepts a valid token of a live session', async () => {
    const { token, userId, sessionId } = await signedIn();
    await expect(authenticator.user(token)).resolves.toMatchObject({ userId, sessionId });
    await expect(
      authenticator.publicCaller({ authorization: `Bearer ${token}` }),
    ).resolves.toMatchObject({ kind: 'user', userId });
  });

  it('refuses a revoked token even while its session lives', async () => {
    const { token, tokenId, expiresAt, sessionId } = await signedIn();
    await stores.revocations.revoke(tokenId, expiresAt);
    expect(await stores.sessions.get(sessionId)).toBeDefined();
    await expect(authenticator.user(token)).rejects.toMatchObject({
      message: 'Access token has been revoked; log in again',
      extensions: { code: 'UNAUTHENTICATED', http: { status: 401 } },
    });
  });

  it('refuses a token naming a session that is gone or belongs to someone else', async () => {
    const gone = await signedIn();
    await stores.sessions.delete(gone.sessionId);
    await expect(authenticator.user(gone.token)).rejects.toThrow('Session has ended; log in again');
    const mine = await signedIn();
    const theirs = await accessTokens.issue({
      userId: randomUUID(),
      username: 'eve',
      sessionId: mine.sessionId,
      scopes: [],
    });
    await expect(authenticator.user(theirs.token)).rejects.toThrow('Session has ended');
  });

  it('records activity at most once a minute', async () => {
    const recent = await signedIn(10_000);
    const before = (await stores.sessions.get(recent.sessionId))!.lastSeenAt;
    await authenticator.user(recent.token);
    expect((await stores.sessions.get(recent.sessionId))!.lastSeenAt).toEqual(before);
    const idle = await signedIn(touchIntervalMs + 1_000);
    const started = Date.now();
    await authenticator.user(idle.token);
    await expect
      .poll(async () => (await stores.sessions.get(idle.sessionId))!.lastSeenAt.getTime())
      .toBeGreaterThanOrEqual(started);
  });

  it('refuses an API key on the public listener and a token on the service listener', async () => {
    const { token } = await signedIn();
    await expect(
      authenticator.publicCaller({ 'x-api-key': 'fdn_0123456789abcdef_x' }),
    ).rejects.toThrow(/only on the service listener/);
    await expect(authenticator.serviceCaller({ authorization: `Bearer ${token}` })).rejects.toThrow(
      /only on the public listener/,
    );
    await expect(authenticator.serviceCaller({})).rejects.toThrow(/API key is required/);
    await expect(authenticator.publicCaller({})).resolves.toEqual({ kind: 'anonymous' });
  });
});
