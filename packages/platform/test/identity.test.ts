import { SignJWT, decodeJwt, decodeProtectedHeader } from 'jose';
import jsonwebtoken from 'jsonwebtoken';
import { describe, expect, it } from 'vitest';
import {
  createAccessTokens,
  createIdentityAssertions,
  type Principal,
  type UserPrincipal,
} from '../src/identity.js';

const signingKey = { id: 'k2', secret: 'test-secret-test-secret-test-secret' };
const oldKey = { id: 'k1', secret: 'old-secret-old-secret-old-secret-old' };
const options = {
  signingKey,
  verificationKeys: [oldKey],
  issuer: 'foundation',
  audience: 'foundation-api',
  ttlSeconds: 900,
  clockSkewSeconds: 5,
};
const tokens = createAccessTokens(options);
const key = new TextEncoder().encode(signingKey.secret);
const user = {
  userId: '0190c0de-0000-7000-8000-000000000001',
  username: 'ada',
  sessionId: '0190c0de-0000-7000-8000-00000000000a',
  scopes: ['admin'],
};

/** A token with our claims, altered by `edit`, signed with `secret`. */
function forge(edit: (jwt: SignJWT) => SignJWT, secret = key, kid = signingKey.id) {
  const now = Math.floor(Date.now() / 1000);
  const base = new SignJWT({ user_id: user.userId, username: user.username, sid: user.sessionId })
    .setProtectedHeader({ alg: 'HS256', kid })
    .setIssuer(options.issuer)
    .setAudience(options.audience)
    .setJti('j1')
    .setIssuedAt(now)
    .setNotBefore(now)
    .setExpirationTime(now + 60);
  return edit(base).sign(secret);
}

describe('access tokens', () => {
  it('carry the seed claims plus sid, scope and kid, in UTC seconds, and verify', async () => {
    const { token, tokenId, expiresAt } = await tokens.issue(user);
    const claims = decodeJwt(token);
    expect(decodeProtectedHeader(token)).toEqual({ alg: 'HS256', typ: 'JWT', kid: 'k2' });
    expect(claims).toMatchObject({
      user_id: user.userId,
      username: 'ada',
      sid: user.sessionId,
      scope: 'admin',
      sub: user.userId,
      jti: tokenId,
      iss: 'foundation',
      aud: 'foundation-api',
    });
    expect(claims.exp! - claims.iat!).toBe(900);
    expect(claims.nbf).toBe(claims.iat);
    expect(expiresAt.getTime()).toBe(claims.exp! * 1000);
    await expect(tokens.verify(token)).resolves.toEqual({
      kind: 'user',
      ...user,
      tokenId,
      tokenExpiresAt: expiresAt,
    });
  });

  it('omit scope when there is none', async () => {
    const { token } = await tokens.issue({ ...user, scopes: [] });
    expect(decodeJwt(token)).not.toHaveProperty('scope');
    await expect(tokens.verify(token)).resolves.toMatchObject({ scopes: [] });
  });

  it('verify tokens of an older key by kid, and refuse unknown or missing kids', async () => {
    const old = await forge((jwt) => jwt, new TextEncoder().encode(oldKey.secret), 'k1');
    await expect(tokens.verify(old)).resolves.toMatchObject({ userId: user.userId });
    // The old key under the new kid, or an unknown kid: refused.
    const mislabelled = await forge((jwt) => jwt, new TextEncoder().encode(oldKey.secret), 'k2');
    await expect(tokens.verify(mislabelled)).rejects.toThrow(/invalid/);
    await expect(tokens.verify(await forge((jwt) => jwt, key, 'k9'))).rejects.toThrow(/invalid/);
    const noKid = await new SignJWT({ user_id: user.userId, username: 'ada', sid: 's' })
      .setProtectedHeader({ alg: 'HS256' })
      .setIssuer('foundation')
      .setAudience('foundation-api')
      .setJti('j')
      .setIssuedAt()
      .setNotBefore('0s')
      .setExpirationTime('1m')
      .sign(key);
    await expect(tokens.verify(noKid)).rejects.toThrow(/invalid/);
    // A service that only verifies (old key) cannot sign for the new one.
    const verifierOnly = createAccessTokens({
      ...options,
      signingKey: oldKey,
      verificationKeys: [],
    });
    await expect(verifierOnly.verify((await tokens.issue(user)).token)).rejects.toThrow(/invalid/);
  });

  it('are verified by an independent JWT library (jsonwebtoken), and verify its tokens', async () => {
    const { token } = await tokens.issue(user);
    const theirs = jsonwebtoken.verify(token, signingKey.secret, {
      algorithms: ['HS256'],
      issuer: 'foundation',
      audience: 'foundation-api',
    });
    expect(theirs).toMatchObject({ user_id: user.userId, sid: user.sessionId, scope: 'admin' });
    const minted = jsonwebtoken.sign(
      { user_id: user.userId, username: 'ada', sid: user.sessionId, scope: 'admin' },
      signingKey.secret,
      {
        algorithm: 'HS256',
        keyid: 'k2',
        issuer: 'foundation',
        audience: 'foundation-api',
        jwtid: 'from-jsonwebtoken',
        notBefore: 0,
        expiresIn: 60,
      },
    );
    await expect(tokens.verify(minted)).resolves.toMatchObject({
      userId: user.userId,
      sessionId: user.sessionId,
      scopes: ['admin'],
      tokenId: 'from-jsonwebtoken',
    });
    // The same library with its default (no algorithm pinned) cannot slip `none` past us.
    const none = jsonwebtoken.sign({ user_id: user.userId, username: 'ada', sid: 's' }, '', {
      algorithm: 'none',
    });
    await expect(tokens.verify(none)).rejects.toThrow(/invalid/);
  });

  it.each([
    [
      'expired',
      (jwt: SignJWT) => jwt.setExpirationTime(Math.floor(Date.now() / 1000) - 60),
      /expired/,
    ],
    [
      'not yet valid',
      (jwt: SignJWT) => jwt.setNotBefore(Math.floor(Date.now() / 1000) + 600),
      /invalid/,
    ],
    ['from another issuer', (jwt: SignJWT) => jwt.setIssuer('evil'), /invalid/],
    ['for another audience', (jwt: SignJWT) => jwt.setAudience('other'), /invalid/],
  ])('are refused when %s', async (_name, edit, message) => {
    const error = await tokens.verify(await forge(edit)).catch((e: unknown) => e);
    expect(error).toMatchObject({
      message: expect.stringMatching(message),
      extensions: { code: 'UNAUTHENTICATED', http: { status: 401 } },
    });
  });

  it('are refused when signed with another key', async () => {
    const token = await forge(
      (jwt) => jwt,
      new TextEncoder().encode('another-secret-another-secret-xx'),
    );
    await expect(tokens.verify(token)).rejects.toMatchObject({
      extensions: { code: 'UNAUTHENTICATED' },
    });
  });

  it('are refused with alg none or a tampered payload', async () => {
    const good = await forge((jwt) => jwt);
    const [, payload, signature] = good.split('.');
    const none = `${Buffer.from('{"alg":"none"}').toString('base64url')}.${payload}.`;
    await expect(tokens.verify(none)).rejects.toMatchObject({
      extensions: { code: 'UNAUTHENTICATED' },
    });
    const evil = Buffer.from(JSON.stringify({ ...decodeJwt(good), username: 'root' })).toString(
      'base64url',
    );
    const tampered = `${good.split('.')[0]}.${evil}.${signature}`;
    await expect(tokens.verify(tampered)).rejects.toMatchObject({
      extensions: { code: 'UNAUTHENTICATED' },
    });
  });
});

