import { isUniqueViolation, type User } from '@foundation/db';
import {
  DateTimeScalar as DateTime,
  ErrorCode,
  foundationError,
  snapshotOfUser,
} from '@foundation/platform';
import type { Resolvers } from './__generated__/resolvers-types.js';
import type { Context } from './context.js';
import { decoyHash, hashPassword, verifyPassword } from './passwords.js';
import { checkPassword, normalizeEmail, normalizeUsername } from './validation.js';

/** One message for unknown user and wrong password, so neither can be told apart. */
const invalidCredentials = () =>
  foundationError(ErrorCode.UNAUTHENTICATED, 'Invalid username/email or password');

async function signIn(ctx: Context, user: User) {
  const { token, expiresAt } = await ctx.accessTokens.issue(user);
  return { token, expiresAt, user: { id: user.id } };
}

export const resolvers: Resolvers = {
  DateTime,
  Query: {
    me(_parent, _args, ctx) {
      if (ctx.principal.kind !== 'user') {
        throw foundationError(
          ErrorCode.UNAUTHENTICATED,
          'Not signed in: send Authorization: Bearer <token> from login or register',
        );
      }
      return { id: ctx.principal.userId };
    },
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
      await ctx.events.publish({ type: 'user.registered', user: snapshotOfUser(user) });
      return signIn(ctx, user);
    },
    async login(_parent, { usernameOrEmail, password }, ctx) {
      const login = usernameOrEmail.trim().toLowerCase();
      const user = await ctx.prisma.user.findUnique({
        where: login.includes('@') ? { email: login } : { username: login },
        include: { credential: true },
      });
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
      ctx.logger.info({ userId: user.id }, 'user logged in');
      return signIn(ctx, user);
    },
  },
};
