import type { Database } from '@foundation/db';
import {
  createSubgraph,
  snapshotOfUser,
  type EventBus,
  type UserSnapshot,
  type IdentityAssertions,
  type Logger,
  type Subgraph,
} from '@foundation/platform';
import { resolvers } from './resolvers.js';
import { UserIndex } from './user-index.js';

/** What the search subgraph needs from its host process. */
export interface SearchSubgraphOptions {
  /** Read once at start to build the index. */
  db: Database;
  /** Keeps the index fresh after start. */
  events: EventBus;
  assertions: IdentityAssertions;
  logger: Logger;
  /** Most hits one page may hold. */
  maxPageSize: number;
}

const batchSize = 1_000;

/**
 * Builds the search subgraph without listening. It subscribes to user events first, then
 * indexes every user from the database, so no registration in between is missed.
 */
export async function createSearchSubgraph(options: SearchSubgraphOptions): Promise<Subgraph> {
  const index = new UserIndex();
  const { events, logger } = options;
  // Each change is announced once the index holds it (for live dashboards).
  const indexed = async (user: UserSnapshot) => {
    index.upsert(user);
    await events.publish({
      type: 'search.index.updated',
      userId: user.id,
      indexedUsers: index.size,
      at: new Date().toISOString(),
    });
  };
  const unsubscribe = [
    events.subscribe('user.registered', ({ user }) => indexed(user)),
    events.subscribe('user.updated', ({ user }) => indexed(user)),
  ];
  const started = performance.now();
  let cursor: string | undefined;
  for (;;) {
    const rows = await options.db.prisma.user.findMany({
      ...(cursor ? { where: { id: { gt: cursor } } } : {}),
      orderBy: { id: 'asc' },
      take: batchSize,
      select: { id: true, username: true, displayName: true, createdAt: true },
    });
    for (const row of rows) index.upsert(snapshotOfUser(row));
    if (rows.length < batchSize) break;
    cursor = rows.at(-1)?.id;
    logger.info({ indexed: index.size }, 'building search index');
  }
  logger.info(
    { users: index.size, ms: Math.round(performance.now() - started) },
    'search index built',
  );
  const subgraph = await createSubgraph({
    name: 'search',
    resolvers,
    logger,
    assertions: options.assertions,
    context: (base) => ({ ...base, index, events, maxPageSize: options.maxPageSize }),
  });
  return {
    ...subgraph,
    async stop() {
      for (const off of unsubscribe) off();
      await subgraph.stop();
    },
  };
}

export { UserIndex } from './user-index.js';