describe('identity assertions', () => {
  const assertions = createIdentityAssertions({
    secret: 'internal-secret-internal-secret-xx',
    ttlSeconds: 60,
  });

  it('round-trip users, services and anonymous callers', async () => {
    const person: UserPrincipal = {
      kind: 'user',
      ...user,
      tokenId: 'j1',
      tokenExpiresAt: new Date(Math.floor(Date.now() / 1000 + 900) * 1000),
    };
    const services: Principal[] = [
      { kind: 'service', apiKeyId: '0123456789abcdef', name: 'billing', ownerId: null, scopes: [] },
      {
        kind: 'service',
        apiKeyId: 'fedcba9876543210',
        name: 'crm',
        ownerId: 'u1',
        scopes: ['a', 'b'],
      },
    ];
    for (const principal of [person, ...services, { kind: 'anonymous' } as const]) {
      await expect(assertions.verify(await assertions.sign(principal))).resolves.toEqual(principal);
    }
  });

  it('refuse missing, forged and user-token assertions', async () => {
    await expect(assertions.verify(undefined)).rejects.toMatchObject({
      extensions: { code: 'UNAUTHENTICATED' },
    });
    const other = createIdentityAssertions({
      secret: 'a-different-secret-a-different-xx',
      ttlSeconds: 60,
    });
    await expect(assertions.verify(await other.sign({ kind: 'anonymous' }))).rejects.toThrow(
      /invalid/,
    );
    // A user access token signed with the user JWT key is not an assertion.
    await expect(assertions.verify((await tokens.issue(user)).token)).rejects.toThrow(/invalid/);
    // Signed with the right secret but claiming a kind it cannot describe.
    const key = new TextEncoder().encode('internal-secret-internal-secret-xx');
    const odd = await new SignJWT({ kind: 'root' })
      .setProtectedHeader({ alg: 'HS256' })
      .setIssuer('foundation-router')
      .setAudience('foundation-subgraphs')
      .setExpirationTime('1m')
      .sign(key);
    await expect(assertions.verify(odd)).rejects.toThrow(/invalid/);
  });
});
