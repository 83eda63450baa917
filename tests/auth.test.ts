/**
 * Identity and access through the real router (`pnpm start` as a process): every way a
 * credential can be wrong gets its stable code and status, never a 500.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { repoRoot } from '@foundation/platform';
import { decodeJwt, SignJWT } from 'jose';
import jsonwebtoken from 'jsonwebtoken';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  startSystem,
  type System,
  graphql,
  planDeployment,
  type Deployment,
  type GraphQLResponse,
} from './harness.js';

const jwtSecret = 'e2e-jwt-secret-e2e-jwt-secret-e2e-jwt';
const internalSecret = 'e2e-internal-secret-e2e-internal-secret';
const key = new TextEncoder().encode(jwtSecret);
let deployment: Deployment;
let system: System;

beforeAll(async () => {
  deployment = await planDeployment({
    FOUNDATION_DEMO__SEED_USERS: 'true', // ada is an admin
    JWT_SECRET: jwtSecret,
    JWT_KEY_ID: 'e2e',
    INTERNAL_TOKEN_SECRET: internalSecret,
    FOUNDATION_AUTH__LOGIN_RATE_LIMIT__PER_ACCOUNT__LIMIT: '3',
    FOUNDATION_AUTH__LOGIN_RATE_LIMIT__PER_IP__LIMIT: '1000',
    FOUNDATION_GATEWAY__API_KEY_CACHE_TTL_SECONDS: '60',
  });
  system = await startSystem(deployment);
});

afterAll(async () => {
  const code = await system?.stop();
  await deployment?.cleanup();
  expect(code).toBe(0);
});

const loginMutation = `mutation ($l: String!, $p: String!) {
  login(usernameOrEmail: $l, password: $p) { token refreshToken session { id } }
}`;
interface Login {
  token: string;
  refreshToken: string;
  session: { id: string };
}

async function login(username: string, password = 'foundation-demo'): Promise<Login> {
  const res = await graphql<{ login: Login }>(deployment.routerUrl, loginMutation, {
    variables: { l: username, p: password },
    headers: { 'user-agent': 'e2e-agent/1.0' },
  });
  expect(res.errors).toBeUndefined();
  return res.data!.login;
}

const me = (token: string) => graphql(deployment.routerUrl, '{ me { username } }', { token });

/** The whole request was refused with 401 UNAUTHENTICATED (and no data). */
function expectRefused(res: GraphQLResponse, message?: RegExp) {
  expect(res.status).toBe(401);
  expect(res.data ?? null).toBeNull();
  expect(res.errors?.[0]?.extensions?.['code']).toBe('UNAUTHENTICATED');
  if (message) expect(res.errors?.[0]?.message).toMatch(message);
}

/** A token with the claims of `real`, altered by `edit`, signed with `secret`. */
async function forge(real: string, edit: (jwt: SignJWT) => SignJWT, secret = key, kid = 'e2e') {
  const claims = decodeJwt(real);
  const now = Math.floor(Date.now() / 1000);
  const jwt = new SignJWT({ user_id: claims['user_id'], username: 'ada', sid: claims['sid'] })
    .setProtectedHeader({ alg: 'HS256', kid })
    .setIssuer('foundation')
    .setAudience('foundation-api')
    .setJti(`forged-${now}`)
    .setIssuedAt(now)
    .setNotBefore(now)
    .setExpirationTime(now + 600);
  return edit(jwt).sign(secret);
}

