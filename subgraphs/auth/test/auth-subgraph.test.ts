import type { Database } from '@foundation/db';
import { openTestDatabase, type TestDatabase } from '@foundation/db/testing';
import {
  apiKeyCacheKey,
  CLIENT_IP_HEADER,
  CLIENT_USER_AGENT_HEADER,
  createAccessTokens,
  createMemoryEventBus,
  createMemoryStores,
  sha256Hex,
  type DomainEvent,
  type Principal,
  type Stores,
  type UserPrincipal,
} from '@foundation/platform';
import {
  assertionParams,
  serveSubgraph,
  subscribeOverWebSocket,
  testAssertions,
  testLogger,
  testUser,
  type SubgraphClient,
} from '@foundation/platform/testing';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createAuthSubgraph } from '../src/index.js';
import { hashPassword, verifyPassword } from '../src/passwords.js';

let testDb: TestDatabase;
let db: Database;
let client: SubgraphClient;
let stores: Stores;
const published: DomainEvent[] = [];
const accessTokens = createAccessTokens({
  signingKey: { id: 'k1', secret: 'test-jwt-secret-test-jwt-secret-test' },
  issuer: 'foundation',
  audience: 'foundation-api',
  ttlSeconds: 600,
  clockSkewSeconds: 5,
});
const password = 'a sturdy passphrase';

beforeAll(async () => {
  testDb = await openTestDatabase();
  db = testDb.db;
  const logger = testLogger();
  const events = createMemoryEventBus(logger);
  events.subscribe('user.registered', (event) => void published.push(event));
  stores = createMemoryStores();
  const subgraph = await createAuthSubgraph({
    db,
    events,
    accessTokens,
    assertions: testAssertions,
    stores,
    logger,
    passwordMinLength: 10,
    sessionTtlSeconds: 3600,
    loginRateLimit: {
      perIp: { limit: 1000, windowSeconds: 60 },
      perAccount: { limit: 3, windowSeconds: 60 },
    },
  });
  client = await serveSubgraph(subgraph);
});

afterAll(async () => {
  await client?.close();
  await stores?.close();
  await testDb?.close();
});

const register =
  'mutation ($u: String!, $e: String!, $p: String!) { register(username: $u, email: $e, password: $p) { token expiresAt user { id } } }';
const login =
  'mutation ($l: String!, $p: String!) { login(usernameOrEmail: $l, password: $p) { token user { id } } }';

describe('auth subgraph', () => {
  let userId: string;

  it('registers a user, stores only a password hash, and signs them in', async () => {
    const res = await client.request<{
      register: { token: string; expiresAt: string; user: { id: string } };
    }>(register, {
      variables: { u: ' Ada ', e: 'Ada@Example.com', p: password },
    });
    expect(res.errors).toBeUndefined();
    userId = res.data!.register.user.id;
    const claims = await accessTokens.verify(res.data!.register.token);
    expect(claims).toMatchObject({ userId, username: 'ada', scopes: [] });
    expect(await stores.sessions.get(claims.sessionId)).toMatchObject({ userId });
    const stored = await db.prisma.user.findUniqueOrThrow({
      where: { id: userId },
      include: { credential: true },
    });
    expect(stored).toMatchObject({ username: 'ada', email: 'ada@example.com', displayName: 'ada' });
    expect(stored.credential?.passwordHash).toMatch(/^scrypt\$32768\$8\$1\$/);
    expect(stored.credential?.passwordHash).not.toContain(password);
    await vi.waitFor(() =>
      expect(published).toEqual([
        { type: 'user.registered', user: expect.objectContaining({ id: userId, username: 'ada' }) },
      ]),
    );
  });

  it.each([
    [{ u: 'ADA', e: 'new@example.com' }, 'username'],
    [{ u: 'ada2', e: 'ADA@example.com' }, 'email'],
    [{ u: 'no spaces', e: 'x@example.com' }, 'username'],
    [{ u: 'fine', e: 'not-an-email' }, 'email'],
    // 192 characters: more than MySQL's VARCHAR(191) holds, refused before the database.
    [{ u: 'long', e: `${'x'.repeat(180)}@example.com` }, 'email'],
  ])('refuses %j naming the field %s', async (input, field) => {
    const res = await client.request(register, { variables: { ...input, p: password } });
    expect(res.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field });
  });

  it('logs in by username or email, in any case', async () => {
    for (const name of ['ada', 'ADA', 'ada@example.com', 'Ada@Example.COM']) {
      const res = await client.request<{ login: { user: { id: string } } }>(login, {
        variables: { l: name, p: password },
      });
      expect(res.data?.login.user.id).toBe(userId);
    }
  });

  it('gives one error for a wrong password and an unknown user', async () => {
    const wrong = await client.request(login, { variables: { l: 'ada', p: 'wrong password!' } });
    const unknown = await client.request(login, {
      variables: { l: 'nobody', p: 'wrong password!' },
    });
    expect(wrong.errors).toEqual(unknown.errors);
    expect(wrong.errors?.[0]?.extensions?.['code']).toBe('UNAUTHENTICATED');
  });

  it('answers me for the asserted user, and UNAUTHENTICATED otherwise', async () => {
    const me = await client.request('{ me { id } }', { principal: testUser(userId, 'ada') });
    expect(me.data).toEqual({ me: { id: userId } });
    const anonymous = await client.request('{ me { id } }');
    expect(anonymous.errors?.[0]?.extensions?.['code']).toBe('UNAUTHENTICATED');
  });
});

