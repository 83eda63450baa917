import type { Database } from '@foundation/db';
import { openTestDatabase, type TestDatabase } from '@foundation/db/testing';
import { createMemoryEventBus, type EventBus } from '@foundation/platform';
import {
  serveSubgraph,
  testAssertions,
  testLogger,
  type SubgraphClient,
} from '@foundation/platform/testing';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createSearchSubgraph, UserIndex } from '../src/index.js';

const snapshot = (id: string, username: string, displayName: string) => ({
  id,
  username,
  displayName,
  createdAt: new Date(0).toISOString(),
});

describe('UserIndex', () => {
  const index = new UserIndex();
  index.upsert(snapshot('1', 'ada_lovelace', 'Ada Lovelace'));
  index.upsert(snapshot('2', 'grace', 'Grace Hopper'));
  index.upsert(snapshot('3', 'lovelace_fan', 'Someone Else'));

  it('finds by prefix and with a typo, best match first', () => {
    expect(index.search('lovel').map((h) => h.id)).toEqual(['1', '3']);
    expect(index.search('hoper').map((h) => h.id)).toEqual(['2']);
  });

  it('says which field matched which term', () => {
    expect(index.search('grace')[0]?.matches).toEqual(
      expect.arrayContaining([
        { field: 'username', terms: ['grace'] },
        { field: 'displayName', terms: ['grace'] },
      ]),
    );
  });

  it('replaces what it knew of a user on upsert', () => {
    index.upsert(snapshot('2', 'grace', 'Admiral Hopper'));
    expect(index.size).toBe(3);
    expect(index.search('admiral').map((h) => h.id)).toEqual(['2']);
  });
});

describe('search subgraph', () => {
  let testDb: TestDatabase;
  let db: Database;
  let events: EventBus;
  let client: SubgraphClient;

  beforeAll(async () => {
    testDb = await openTestDatabase();
    db = testDb.db;
    for (let i = 0; i < 25; i++) {
      await db.prisma.user.create({
        data: { username: `tester${i}`, email: `t${i}@example.com`, displayName: `Test User ${i}` },
      });
    }
    const logger = testLogger();
    events = createMemoryEventBus(logger);
    client = await serveSubgraph(
      await createSearchSubgraph({
        db,
        events,
        assertions: testAssertions,
        logger,
        maxPageSize: 100,
      }),
    );
  });

  afterAll(async () => {
    await client?.close();
    await testDb?.close();
  });

  type Page = {
    search: {
      totalCount: number;
      edges: { cursor: string; node: { id: string } }[];
      pageInfo: { hasNextPage: boolean; endCursor: string | null };
    };
  };
  const query =
    'query ($q: String!, $after: String) { search(query: $q, first: 10, after: $after) { totalCount edges { cursor node { id } } pageInfo { hasNextPage endCursor } } }';

  it('indexes the database at start and pages through ranked hits', async () => {
    const ids: string[] = [];
    let after: string | null = null;
    for (;;) {
      const res: { data?: Page | null } = await client.request<Page>(query, {
        variables: { q: 'test', after },
      });
      expect(res.data!.search.totalCount).toBe(25);
      ids.push(...res.data!.search.edges.map((e) => e.node.id));
      if (!res.data!.search.pageInfo.hasNextPage) break;
      after = res.data!.search.pageInfo.endCursor;
    }
    expect(new Set(ids).size).toBe(25);
  });

  it('sees users registered after start through the event bus', async () => {
    await events.publish({
      type: 'user.registered',
      user: snapshot('new-1', 'zeno', 'Zeno of Elea'),
    });
    await vi.waitFor(async () => {
      const res = await client.request<Page>(query, { variables: { q: 'elea' } });
      expect(res.data!.search.edges.map((e) => e.node.id)).toEqual(['new-1']);
    });
  });

  it.each([
    [{ q: '   ' }, 'query'],
    [{ q: 'x'.repeat(201) }, 'query'],
    [{ q: 'test', after: 'garbage' }, 'after'],
  ])('refuses %j with BAD_USER_INPUT on %s', async (variables, field) => {
    const res = await client.request(query, { variables });
    expect(res.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field });
  });
});