describe('access tokens at the router', () => {
  let ada: Login;
  beforeAll(async () => {
    ada = await login('ada');
  });

  it('accept a fresh token of a live session', async () => {
    const res = await me(ada.token);
    expect(res.status).toBe(200);
    expect(res.data).toEqual({ me: { username: 'ada' } });
    // A correctly forged copy proves the forge helper itself makes acceptable tokens.
    expect((await me(await forge(ada.token, (jwt) => jwt))).data).toEqual({
      me: { username: 'ada' },
    });
  });

  it('accept a token minted by an independent library (jsonwebtoken) with the same key', async () => {
    const claims = decodeJwt(ada.token);
    const token = jsonwebtoken.sign(
      { user_id: claims['user_id'], username: 'ada', sid: claims['sid'] },
      jwtSecret,
      {
        algorithm: 'HS256',
        keyid: 'e2e',
        issuer: 'foundation',
        audience: 'foundation-api',
        jwtid: 'jsonwebtoken-1',
        notBefore: 0,
        expiresIn: 60,
      },
    );
    expect((await me(token)).data).toEqual({ me: { username: 'ada' } });
  });

  it('refuse alg none', async () => {
    const [, payload] = ada.token.split('.');
    const header = Buffer.from('{"alg":"none","typ":"JWT","kid":"e2e"}').toString('base64url');
    expectRefused(await me(`${header}.${payload}.`), /invalid/);
  });

  it('refuse a token signed with another key, or naming an unknown kid', async () => {
    const other = new TextEncoder().encode('another-secret-another-secret-another');
    expectRefused(await me(await forge(ada.token, (jwt) => jwt, other)), /invalid/);
    expectRefused(await me(await forge(ada.token, (jwt) => jwt, key, 'nope')), /invalid/);
    // The internal assertion secret is not a user key either.
    const internal = new TextEncoder().encode(internalSecret);
    expectRefused(await me(await forge(ada.token, (jwt) => jwt, internal)), /invalid/);
  });

  it('refuse an expired token', async () => {
    const past = Math.floor(Date.now() / 1000) - 3600;
    const expired = await forge(ada.token, (jwt) =>
      jwt
        .setIssuedAt(past)
        .setNotBefore(past)
        .setExpirationTime(past + 60),
    );
    expectRefused(await me(expired), /expired/);
  });

  it('refuse a token whose nbf is in the future (beyond the clock skew)', async () => {
    const soon = Math.floor(Date.now() / 1000) + 120;
    expectRefused(await me(await forge(ada.token, (jwt) => jwt.setNotBefore(soon))), /invalid/);
  });

  it('refuse a wrong issuer or audience', async () => {
    expectRefused(await me(await forge(ada.token, (jwt) => jwt.setIssuer('evil'))), /invalid/);
    expectRefused(await me(await forge(ada.token, (jwt) => jwt.setAudience('other'))), /invalid/);
  });

  it('refuse a tampered payload', async () => {
    const [header, , signature] = ada.token.split('.');
    const evil = Buffer.from(
      JSON.stringify({ ...decodeJwt(ada.token), username: 'root', scope: 'admin root' }),
    ).toString('base64url');
    expectRefused(await me(`${header}.${evil}.${signature}`), /invalid/);
  });

  it('refuse a malformed Authorization header', async () => {
    const res = await graphql(deployment.routerUrl, '{ me { username } }', {
      headers: { authorization: 'Basic YWRhOmZvdW5kYXRpb24tZGVtbw==' },
    });
    expectRefused(res, /Bearer/);
  });
});