describe('password hashes', () => {
  it('verify the right password only, and reject malformed hashes', async () => {
    const hash = await hashPassword('pässword-①');
    expect(hash).not.toBe(await hashPassword('pässword-①')); // salted
    expect(await verifyPassword('pässword-①', hash)).toBe(true);
    expect(await verifyPassword('password-1', hash)).toBe(false);
    expect(await verifyPassword('x', 'plaintext')).toBe(false);
    expect(await verifyPassword('x', 'scrypt$1$1$1$$')).toBe(false);
  });
});

const signIn = `mutation ($l: String!, $p: String!) {
  login(usernameOrEmail: $l, password: $p) {
    token expiresAt refreshToken refreshTokenExpiresAt
    session { id clientIp userAgent current createdAt lastSeenAt expiresAt }
  }
}`;
const refresh = `mutation ($t: String!) { refresh(refreshToken: $t) { token refreshToken session { id } } }`;

interface SignedIn {
  token: string;
  expiresAt: string;
  refreshToken: string;
  refreshTokenExpiresAt: string;
  session: { id: string; clientIp: string | null; userAgent: string | null; current: boolean };
}

/** Registers `username` (which signs them in) from `ip`; returns the login and principal. */
async function account(username: string, ip = '192.0.2.10') {
  const res = await client.request<{ register: SignedIn }>(
    signIn
      .replace('$l: String!, $p: String!', '$u: String!, $e: String!, $p: String!')
      .replace(
        'login(usernameOrEmail: $l, password: $p)',
        'register(username: $u, email: $e, password: $p)',
      ),
    {
      variables: { u: username, e: `${username}@example.org`, p: password },
      headers: { [CLIENT_IP_HEADER]: ip, [CLIENT_USER_AGENT_HEADER]: 'vitest/1' },
    },
  );
  expect(res.errors).toBeUndefined();
  const login = res.data!.register;
  const principal: UserPrincipal = await accessTokens.verify(login.token);
  return { login, principal };
}

const codeOf = (res: { errors?: { extensions?: Record<string, unknown> }[] }) =>
  res.errors?.[0]?.extensions?.['code'];

