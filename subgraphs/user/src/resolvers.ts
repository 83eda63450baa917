import DataLoader from 'dataloader';
import type { Database, User } from '@foundation/db';
import {
  decodeCursor,
  encodeCursor,
  ErrorCode,
  foundationError,
  pageSize,
  snapshotOfUser,
  DateTimeScalar as DateTime,
} from '@foundation/platform';
import type { Resolvers } from './__generated__/resolvers-types.js';

const cursorKind = 'user';
const maxDisplayNameLength = 64;

/**
 * One query for all the users a request asks for by id, in the order asked. `ownId` (the
 * caller's) is read from the primary, so a user always sees their own latest writes
 * (read-your-writes); everyone else may come from a replica.
 */
export function createUserLoader(
  db: Pick<Database, 'prisma' | 'primary'>,
  ownId: string | null = null,
): DataLoader<string, User | null> {
  return new DataLoader(async (ids) => {
    const others = ids.filter((id) => id !== ownId);
    const [own, rows] = await Promise.all([
      ownId !== null && ids.includes(ownId)
        ? db.primary.user.findMany({ where: { id: ownId } })
        : [],
      others.length > 0 ? db.prisma.user.findMany({ where: { id: { in: others } } }) : [],
    ]);
    const byId = new Map([...rows, ...own].map((row) => [row.id, row]));
    return ids.map((id) => byId.get(id) ?? null);
  });
}

export const resolvers: Resolvers = {
  DateTime,
  Query: {
    user: (_parent, { id }, ctx) => ctx.userById.load(id),
    async users(_parent, { first, after }, ctx) {
      const take = pageSize(first, 20, 100);
      const afterId = after ? decodeCursor(cursorKind, after) : undefined;
      const [rows, totalCount] = await Promise.all([
        ctx.prisma.user.findMany({
          ...(afterId ? { where: { id: { gt: afterId } } } : {}),
          orderBy: { id: 'asc' },
          take: take + 1,
        }),
        ctx.prisma.user.count(),
      ]);
      const page = rows.slice(0, take);
      const edges = page.map((node) => ({ cursor: encodeCursor(cursorKind, node.id), node }));
      return {
        edges,
        totalCount,
        pageInfo: { hasNextPage: rows.length > take, endCursor: edges.at(-1)?.cursor ?? null },
      };
    },
  },
  Mutation: {
    async updateProfile(_parent, { input }, ctx) {
      if (ctx.principal.kind !== 'user') {
        throw foundationError(ErrorCode.UNAUTHENTICATED, 'Sign in to change your profile');
      }
      const displayName = input.displayName.trim();
      if (displayName.length < 1 || displayName.length > maxDisplayNameLength) {
        throw foundationError(
          ErrorCode.BAD_USER_INPUT,
          `displayName must be 1–${maxDisplayNameLength} characters`,
          { field: 'input.displayName' },
        );
      }
      const user = await ctx.prisma.user
        .update({ where: { id: ctx.principal.userId }, data: { displayName } })
        // Only "no such row" means the account is gone; anything else (the database down)
        // must surface as itself, not as NOT_FOUND.
        .catch((error: unknown) => {
          if ((error as { code?: unknown }).code === 'P2025') return null;
          throw error;
        });
      if (!user) throw foundationError(ErrorCode.NOT_FOUND, 'Your account no longer exists');
      ctx.userById.clear(user.id).prime(user.id, user);
      await ctx.events.publish({ type: 'user.updated', user: snapshotOfUser(user) });
      ctx.logger.info({ userId: user.id }, 'profile updated');
      return user;
    },
  },
  User: {
    __resolveReference: (reference, ctx) => ctx.userById.load(reference.id),
    email: (user, _args, ctx) =>
      ctx.principal.kind === 'user' && ctx.principal.userId === user.id ? user.email : null,
  },
};