describe('sessions through the router', () => {
  it('record the client address and user agent, and list the caller’s sessions', async () => {
    const session = await login('grace');
    const res = await graphql<{
      sessions: { id: string; clientIp: string; userAgent: string; current: boolean }[];
    }>(deployment.routerUrl, '{ sessions { id clientIp userAgent current } }', {
      token: session.token,
    });
    expect(res.data?.sessions).toContainEqual({
      id: session.session.id,
      clientIp: '127.0.0.1',
      userAgent: 'e2e-agent/1.0',
      current: true,
    });
  });

  it('refuse an access token after logout', async () => {
    const session = await login('alan');
    const out = await graphql(deployment.routerUrl, 'mutation { logout }', {
      token: session.token,
    });
    expect(out.data).toEqual({ logout: true });
    expectRefused(await me(session.token), /Session has ended/);
    // Its refresh token died with the session.
    const refreshed = await graphql(
      deployment.routerUrl,
      'mutation ($t: String!) { refresh(refreshToken: $t) { token } }',
      { variables: { t: session.refreshToken } },
    );
    expect(refreshed.errors?.[0]?.extensions?.['code']).toBe('UNAUTHENTICATED');
  });

  it('refuse the token of a session revoked from another device', async () => {
    const phone = await login('margaret');
    const laptop = await login('margaret');
    const res = await graphql(
      deployment.routerUrl,
      'mutation ($id: ID!) { revokeSession(id: $id) }',
      {
        token: laptop.token,
        variables: { id: phone.session.id },
      },
    );
    expect(res.data).toEqual({ revokeSession: true });
    expectRefused(await me(phone.token), /Session has ended/);
    expect((await me(laptop.token)).data).toEqual({ me: { username: 'margaret' } });
  });

  it('rotate refresh tokens; a reused one ends the session and its access tokens', async () => {
    const session = await login('edsger');
    const refresh = (t: string) =>
      graphql<{ refresh: Login }>(
        deployment.routerUrl,
        'mutation ($t: String!) { refresh(refreshToken: $t) { token refreshToken session { id } } }',
        { variables: { t } },
      );
    const next = await refresh(session.refreshToken);
    expect(next.errors).toBeUndefined();
    expect(next.data!.refresh.session.id).toBe(session.session.id);
    expect((await me(next.data!.refresh.token)).data).toEqual({ me: { username: 'edsger' } });
    const replay = await refresh(session.refreshToken);
    expect(replay.status).toBe(200);
    expect(replay.errors?.[0]).toMatchObject({
      message: expect.stringMatching(/already used/),
      extensions: { code: 'UNAUTHENTICATED' },
    });
    expectRefused(await me(next.data!.refresh.token), /Session has ended/);
  });

  it('log out everywhere', async () => {
    const one = await login('ada');
    const two = await login('ada');
    const res = await graphql<{ logoutAll: number }>(
      deployment.routerUrl,
      'mutation { logoutAll }',
      {
        token: one.token,
      },
    );
    expect(res.data?.logoutAll).toBeGreaterThanOrEqual(2);
    expectRefused(await me(one.token));
    expectRefused(await me(two.token));
  });
});

describe('authorization per field', () => {
  it('answers FORBIDDEN (non-admin) or UNAUTHENTICATED (anonymous) at the field, the rest resolves', async () => {
    const grace = await login('grace');
    const query = '{ users(first: 1) { totalCount } apiKeys { id } }';
    const asGrace = await graphql(deployment.routerUrl, query, { token: grace.token });
    expect(asGrace.status).toBe(200);
    expect(asGrace.data).toEqual({ users: { totalCount: 5 }, apiKeys: null });
    expect(asGrace.errors).toEqual([
      expect.objectContaining({
        path: ['apiKeys'],
        extensions: expect.objectContaining({ code: 'FORBIDDEN' }),
      }),
    ]);
    const anonymous = await graphql(deployment.routerUrl, query);
    expect(anonymous.data).toEqual({ users: { totalCount: 5 }, apiKeys: null });
    expect(anonymous.errors?.[0]).toMatchObject({
      path: ['apiKeys'],
      extensions: { code: 'UNAUTHENTICATED' },
    });
  });
});