describe('sessions', () => {
  it('records a login as a session with the address and agent the router forwarded', async () => {
    const { login, principal } = await account('grace');
    expect(login.session).toMatchObject({
      id: principal.sessionId,
      clientIp: '192.0.2.10',
      userAgent: 'vitest/1',
    });
    expect(login.refreshToken.startsWith(`${principal.sessionId}.`)).toBe(true);
    const stored = await stores.sessions.get(principal.sessionId);
    // Only the hash of the refresh token is kept.
    expect(stored?.refreshTokenHash).toBe(sha256Hex(login.refreshToken));
    expect(JSON.stringify(stored)).not.toContain(login.refreshToken.split('.')[1]);
    const mine = await client.request<{ sessions: { id: string; current: boolean }[] }>(
      '{ sessions { id current } }',
      { principal },
    );
    expect(mine.data?.sessions).toEqual([{ id: principal.sessionId, current: true }]);
  });

  it('rotates the refresh token on every use, and ends the session when one is reused', async () => {
    const { login, principal } = await account('alan');
    const first = await client.request<{ refresh: SignedIn }>(refresh, {
      variables: { t: login.refreshToken },
    });
    expect(first.errors).toBeUndefined();
    const next = first.data!.refresh;
    expect(next.refreshToken).not.toBe(login.refreshToken);
    expect(next.session.id).toBe(principal.sessionId);
    expect((await accessTokens.verify(next.token)).sessionId).toBe(principal.sessionId);
    // The stolen, already used token comes back: the whole session ends.
    const replay = await client.request(refresh, { variables: { t: login.refreshToken } });
    expect(codeOf(replay)).toBe('UNAUTHENTICATED');
    expect(replay.errors?.[0]?.message).toMatch(/already used/);
    expect(await stores.sessions.get(principal.sessionId)).toBeUndefined();
    const legit = await client.request(refresh, { variables: { t: next.refreshToken } });
    expect(codeOf(legit)).toBe('UNAUTHENTICATED');
  });

  it.each(['', 'garbage', 'not-a-session.abc', `${'0'.repeat(36)}.${'A'.repeat(43)}`])(
    'refuses the refresh token %j with UNAUTHENTICATED',
    async (token) => {
      const res = await client.request(refresh, { variables: { t: token } });
      expect(res.errors?.[0]).toMatchObject({
        message: 'Refresh token is invalid or its session has ended; log in again',
        extensions: { code: 'UNAUTHENTICATED' },
      });
    },
  );

  it('logs out: ends the session and revokes the access token until it expires', async () => {
    const { principal } = await account('edsger');
    const res = await client.request('mutation { logout }', { principal });
    expect(res.data).toEqual({ logout: true });
    expect(await stores.sessions.get(principal.sessionId)).toBeUndefined();
    expect(await stores.revocations.isRevoked(principal.tokenId)).toBe(true);
  });

  it('logs out everywhere, and lets a user revoke one of their sessions but not another’s', async () => {
    const { principal } = await account('barbara');
    const second = await client.request<{ login: SignedIn }>(signIn, {
      variables: { l: 'barbara', p: password },
    });
    const other = await account('frances');
    const forbidden = await client.request('mutation ($id: ID!) { revokeSession(id: $id) }', {
      variables: { id: other.principal.sessionId },
      principal,
    });
    expect(codeOf(forbidden)).toBe('NOT_FOUND');
    expect(await stores.sessions.get(other.principal.sessionId)).toBeDefined();
    const revoked = await client.request('mutation ($id: ID!) { revokeSession(id: $id) }', {
      variables: { id: second.data!.login.session.id },
      principal,
    });
    expect(revoked.data).toEqual({ revokeSession: true });
    await client.request(signIn, { variables: { l: 'barbara', p: password } }); // a third one
    const all = await client.request('mutation { logoutAll }', { principal });
    expect(all.data).toEqual({ logoutAll: 2 });
    expect(await stores.sessions.listForUser(principal.userId)).toEqual([]);
  });

  it('shows a user’s sessions to themself and admins only, per field', async () => {
    const { principal } = await account('hedy');
    const query = `query ($reps: [_Any!]!) {
      _entities(representations: $reps) { ... on User { sessions { id } } }
    }`;
    const run = (as: Principal) =>
      client.request<{ _entities: { sessions: { id: string }[] | null }[] }>(query, {
        variables: { reps: [{ __typename: 'User', id: principal.userId }] },
        principal: as,
      });
    expect((await run(principal)).data?._entities[0]?.sessions).toEqual([
      { id: principal.sessionId },
    ]);
    const admin = testUser('someone-else', 'root', { scopes: ['admin'] });
    expect((await run(admin)).data?._entities[0]?.sessions).toHaveLength(1);
    const stranger = await run(testUser('someone-else', 'eve'));
    expect(stranger.data?._entities[0]?.sessions).toBeNull();
    expect(codeOf(stranger)).toBe('FORBIDDEN');
    expect(codeOf(await run({ kind: 'anonymous' }))).toBe('UNAUTHENTICATED');
  });

  it('needs a signed-in user for session operations', async () => {
    for (const operation of [
      'mutation { logout }',
      'mutation { logoutAll }',
      '{ sessions { id } }',
    ]) {
      expect(codeOf(await client.request(operation))).toBe('UNAUTHENTICATED');
      const service: Principal = {
        kind: 'service',
        apiKeyId: '0123456789abcdef',
        name: 'svc',
        ownerId: null,
        scopes: [],
      };
      expect(codeOf(await client.request(operation, { principal: service }))).toBe('FORBIDDEN');
    }
  });
});

