import { randomBytes, randomUUID } from 'node:crypto';
import type { User } from '@foundation/db';
import {
  ErrorCode,
  foundationError,
  scopesForRole,
  sha256Hex,
  type Session,
  type UserPrincipal,
  type SessionActivityKind,
} from '@foundation/platform';
import type { Context } from './context.js';

/**
 * Refresh tokens are `<sessionId>.<32 random bytes, base64url>`: opaque to clients, and
 * naming their session so presenting one is a single store lookup. The store keeps only
 * their SHA-256.
 */
const refreshTokenPattern = /^([0-9a-f-]{36})\.[\w-]{43}$/;

function newRefreshToken(sessionId: string): string {
  return `${sessionId}.${randomBytes(32).toString('base64url')}`;
}

/** What login, register and refresh answer (the GraphQL `AuthPayload`). */
export interface SignedIn {
  token: string;
  expiresAt: Date;
  refreshToken: string;
  refreshTokenExpiresAt: Date;
  session: Session;
  user: { id: string };
}

/** Starts a session for `user` where the router says the request came from. */
export async function startSession(ctx: Context, user: User): Promise<SignedIn> {
  const now = Date.now();
  const id = randomUUID();
  const refreshToken = newRefreshToken(id);
  const session: Session = {
    id,
    userId: user.id,
    createdAt: new Date(now),
    lastSeenAt: new Date(now),
    expiresAt: new Date(now + ctx.sessionTtlSeconds * 1000),
    clientIp: ctx.client.ip,
    userAgent: ctx.client.userAgent,
    refreshTokenHash: sha256Hex(refreshToken),
  };
  await ctx.sessions.create(session);
  await publishActivity(ctx, 'login', user.id, id);
  return signedIn(ctx, user, session, refreshToken);
}

/**
 * Tells live dashboards (the `sessionActivity` subscription) about a sign-in or sign-out.
 * A bus failure is logged, not thrown: the session change itself has happened.
 */
export async function publishActivity(
  ctx: Context,
  kind: SessionActivityKind,
  userId: string,
  sessionId: string,
): Promise<void> {
  await ctx.events
    .publish({ type: 'session.activity', kind, userId, sessionId, at: new Date().toISOString() })
    .catch((err: unknown) => ctx.logger.warn({ err }, 'could not publish session activity'));
}

/**
 * Rotates a refresh token and issues a new access token for its session. The user is
 * read again, so a new role or username takes effect at the next refresh.
 * @throws GraphQLError UNAUTHENTICATED when the token is unknown, expired or reused (the
 * last also ends the session, since a used token coming back means someone copied it).
 */
export async function refreshSession(ctx: Context, refreshToken: string): Promise<SignedIn> {
  const sessionId = refreshTokenPattern.exec(refreshToken)?.[1];
  if (sessionId === undefined) throw invalidRefreshToken();
  const next = newRefreshToken(sessionId);
  const result = await ctx.sessions.rotateRefreshToken(
    sessionId,
    sha256Hex(refreshToken),
    sha256Hex(next),
  );
  switch (result.status) {
    case 'invalid':
      throw invalidRefreshToken();
    case 'reused':
      ctx.logger.warn(
        { sessionId, userId: result.session.userId },
        'refresh token reused: session ended',
      );
      throw foundationError(
        ErrorCode.UNAUTHENTICATED,
        'This refresh token was already used, so the session has been ended for safety; log in again',
      );
    case 'rotated': {
      const user = await ctx.prisma.user.findUnique({ where: { id: result.session.userId } });
      if (!user) {
        await ctx.sessions.delete(sessionId);
        throw invalidRefreshToken();
      }
      return signedIn(ctx, user, result.session, next);
    }
  }
}

async function signedIn(
  ctx: Context,
  user: User,
  session: Session,
  refreshToken: string,
): Promise<SignedIn> {
  const { token, expiresAt } = await ctx.accessTokens.issue({
    userId: user.id,
    username: user.username,
    sessionId: session.id,
    scopes: scopesForRole(user.role),
  });
  return {
    token,
    expiresAt,
    refreshToken,
    refreshTokenExpiresAt: session.expiresAt,
    session,
    user: { id: user.id },
  };
}

/** Ends a session and revokes the access token in hand until it would expire. */
export async function endSession(ctx: Context, caller: UserPrincipal): Promise<void> {
  await ctx.sessions.delete(caller.sessionId);
  await ctx.revocations.revoke(caller.tokenId, caller.tokenExpiresAt);
  await publishActivity(ctx, 'logout', caller.userId, caller.sessionId);
}

function invalidRefreshToken() {
  return foundationError(
    ErrorCode.UNAUTHENTICATED,
    'Refresh token is invalid or its session has ended; log in again',
  );
}