describe('API keys and the two listeners', () => {
  const create = `mutation ($input: CreateApiKeyInput!) {
    createApiKey(input: $input) { key apiKey { id } }
  }`;
  let admin: Login;

  async function mint(input: Record<string, unknown>) {
    const res = await graphql<{ createApiKey: { key: string; apiKey: { id: string } } }>(
      deployment.routerUrl,
      create,
      { token: admin.token, variables: { input } },
    );
    expect(res.errors).toBeUndefined();
    return res.data!.createApiKey;
  }
  const asService = (apiKey: string, query = '{ users(first: 1) { totalCount } }') =>
    graphql(deployment.serviceUrl, query, { headers: { 'x-api-key': apiKey } });

  beforeAll(async () => {
    admin = await login('ada');
  });

  it('let a service call the service listener with its key, in either header', async () => {
    const { key } = await mint({ name: 'reporting', scopes: ['admin'] });
    const res = await asService(key, '{ users(first: 1) { totalCount } apiKeys { name scopes } }');
    expect(res.status).toBe(200);
    expect(res.errors).toBeUndefined();
    expect(res.data).toMatchObject({
      users: { totalCount: 5 },
      apiKeys: expect.arrayContaining([{ name: 'reporting', scopes: ['admin'] }]),
    });
    const viaAuthorization = await graphql(
      deployment.serviceUrl,
      '{ users(first: 1) { totalCount } }',
      {
        headers: { authorization: `ApiKey ${key}` },
      },
    );
    expect(viaAuthorization.data).toEqual({ users: { totalCount: 5 } });
    // A service is not a person: it has no sessions of its own.
    const sessions = await asService(key, '{ sessions { id } }');
    expect(sessions.errors?.[0]?.extensions?.['code']).toBe('FORBIDDEN');
  });

  it('refuse a wrong or malformed key', async () => {
    const { key } = await mint({ name: 'wrong', scopes: [] });
    const wrongSecret = `${key.slice(0, -4)}AAAA`;
    expectRefused(await asService(wrongSecret), /API key is invalid/);
    expectRefused(await asService('fdn_0000000000000000_' + 'A'.repeat(43)), /API key is invalid/);
    expectRefused(await asService('hunter2'), /API key is invalid/);
  });

  it('refuse a revoked key at once, although lookups are cached', async () => {
    const { key, apiKey } = await mint({ name: 'to-revoke', scopes: [] });
    expect((await asService(key)).status).toBe(200); // now cached
    const revoked = await graphql(
      deployment.routerUrl,
      'mutation ($id: ID!) { revokeApiKey(id: $id) { revokedAt } }',
      { token: admin.token, variables: { id: apiKey.id } },
    );
    expect(revoked.errors).toBeUndefined();
    expectRefused(await asService(key), /revoked/);
  });

  it('refuse an expired key', async () => {
    const { key } = await mint({
      name: 'short-lived',
      scopes: [],
      expiresAt: new Date(Date.now() + 1_500).toISOString(),
    });
    expect((await asService(key)).status).toBe(200);
    await new Promise((resolve) => setTimeout(resolve, 1_700));
    expectRefused(await asService(key), /expired/);
  });

  it('record when a key was last used', async () => {
    const { key, apiKey } = await mint({ name: 'tracked', scopes: [] });
    await asService(key);
    await expect
      .poll(async () => {
        const res = await graphql<{ apiKeys: { id: string; lastUsedAt: string | null }[] }>(
          deployment.routerUrl,
          '{ apiKeys { id lastUsedAt } }',
          { token: admin.token },
        );
        return res.data?.apiKeys.find((k) => k.id === apiKey.id)?.lastUsedAt;
      })
      .toEqual(expect.any(String));
  });

  it('keep each listener to its own credential, with a 401 saying where it belongs', async () => {
    const { key } = await mint({ name: 'misplaced', scopes: [] });
    const onPublic = await graphql(deployment.routerUrl, '{ users(first: 1) { totalCount } }', {
      headers: { 'x-api-key': key },
    });
    expectRefused(onPublic, /only on the service listener/);
    const apiKeyScheme = await graphql(deployment.routerUrl, '{ users(first: 1) { totalCount } }', {
      headers: { authorization: `ApiKey ${key}` },
    });
    expectRefused(apiKeyScheme, /only on the service listener/);
    const jwtOnService = await graphql(
      deployment.serviceUrl,
      '{ users(first: 1) { totalCount } }',
      {
        token: admin.token,
      },
    );
    expectRefused(jwtOnService, /only on the public listener/);
    const nothing = await graphql(deployment.serviceUrl, '{ users(first: 1) { totalCount } }');
    expectRefused(nothing, /API key is required/);
  });

  it('can be minted by the bootstrap script, and work at once', async () => {
    const {
      NODE_ENV: _vitest,
      FOUNDATION_E2E_MODE: _mode,
      FOUNDATION_E2E_DATABASE_URL: _database,
      ...env
    } = process.env;
    const { stdout, stderr } = await promisify(execFile)(
      process.execPath,
      [
        '--import',
        'tsx',
        'subgraphs/auth/scripts/apikey-create.ts',
        '--name',
        'bootstrap',
        '--scopes',
        'admin',
      ],
      { cwd: repoRoot, env: { ...env, ...deployment.env }, timeout: 30_000 },
    );
    const key = stdout.trim();
    expect(key).toMatch(/^fdn_[0-9a-f]{16}_[\w-]{43}$/);
    expect(stderr).toContain('"bootstrap" (scopes admin; never expires)');
    expect(stderr).not.toContain(key);
    const res = await asService(key, '{ apiKeys { name owner { id } } }');
    expect(res.data?.['apiKeys']).toContainEqual({ name: 'bootstrap', owner: null });
  });

  it('are minted by admins only', async () => {
    const grace = await login('grace');
    const res = await graphql(deployment.routerUrl, create, {
      token: grace.token,
      variables: { input: { name: 'nope', scopes: [] } },
    });
    expect(res.data).toEqual({ createApiKey: null });
    expect(res.errors?.[0]?.extensions?.['code']).toBe('FORBIDDEN');
  });
});