describe('login rate limits', () => {
  it('limits attempts per account, known or not, with a retry delay, and a success clears it', async () => {
    await account('katherine');
    const attempt = (l: string, p = 'wrong password!') =>
      client.request(login, { variables: { l, p } });
    for (let i = 0; i < 2; i++) expect(codeOf(await attempt('katherine'))).toBe('UNAUTHENTICATED');
    // The third attempt is allowed and right: the count starts again.
    expect(codeOf(await attempt('katherine', password))).toBeUndefined();
    for (let i = 0; i < 3; i++) expect(codeOf(await attempt('katherine'))).toBe('UNAUTHENTICATED');
    const limited = await attempt('katherine', password);
    expect(limited.errors?.[0]).toMatchObject({
      message: expect.stringMatching(/^Too many login attempts; try again in \d+ seconds$/),
      extensions: { code: 'RATE_LIMITED', retryAfterSeconds: expect.any(Number) },
    });
    const retry = limited.errors?.[0]?.extensions?.['retryAfterSeconds'] as number;
    expect(retry).toBeGreaterThan(0);
    expect(retry).toBeLessThanOrEqual(60);
    // An unknown account is limited the same way, so the limit tells nothing either.
    for (let i = 0; i < 3; i++)
      expect(codeOf(await attempt('no-such-user'))).toBe('UNAUTHENTICATED');
    expect(codeOf(await attempt('no-such-user'))).toBe('RATE_LIMITED');
  });

  it('limits attempts per client IP across accounts', async () => {
    const limitedDb = createMemoryStores();
    const subgraph = await createAuthSubgraph({
      db,
      events: createMemoryEventBus(testLogger()),
      accessTokens,
      assertions: testAssertions,
      stores: limitedDb,
      logger: testLogger(),
      passwordMinLength: 10,
      sessionTtlSeconds: 3600,
      loginRateLimit: {
        perIp: { limit: 2, windowSeconds: 60 },
        perAccount: { limit: 100, windowSeconds: 60 },
      },
    });
    const limited = await serveSubgraph(subgraph);
    try {
      const from = (ip: string, l: string) =>
        limited.request(login, {
          variables: { l, p: 'wrong password!' },
          headers: { [CLIENT_IP_HEADER]: ip },
        });
      expect(codeOf(await from('198.51.100.1', 'a1'))).toBe('UNAUTHENTICATED');
      expect(codeOf(await from('198.51.100.1', 'a2'))).toBe('UNAUTHENTICATED');
      expect(codeOf(await from('198.51.100.1', 'a3'))).toBe('RATE_LIMITED');
      expect(codeOf(await from('198.51.100.2', 'a3'))).toBe('UNAUTHENTICATED');
    } finally {
      await limited.close();
      await limitedDb.close();
    }
  });
});

