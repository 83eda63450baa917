import {
  decodeCursor,
  encodeCursor,
  ErrorCode,
  foundationError,
  pageSize,
  DateTimeScalar as DateTime,
  eventStream,
  type EventOf,
} from '@foundation/platform';
import type { Resolvers } from './__generated__/resolvers-types.js';

const cursorKind = 'search';
const maxQueryLength = 200;

export const resolvers: Resolvers = {
  DateTime,
  Subscription: {
    searchIndexUpdated: {
      subscribe: (_parent, _args, ctx) => eventStream(ctx.events, 'search.index.updated'),
      resolve: (event: EventOf<'search.index.updated'>) => ({
        user: { id: event.userId },
        indexedUsers: event.indexedUsers,
        at: event.at,
      }),
    },
  },
  Query: {
    search(_parent, { query, first, after }, ctx) {
      const text = query.trim();
      if (text.length < 1 || text.length > maxQueryLength) {
        throw foundationError(
          ErrorCode.BAD_USER_INPUT,
          `query must be 1–${maxQueryLength} characters`,
          { field: 'query' },
        );
      }
      const size = pageSize(first, 10, ctx.maxPageSize);
      // The cursor is the offset into the ranked list; stable while the index is unchanged.
      const offset = after ? Number(decodeCursor(cursorKind, after)) + 1 : 0;
      if (!Number.isSafeInteger(offset) || offset < 0) {
        throw foundationError(ErrorCode.BAD_USER_INPUT, '"after" is not a cursor of this list', {
          field: 'after',
        });
      }
      const hits = ctx.index.search(text);
      const edges = hits.slice(offset, offset + size).map((hit, i) => ({
        cursor: encodeCursor(cursorKind, String(offset + i)),
        score: hit.score,
        matches: hit.matches,
        node: { id: hit.id },
      }));
      return {
        edges,
        totalCount: hits.length,
        pageInfo: {
          hasNextPage: offset + size < hits.length,
          endCursor: edges.at(-1)?.cursor ?? null,
        },
      };
    },
  },
};