describe('subgraphs trust only the router', () => {
  const query = '{ me { id } }';

  it('refuse a direct call without the assertion', async () => {
    const res = await graphql(deployment.subgraphUrls.auth, query);
    expectRefused(res, /Missing identity assertion/);
  });

  it('refuse forged assertions: wrong secret, a user token, or an edited one', async () => {
    const claims = { kind: 'user', username: 'ada', sid: 's', scope: 'admin', tid: 't', texp: 2e9 };
    const sign = (secret: string) =>
      new SignJWT(claims)
        .setProtectedHeader({ alg: 'HS256' })
        .setIssuer('foundation-router')
        .setAudience('foundation-subgraphs')
        .setSubject('someone')
        .setExpirationTime('1m')
        .sign(new TextEncoder().encode(secret));
    const ada = await login('ada');
    const genuine = await sign(internalSecret);
    const [header, payload, signature] = genuine.split('.');
    const edited = Buffer.from(
      JSON.stringify({ ...decodeJwt(genuine), scope: 'admin root' }),
    ).toString('base64url');
    for (const assertion of [
      await sign(jwtSecret),
      await sign('a-guess-a-guess-a-guess-a-guess-a-guess'),
      ada.token,
      `${header}.${edited}.${signature}`,
      `${Buffer.from('{"alg":"none"}').toString('base64url')}.${payload}.`,
    ]) {
      const res = await graphql(deployment.subgraphUrls.auth, query, {
        headers: { 'x-identity-assertion': assertion },
      });
      expectRefused(res, /Identity assertion is invalid/);
    }
    // The genuine one passes, so the refusals above are about the forgery alone.
    const ok = await graphql(deployment.subgraphUrls.auth, query, {
      headers: { 'x-identity-assertion': genuine },
    });
    expect(ok.data).toEqual({ me: { id: 'someone' } });
  });
});

describe('brute force', () => {
  it('answers a login flood on one account with 429, Retry-After and RATE_LIMITED', async () => {
    const attempt = () =>
      graphql(deployment.routerUrl, loginMutation, {
        variables: { l: 'alan', p: 'not the password' },
      });
    for (let i = 0; i < 3; i++) {
      const res = await attempt();
      expect(res.status).toBe(200);
      expect(res.errors?.[0]?.extensions?.['code']).toBe('UNAUTHENTICATED');
    }
    const limited = await attempt();
    expect(limited.status).toBe(429);
    const retryAfter = Number(limited.headers.get('retry-after'));
    expect(retryAfter).toBeGreaterThan(0);
    expect(limited.errors?.[0]).toMatchObject({
      extensions: { code: 'RATE_LIMITED', retryAfterSeconds: retryAfter },
    });
    // Even the right password waits now: the attacker cannot tell when they hit it.
    const right = await graphql(deployment.routerUrl, loginMutation, {
      variables: { l: 'alan', p: 'foundation-demo' },
    });
    expect(right.status).toBe(429);
  });
});

describe('hygiene', () => {
  it('never answered with a 500 or logged a secret', () => {
    expect(system.lines.some((l) => l.msg === 'unexpected error in resolver')).toBe(false);
    expect(system.output).not.toContain(jwtSecret);
    expect(system.output).not.toContain(internalSecret);
    expect(system.output).not.toMatch(/fdn_[0-9a-f]{16}_[\w-]{43}/);
    expect(system.output).not.toMatch(/eyJhbGciOi[\w-]+\.[\w-]+\.[\w-]+/);
  });
});