describe('API keys', () => {
  const admin = () => testUser(adminId, 'root', { scopes: ['admin'] });
  let adminId: string;
  const create = `mutation ($input: CreateApiKeyInput!) {
    createApiKey(input: $input) { key apiKey { id name scopes owner { id } expiresAt lastUsedAt revokedAt } }
  }`;

  beforeAll(async () => {
    adminId = (await account('root')).principal.userId;
  });

  it('are minted by admins only, shown once, stored as a hash', async () => {
    const input = { name: ' billing ', scopes: ['users:read', 'users:read', 'search'] };
    const res = await client.request<{
      createApiKey: { key: string; apiKey: { id: string; scopes: string[] } };
    }>(create, { variables: { input }, principal: admin() });
    expect(res.errors).toBeUndefined();
    const { key, apiKey } = res.data!.createApiKey;
    expect(key).toMatch(new RegExp(`^fdn_${apiKey.id}_[\\w-]{43}$`));
    expect(apiKey).toMatchObject({
      name: 'billing',
      scopes: ['users:read', 'search'],
      owner: { id: adminId },
      expiresAt: null,
      revokedAt: null,
    });
    const row = await db.prisma.apiKey.findUniqueOrThrow({ where: { id: apiKey.id } });
    expect(row.secretHash).toBe(sha256Hex(key));
    // The secret is base64url, which may itself hold `_`: cut by length, not by split.
    expect(JSON.stringify(row)).not.toContain(key.slice(`fdn_${apiKey.id}_`.length));
    // The list never carries the secret; the schema has no field for it.
    const list = await client.request<{ apiKeys: { id: string }[] }>('{ apiKeys { id name } }', {
      principal: admin(),
    });
    expect(list.data?.apiKeys.map((k) => k.id)).toContain(apiKey.id);
    expect(JSON.stringify(list)).not.toContain(key);
  });

  it('are refused to non-admins per field: FORBIDDEN, or UNAUTHENTICATED for anonymous', async () => {
    const grace = testUser('u-grace', 'grace');
    const res = await client.request<{ me: { id: string }; apiKeys: unknown }>(
      '{ me { id } apiKeys { id } }',
      { principal: grace },
    );
    expect(res.data).toEqual({ me: { id: 'u-grace' }, apiKeys: null });
    expect(res.errors).toEqual([
      expect.objectContaining({ path: ['apiKeys'], extensions: { code: 'FORBIDDEN' } }),
    ]);
    const minted = await client.request(create, {
      variables: { input: { name: 'x', scopes: [] } },
      principal: grace,
    });
    expect(minted.data).toEqual({ createApiKey: null });
    expect(codeOf(minted)).toBe('FORBIDDEN');
    expect(codeOf(await client.request('{ apiKeys { id } }'))).toBe('UNAUTHENTICATED');
  });

  it.each([
    [{ name: '', scopes: [] }, 'name'],
    [{ name: 'x', scopes: ['Not A Scope'] }, 'scopes'],
    // Each scope is valid, but together they exceed MySQL's VARCHAR(191).
    [
      { name: 'x', scopes: ['a'.repeat(60), 'b'.repeat(60), 'c'.repeat(60), 'd'.repeat(60)] },
      'scopes',
    ],
    [{ name: 'x', scopes: [], expiresAt: '2020-01-01T00:00:00.000Z' }, 'expiresAt'],
  ])('refuse the input %j naming the field %s', async (input, field) => {
    const res = await client.request(create, { variables: { input }, principal: admin() });
    expect(res.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field });
  });

  it('are revoked at once, clearing the router’s cached lookup', async () => {
    const res = await client.request<{ createApiKey: { apiKey: { id: string } } }>(create, {
      variables: { input: { name: 'temp', scopes: [] } },
      principal: admin(),
    });
    const id = res.data!.createApiKey.apiKey.id;
    await stores.cache.set(apiKeyCacheKey(id), '{"cached":true}', 60);
    const revoked = await client.request<{ revokeApiKey: { revokedAt: string } }>(
      'mutation ($id: ID!) { revokeApiKey(id: $id) { revokedAt } }',
      { variables: { id }, principal: admin() },
    );
    expect(revoked.data?.revokeApiKey.revokedAt).toEqual(expect.any(String));
    expect(await stores.cache.get(apiKeyCacheKey(id))).toBeUndefined();
    const missing = await client.request('mutation { revokeApiKey(id: "nope") { id } }', {
      principal: admin(),
    });
    expect(codeOf(missing)).toBe('NOT_FOUND');
  });
});

describe('sessionActivity over graphql-ws', () => {
  const query = 'subscription { sessionActivity { kind sessionId user { id } at } }';

  it('refuses callers without the admin scope, at subscribe time', async () => {
    const sub = subscribeOverWebSocket(client.url, query, {
      connectionParams: await assertionParams(testUser('u1', 'someone')),
    });
    const result = await sub.next();
    expect(result.errors?.[0]?.extensions?.['code']).toBe('FORBIDDEN');
    await sub.ended;
    await sub.close();
  });

  it('tells an admin about sign-ins and sign-outs, without tokens', async () => {
    const sub = subscribeOverWebSocket<{
      sessionActivity: { kind: string; sessionId: string; user: { id: string } };
    }>(client.url, query, {
      connectionParams: await assertionParams(testUser('a1', 'root', { scopes: ['admin'] })),
    });
    // Registrations until the subscription is live (the ack is asynchronous).
    let registered: { user: { id: string } } | undefined;
    const next = sub.next(5_000);
    let n = 0;
    const timer = setInterval(() => {
      n++;
      void client
        .request<{ register: { user: { id: string } } }>(register, {
          variables: { u: `watched${n}`, e: `watched${n}@example.com`, p: password },
        })
        .then((res) => (registered ??= res.data?.register));
    }, 150);
    try {
      const event = (await next).data!.sessionActivity;
      expect(event.kind).toBe('LOGIN');
      expect(JSON.stringify(event)).not.toMatch(/token/i);
      expect(event.user.id).toMatch(/./);
    } finally {
      clearInterval(timer);
      await sub.close();
    }
  });
});
