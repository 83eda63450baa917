import { randomUUID } from 'node:crypto';
import { errors as joseErrors, jwtVerify, SignJWT } from 'jose';
import { ErrorCode, foundationError } from './errors.js';

/** Who is calling. Services (API keys) join this union with the identity issue. */
export type Principal = AnonymousPrincipal | UserPrincipal;
export interface AnonymousPrincipal {
  kind: 'anonymous';
}
export interface UserPrincipal {
  kind: 'user';
  userId: string;
  username: string;
}

/** The caller no credential was presented for. */
export const anonymous: AnonymousPrincipal = Object.freeze({ kind: 'anonymous' });

/** Header carrying the router's signed identity assertion to subgraphs. */
export const IDENTITY_ASSERTION_HEADER = 'x-identity-assertion';
/** Header carrying the request id from client (optional) through router to subgraphs. */
export const REQUEST_ID_HEADER = 'x-request-id';

// Both token kinds are HMAC-SHA256 and verified with the algorithm pinned, so a token
// cannot choose its own algorithm (`none`, or an asymmetric key used as an HMAC secret).
const algorithm = 'HS256';
const encoder = new TextEncoder();

export interface AccessTokenOptions {
  secret: string;
  issuer: string;
  audience: string;
  /** Lifetime of a new token, in seconds. */
  ttlSeconds: number;
  /** Clock skew tolerated on `iat`/`nbf`/`exp`, in seconds. */
  clockSkewSeconds: number;
}

/** A freshly issued access token. */
export interface IssuedToken {
  token: string;
  expiresAt: Date;
}

/** Issues and verifies user access tokens (JWT, HS256; claims as in the Go seed). */
export interface AccessTokens {
  issue(user: { id: string; username: string }): Promise<IssuedToken>;
  /** @throws GraphQLError UNAUTHENTICATED (HTTP 401) when the token is not valid now. */
  verify(token: string): Promise<UserPrincipal & { tokenId: string; expiresAt: Date }>;
}

/** Creates the access token service shared by the auth subgraph (issue) and router (verify). */
export function createAccessTokens(options: AccessTokenOptions): AccessTokens {
  const key = encoder.encode(options.secret);
  return {
    async issue(user) {
      const now = Math.floor(Date.now() / 1000);
      const exp = now + options.ttlSeconds;
      const token = await new SignJWT({ user_id: user.id, username: user.username })
        .setProtectedHeader({ alg: algorithm, typ: 'JWT' })
        .setIssuer(options.issuer)
        .setAudience(options.audience)
        .setSubject(user.id)
        .setJti(randomUUID())
        .setIssuedAt(now)
        .setNotBefore(now)
        .setExpirationTime(exp)
        .sign(key);
      return { token, expiresAt: new Date(exp * 1000) };
    },
    async verify(token) {
      try {
        const { payload } = await jwtVerify(token, key, {
          algorithms: [algorithm],
          issuer: options.issuer,
          audience: options.audience,
          clockTolerance: options.clockSkewSeconds,
          requiredClaims: ['iat', 'nbf', 'exp', 'jti', 'user_id', 'username'],
        });
        const { user_id: userId, username, jti, exp } = payload;
        if (typeof userId !== 'string' || typeof username !== 'string' || jti === undefined) {
          throw unauthenticated('Access token is invalid');
        }
        return { kind: 'user', userId, username, tokenId: jti, expiresAt: new Date(exp! * 1000) };
      } catch (error) {
        throw error instanceof joseErrors.JWTExpired
          ? unauthenticated('Access token has expired; log in again')
          : unauthenticated('Access token is invalid');
      }
    },
  };
}

export interface IdentityAssertionOptions {
  secret: string;
  /** Lifetime of an assertion, in seconds. */
  ttlSeconds: number;
}

/**
 * The router tells subgraphs who is calling with a short-lived assertion it signs itself,
 * never by forwarding the client's credential. Subgraphs accept no request without one.
 */
export interface IdentityAssertions {
  sign(principal: Principal): Promise<string>;
  /** @throws GraphQLError UNAUTHENTICATED (HTTP 401) when absent, forged or expired. */
  verify(assertion: string | undefined): Promise<Principal>;
}

const assertionIssuer = 'foundation-router';
const assertionAudience = 'foundation-subgraphs';

/** Creates the signer (router) and verifier (subgraphs) of identity assertions. */
export function createIdentityAssertions(options: IdentityAssertionOptions): IdentityAssertions {
  const key = encoder.encode(options.secret);
  // Signing costs an HMAC per subgraph call; reuse an assertion until half its life is
  // spent. Bounded so a flood of distinct users cannot grow it without limit.
  const cache = new Map<string, { assertion: string; renewAt: number }>();
  const maxCached = 10_000;
  return {
    async sign(principal) {
      const cacheKey =
        principal.kind === 'user' ? `u:${principal.userId}:${principal.username}` : 'a';
      const now = Date.now();
      const hit = cache.get(cacheKey);
      if (hit && hit.renewAt > now) return hit.assertion;
      const claims = principal.kind === 'user' ? { username: principal.username } : {};
      const jwt = new SignJWT({ kind: principal.kind, ...claims })
        .setProtectedHeader({ alg: algorithm })
        .setIssuer(assertionIssuer)
        .setAudience(assertionAudience)
        .setIssuedAt()
        .setExpirationTime(Math.floor(now / 1000) + options.ttlSeconds);
      if (principal.kind === 'user') jwt.setSubject(principal.userId);
      const assertion = await jwt.sign(key);
      if (cache.size >= maxCached) cache.clear();
      cache.set(cacheKey, { assertion, renewAt: now + (options.ttlSeconds * 1000) / 2 });
      return assertion;
    },
    async verify(assertion) {
      if (!assertion)
        throw unauthenticated('Missing identity assertion; call the router, not the subgraph');
      try {
        const { payload } = await jwtVerify(assertion, key, {
          algorithms: [algorithm],
          issuer: assertionIssuer,
          audience: assertionAudience,
          requiredClaims: ['exp', 'kind'],
        });
        if (payload['kind'] === 'anonymous') return anonymous;
        if (
          payload['kind'] === 'user' &&
          typeof payload.sub === 'string' &&
          typeof payload['username'] === 'string'
        ) {
          return { kind: 'user', userId: payload.sub, username: payload['username'] };
        }
      } catch {
        // fall through: every failure gets the same answer
      }
      throw unauthenticated('Identity assertion is invalid');
    },
  };
}

function unauthenticated(message: string) {
  return foundationError(ErrorCode.UNAUTHENTICATED, message, { http: { status: 401 } });
}

/** The token services of a process, built from its config. */
export function identityFromConfig(config: {
  auth: {
    issuer: string;
    audience: string;
    accessTokenTtlSeconds: number;
    clockSkewSeconds: number;
    assertionTtlSeconds: number;
  };
  secrets: { jwtSecret: string; internalTokenSecret: string };
}): { accessTokens: AccessTokens; assertions: IdentityAssertions } {
  return {
    accessTokens: createAccessTokens({
      secret: config.secrets.jwtSecret,
      issuer: config.auth.issuer,
      audience: config.auth.audience,
      ttlSeconds: config.auth.accessTokenTtlSeconds,
      clockSkewSeconds: config.auth.clockSkewSeconds,
    }),
    assertions: createIdentityAssertions({
      secret: config.secrets.internalTokenSecret,
      ttlSeconds: config.auth.assertionTtlSeconds,
    }),
  };
}
