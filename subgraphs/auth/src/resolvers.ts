import { isUniqueViolation, type User } from '@foundation/db';
import {
  adminScope,
  apiKeyCacheKey,
  DateTimeScalar as DateTime,
  ErrorCode,
  eventStream,
  foundationError,
  hasScopes,
  sha256Hex,
  snapshotOfUser,
  type EventOf,
  type Principal,
  type UserPrincipal,
} from '@foundation/platform';
import type { Resolvers } from './__generated__/resolvers-types.js';
import { createApiKey, scopesOf } from './api-keys.js';
import { decoyHash, hashPassword, verifyPassword } from './passwords.js';
import { endSession, publishActivity, refreshSession, startSession } from './sessions.js';
import { checkPassword, normalizeEmail, normalizeUsername } from './validation.js';

/** One message for unknown user and wrong password, so neither can be told apart. */
const invalidCredentials = () =>
  foundationError(ErrorCode.UNAUTHENTICATED, 'Invalid username/email or password');

const rateLimited = (retryAfterSeconds: number) =>
  foundationError(
    ErrorCode.RATE_LIMITED,
    `Too many login attempts; try again in ${retryAfterSeconds} seconds`,
    { retryAfterSeconds },
  );

/** The signed-in person; services (API keys) have no sessions of their own. */
function requireUser(principal: Principal): UserPrincipal {
  if (principal.kind === 'user') return principal;
  throw principal.kind === 'anonymous'
    ? foundationError(ErrorCode.UNAUTHENTICATED, 'Not signed in: log in first')
    : foundationError(ErrorCode.FORBIDDEN, 'Only a signed-in user can do this, not an API key');
}

const isAdmin = (principal: Principal) => hasScopes(principal, [[adminScope]]);

const notFound = (what: string) => foundationError(ErrorCode.NOT_FOUND, `No such ${what}`);

const activityKinds = { login: 'LOGIN', logout: 'LOGOUT', revoked: 'REVOKED' } as const;

