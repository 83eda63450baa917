import { SignJWT, decodeJwt } from 'jose';
import { describe, expect, it } from 'vitest';
import { createAccessTokens, createIdentityAssertions } from '../src/identity.js';

const options = {
  secret: 'test-secret-test-secret-test-secret',
  issuer: 'foundation',
  audience: 'foundation-api',
  ttlSeconds: 3600,
  clockSkewSeconds: 5,
};
const tokens = createAccessTokens(options);
const key = new TextEncoder().encode(options.secret);
const user = { id: '0190c0de-0000-7000-8000-000000000001', username: 'ada' };

/** A token with our claims, altered by `edit`, signed with `secret`. */
function forge(edit: (jwt: SignJWT) => SignJWT, secret = key) {
  const now = Math.floor(Date.now() / 1000);
  const base = new SignJWT({ user_id: user.id, username: user.username })
    .setProtectedHeader({ alg: 'HS256' })
    .setIssuer(options.issuer)
    .setAudience(options.audience)
    .setJti('j1')
    .setIssuedAt(now)
    .setNotBefore(now)
    .setExpirationTime(now + 60);
  return edit(base).sign(secret);
}

describe('access tokens', () => {
  it('carry the seed claims in UTC seconds and verify', async () => {
    const { token, expiresAt } = await tokens.issue(user);
    const claims = decodeJwt(token);
    expect(claims).toMatchObject({
      user_id: user.id,
      username: 'ada',
      iss: 'foundation',
      aud: 'foundation-api',
    });
    expect(claims.exp! - claims.iat!).toBe(3600);
    expect(claims.nbf).toBe(claims.iat);
    expect(expiresAt.getTime()).toBe(claims.exp! * 1000);
    await expect(tokens.verify(token)).resolves.toMatchObject({
      kind: 'user',
      userId: user.id,
      username: 'ada',
    });
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

  it('round-trip users and anonymous callers', async () => {
    const principal = { kind: 'user', userId: user.id, username: 'ada' } as const;
    await expect(assertions.verify(await assertions.sign(principal))).resolves.toEqual(principal);
    await expect(assertions.verify(await assertions.sign({ kind: 'anonymous' }))).resolves.toEqual({
      kind: 'anonymous',
    });
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
  });
});
