import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { openDatabase, type Database } from '@foundation/db';
import { createAccessTokens, createMemoryEventBus, type DomainEvent } from '@foundation/platform';
import {
  serveSubgraph,
  testAssertions,
  testLogger,
  type SubgraphClient,
} from '@foundation/platform/testing';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createAuthSubgraph } from '../src/index.js';
import { hashPassword, verifyPassword } from '../src/passwords.js';

let dir: string;
let db: Database;
let client: SubgraphClient;
const published: DomainEvent[] = [];
const accessTokens = createAccessTokens({
  secret: 'test-jwt-secret-test-jwt-secret-test',
  issuer: 'foundation',
  audience: 'foundation-api',
  ttlSeconds: 600,
  clockSkewSeconds: 5,
});
const password = 'a sturdy passphrase';

beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'auth-subgraph-'));
  db = await openDatabase({ url: `file:${path.join(dir, 'test.db')}`, migrate: true });
  const logger = testLogger();
  const events = createMemoryEventBus(logger);
  events.subscribe('user.registered', (event) => void published.push(event));
  const subgraph = await createAuthSubgraph({
    db,
    events,
    accessTokens,
    assertions: testAssertions,
    logger,
    passwordMinLength: 10,
  });
  client = await serveSubgraph(subgraph);
});

afterAll(async () => {
  await client?.close();
  await db?.close();
  rmSync(dir, { recursive: true, force: true });
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
    expect(claims).toMatchObject({ userId, username: 'ada' });
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
    const me = await client.request('{ me { id } }', {
      principal: { kind: 'user', userId, username: 'ada' },
    });
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