export const resolvers: Resolvers = {
  Subscription: {
    // @requiresScopes(admin) is checked when subscribing (enforceAuthorization).
    sessionActivity: {
      subscribe: (_parent, _args, ctx) => eventStream(ctx.events, 'session.activity'),
      resolve: (event: EventOf<'session.activity'>) => ({
        kind: activityKinds[event.kind],
        user: { id: event.userId },
        sessionId: event.sessionId,
        at: event.at,
      }),
    },
  },
  DateTime,
  Query: {
    me(_parent, _args, ctx) {
      return { id: requireUser(ctx.principal).userId };
    },
    async sessions(_parent, _args, ctx) {
      return ctx.sessions.listForUser(requireUser(ctx.principal).userId);
    },
    async apiKeys(_parent, _args, ctx) {
      return ctx.prisma.apiKey.findMany({ orderBy: { createdAt: 'desc' } });
    },
  },
  User: {
    async sessions(user, _args, ctx) {
      const { principal } = ctx;
      const own = principal.kind === 'user' && principal.userId === user.id;
      if (!own && !isAdmin(principal)) {
        throw foundationError(
          ErrorCode.FORBIDDEN,
          'Only the user themself or an admin may see their sessions',
        );
      }
      return ctx.sessions.listForUser(user.id);
    },
  },
  Session: {
    current: (session, _args, ctx) =>
      ctx.principal.kind === 'user' && ctx.principal.sessionId === session.id,
  },
  ApiKey: {
    scopes: (apiKey) => scopesOf(apiKey),
    owner: (apiKey) => (apiKey.ownerId === null ? null : { id: apiKey.ownerId }),
  },
  Mutation: {
    async register(_parent, args, ctx) {
      const username = normalizeUsername(args.username);
      const email = normalizeEmail(args.email);
      checkPassword(args.password, ctx.passwordMinLength, { username, email });
      const passwordHash = await hashPassword(args.password);
      let user: User;
      try {
        user = await ctx.prisma.user.create({
          data: {
            username,
            email,
            displayName: username,
            credential: { create: { passwordHash } },
          },
        });
      } catch (error) {
        const violation = isUniqueViolation(error);
        if (!violation) throw error;
        const field = violation.fields.includes('email') ? 'email' : 'username';
        throw foundationError(ErrorCode.BAD_USER_INPUT, `That ${field} is already taken`, {
          field,
          rule: 'taken',
        });
      }
      ctx.logger.info({ userId: user.id }, 'user registered');
      // Session first, so a dashboard resolving the new user's sessions sees this one.
      const signedIn = await startSession(ctx, user);
      await ctx.events.publish({ type: 'user.registered', user: snapshotOfUser(user) });
      return signedIn;
    },
    async login(_parent, { usernameOrEmail, password }, ctx) {
      // Per address first: it is the cheap check, and spares the database a flood.
      const byIp = await ctx.loginLimits.perIp.consume(ctx.client.ip ?? 'unknown');
      if (!byIp.allowed) throw rateLimited(byIp.retryAfterSeconds);
      const login = usernameOrEmail.trim().toLowerCase();
      const user = await ctx.prisma.user.findUnique({
        where: login.includes('@') ? { email: login } : { username: login },
        include: { credential: true },
      });
      // Unknown accounts are counted too, under what was typed (hashed, so a huge input
      // makes no huge key), so that being limited does not reveal whether one exists.
      const accountKey = user ? `user:${user.id}` : `unknown:${sha256Hex(login)}`;
      const byAccount = await ctx.loginLimits.perAccount.consume(accountKey);
      if (!byAccount.allowed) {
        ctx.logger.warn({ known: Boolean(user) }, 'login rate limited for an account');
        throw rateLimited(byAccount.retryAfterSeconds);
      }
      // Always run one hash comparison, so the time taken does not reveal whether the
      // account exists.
      const valid = await verifyPassword(
        password,
        user?.credential?.passwordHash ?? (await decoyHash),
      );
      if (!user || !user.credential || !valid) {
        ctx.logger.info({ known: Boolean(user) }, 'login failed');
        throw invalidCredentials();
      }
      await ctx.loginLimits.perAccount.reset(accountKey);
      ctx.logger.info({ userId: user.id }, 'user logged in');
      return startSession(ctx, user);
    },
    async refresh(_parent, { refreshToken }, ctx) {
      return refreshSession(ctx, refreshToken);
    },
    async logout(_parent, _args, ctx) {
      const caller = requireUser(ctx.principal);
      await endSession(ctx, caller);
      ctx.logger.info({ userId: caller.userId, sessionId: caller.sessionId }, 'logged out');
      return true;
    },
    async logoutAll(_parent, _args, ctx) {
      const caller = requireUser(ctx.principal);
      const ended = await ctx.sessions.deleteAllForUser(caller.userId);
      await ctx.revocations.revoke(caller.tokenId, caller.tokenExpiresAt);
      await publishActivity(ctx, 'logout', caller.userId, caller.sessionId);
      ctx.logger.info({ userId: caller.userId, ended }, 'logged out everywhere');
      return ended;
    },
    async revokeSession(_parent, { id }, ctx) {
      const { principal } = ctx;
      const session = await ctx.sessions.get(id);
      const allowed =
        session &&
        ((principal.kind === 'user' && principal.userId === session.userId) || isAdmin(principal));
      // Someone else's session is "not found" too: its id says nothing to a stranger.
      if (!allowed) throw notFound('session');
      if (principal.kind === 'user' && principal.sessionId === id) {
        await endSession(ctx, principal);
      } else {
        await ctx.sessions.delete(id);
        await publishActivity(ctx, 'revoked', session.userId, id);
      }
      ctx.logger.info({ sessionId: id, userId: session.userId }, 'session revoked');
      return true;
    },
    async createApiKey(_parent, { input }, ctx) {
      const { principal } = ctx;
      const ownerId =
        principal.kind === 'user'
          ? principal.userId
          : principal.kind === 'service'
            ? principal.ownerId
            : null;
      const created = await createApiKey(ctx.prisma, {
        name: input.name,
        scopes: input.scopes,
        expiresAt: input.expiresAt ? new Date(input.expiresAt) : null,
        ownerId,
      });
      ctx.logger.info({ apiKeyId: created.apiKey.id, ownerId }, 'api key created');
      return created;
    },
    async revokeApiKey(_parent, { id }, ctx) {
      const apiKey = await ctx.prisma.apiKey.findUnique({ where: { id } });
      if (!apiKey) throw notFound('API key');
      const revoked = apiKey.revokedAt
        ? apiKey
        : await ctx.prisma.apiKey.update({ where: { id }, data: { revokedAt: new Date() } });
      // Routers cache lookups briefly; dropping the entry makes the revocation immediate.
      await ctx.cache.delete(apiKeyCacheKey(id));
      ctx.logger.info({ apiKeyId: id }, 'api key revoked');
      return revoked;
    },
  },
};
