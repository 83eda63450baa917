import DataLoader from 'dataloader';
import type { Database, User } from '@foundation/db';
import {
  type CacheAside,
  decodeCursor,
  encodeCursor,
  ErrorCode,
  foundationError,
  pageSize,
  snapshotOfUser,
  DateTimeScalar as DateTime,
  eventStream,
  type EventOf,
  type UserSnapshot,
} from '@foundation/platform';
import type { Context } from './context.js';
import type { Resolvers } from './__generated__/resolvers-types.js';

const cursorKind = 'user';
const maxDisplayNameLength = 64;

/**
/**
 * All the users a request asks for by id, in the order asked: from the cache, and the
 * misses in one query (a request's ids are batched by DataLoader). `ownId` (the caller's)
 * is read from the primary, past the cache, so a user always sees their own latest writes
 * (read-your-writes); everyone else may come from the cache or a replica.
 */
export function createUserLoader(
  db: Pick<Database, 'prisma' | 'primary'>,
  cache: CacheAside<User>,
  ownId: string | null = null,
): DataLoader<string, User | null> {
  return new DataLoader(async (ids) => {
    const others = ids.filter((id) => id !== ownId);
    const [own, rest] = await Promise.all([
      ownId !== null && ids.includes(ownId)
        ? db.primary.user.findUnique({ where: { id: ownId } })
        : null,
      cache.getMany(others, async (missing) => {
        const rows = await db.prisma.user.findMany({ where: { id: { in: missing } } });
        return new Map(rows.map((row) => [row.id, row]));
      }),
    ]);
    const byId = new Map(others.map((id, i) => [id, rest[i] ?? null]));
    return ids.map((id) => (id === ownId ? own : (byId.get(id) ?? null)));
  });
}

/**
 * The user an event is about, read fresh: a subscription's context lives as long as the
 * subscription, so its DataLoader would serve stale rows.
 */
async function userOf(event: { user: UserSnapshot }, ctx: Context): Promise<User> {
  const row = await ctx.prisma.user.findUnique({ where: { id: event.user.id } });
  if (!row) throw foundationError(ErrorCode.NOT_FOUND, 'That user no longer exists');
  return row;
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
      // Every process's next read of this user goes to the database.
      await ctx.userCache.invalidate(user.id);
      await ctx.events.publish({ type: 'user.updated', user: snapshotOfUser(user) });
      ctx.logger.info({ userId: user.id }, 'profile updated');
      return user;
    },
  },
  Subscription: {
    userRegistered: {
      subscribe: (_parent, _args, ctx) => eventStream(ctx.events, 'user.registered'),
      resolve: (event: EventOf<'user.registered'>, _args: unknown, ctx: Context) =>
        userOf(event, ctx),
    },
    userUpdated: {
      subscribe: (_parent, { id }, ctx) =>
        eventStream(ctx.events, 'user.updated', { filter: (event) => event.user.id === id }),
      resolve: (event: EventOf<'user.updated'>, _args: unknown, ctx: Context) => userOf(event, ctx),
    },
  },
  User: {
    __resolveReference: (reference, ctx) => ctx.userById.load(reference.id),
    email: (user, _args, ctx) =>
      ctx.principal.kind === 'user' && ctx.principal.userId === user.id ? user.email : null,
  },
};
