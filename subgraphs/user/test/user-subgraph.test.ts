import type { Database, User } from '@foundation/db';
import { openTestDatabase, type TestDatabase } from '@foundation/db/testing';
import {
  createMemoryEventBus,
  snapshotOfUser,
  type DomainEvent,
  type EventBus,
} from '@foundation/platform';
import {
  assertionParams,
  serveSubgraph,
  subscribeOverWebSocket,
  testAssertions,
  testLogger,
  testUser,
  type SubgraphClient,
} from '@foundation/platform/testing';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createUserSubgraph } from '../src/index.js';

let testDb: TestDatabase;
let db: Database;
let client: SubgraphClient;
let events: EventBus;
const published: DomainEvent[] = [];
const users: User[] = [];

beforeAll(async () => {
  testDb = await openTestDatabase();
  db = testDb.db;
  for (const name of ['ada', 'grace', 'alan', 'edsger', 'barbara']) {
    users.push(
      await db.prisma.user.create({
        data: { username: name, email: `${name}@example.com`, displayName: name.toUpperCase() },
      }),
    );
  }
  const logger = testLogger();
  events = createMemoryEventBus(logger);
  events.subscribe('user.updated', (event) => void published.push(event));
  client = await serveSubgraph(
    await createUserSubgraph({ db, events, assertions: testAssertions, logger }),
  );
});

afterAll(async () => {
  await client?.close();
  await testDb?.close();
});

const ada = () => testUser(users[0]!.id, 'ada');

describe('user subgraph', () => {
  it('reads a user by id, and null for an unknown id', async () => {
    const res = await client.request(
      'query ($id: ID!) { user(id: $id) { username displayName createdAt } nobody: user(id: "missing") { id } }',
      {
        variables: { id: users[1]!.id },
      },
    );
    expect(res.data).toEqual({
      user: {
        username: 'grace',
        displayName: 'GRACE',
        createdAt: users[1]!.createdAt.toISOString(),
      },
      nobody: null,
    });
  });

  it('pages through every user once, oldest first', async () => {
    const seen: string[] = [];
    let after: string | null = null;
    for (let page = 0; page < 5; page++) {
      const res: Awaited<
        ReturnType<
          typeof client.request<{
            users: {
              totalCount: number;
              edges: { node: { username: string } }[];
              pageInfo: { hasNextPage: boolean; endCursor: string | null };
            };
          }>
        >
      > = await client.request(
        'query ($after: String) { users(first: 2, after: $after) { totalCount edges { node { username } } pageInfo { hasNextPage endCursor } } }',
        {
          variables: { after },
        },
      );
      const connection = res.data!.users;
      expect(connection.totalCount).toBe(5);
      seen.push(...connection.edges.map((e) => e.node.username));
      if (!connection.pageInfo.hasNextPage) break;
      after = connection.pageInfo.endCursor;
    }
    expect(seen).toEqual(['ada', 'grace', 'alan', 'edsger', 'barbara']);
  });

  it.each([
    ['first: 0', 'first'],
    ['first: 101', 'first'],
    ['after: "bm90LWEtY3Vyc29y"', 'after'],
  ])('refuses %s with BAD_USER_INPUT on %s', async (args, field) => {
    const res = await client.request(`{ users(${args}) { totalCount } }`);
    expect(res.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field });
  });

  it('shows the email to its owner only', async () => {
    const query = 'query ($id: ID!) { user(id: $id) { email } }';
    const variables = { id: users[0]!.id };
    expect((await client.request(query, { variables, principal: ada() })).data).toEqual({
      user: { email: 'ada@example.com' },
    });
    expect((await client.request(query, { variables })).data).toEqual({ user: { email: null } });
  });

  it('resolves N entity references with one database query', async () => {
    const findMany = vi.spyOn(db.prisma.user, 'findMany');
    const representations = users.map((u) => ({ __typename: 'User', id: u.id }));
    const res = await client.request<{ _entities: { username: string }[] }>(
      'query ($r: [_Any!]!) { _entities(representations: $r) { ... on User { username } } }',
      { variables: { r: [...representations, { __typename: 'User', id: 'missing' }] } },
    );
    expect(res.data!._entities).toEqual([...users.map((u) => ({ username: u.username })), null]);
    expect(findMany).toHaveBeenCalledTimes(1);
    findMany.mockRestore();
  });

  describe('updateProfile', () => {
    const mutation =
      'mutation ($name: String!) { updateProfile(input: { displayName: $name }) { id displayName } }';

    it('needs a signed-in user', async () => {
      const res = await client.request(mutation, { variables: { name: 'X' } });
      expect(res.errors?.[0]?.extensions?.['code']).toBe('UNAUTHENTICATED');
    });

    it('refuses a blank or too long name, naming the field', async () => {
      for (const name of ['   ', 'x'.repeat(65)]) {
        const res = await client.request(mutation, { variables: { name }, principal: ada() });
        expect(res.errors?.[0]?.extensions).toMatchObject({
          code: 'BAD_USER_INPUT',
          field: 'input.displayName',
        });
      }
    });

    it('changes the caller’s own name and publishes user.updated', async () => {
      const res = await client.request(mutation, {
        variables: { name: '  Ada Lovelace ' },
        principal: ada(),
      });
      expect(res.data).toEqual({
        updateProfile: { id: users[0]!.id, displayName: 'Ada Lovelace' },
      });
      await vi.waitFor(() =>
        expect(published).toContainEqual({
          type: 'user.updated',
          user: expect.objectContaining({ id: users[0]!.id, displayName: 'Ada Lovelace' }),
        }),
      );
      expect(JSON.stringify(published)).not.toContain('@example.com'); // events carry no email
    });
  });
});

describe('user subgraph subscriptions over graphql-ws', () => {
  it('refuses a connection without a valid identity assertion with 4403', async () => {
    const sub = subscribeOverWebSocket(client.url, 'subscription { userRegistered { id } }', {
      connectionParams: { headers: { 'x-identity-assertion': 'forged' } },
    });
    const ended = (await sub.ended) as { code?: number };
    expect(ended.code).toBe(4403);
    await sub.close();
  });

  it('delivers each registration, read fresh from the database', async () => {
    const sub = subscribeOverWebSocket<{ userRegistered: { username: string; email: string } }>(
      client.url,
      'subscription { userRegistered { username displayName email } }',
      { connectionParams: await assertionParams({ kind: 'anonymous' }) },
    );
    const user = await db.prisma.user.create({
      data: { username: 'ken', email: 'ken@example.com', displayName: 'Ken' },
    });
    // The subscription is set up once the server has acknowledged it; publish until seen.
    const next = sub.next(5_000);
    const publisher = setInterval(
      () => void events.publish({ type: 'user.registered', user: snapshotOfUser(user) }),
      50,
    );
    try {
      // email is the user's own only: an anonymous subscriber gets null.
      expect((await next).data).toEqual({
        userRegistered: { username: 'ken', displayName: 'Ken', email: null },
      });
    } finally {
      clearInterval(publisher);
      await sub.close();
    }
  });

  it('userUpdated(id) sees only that user', async () => {
    const sub = subscribeOverWebSocket<{ userUpdated: { username: string } }>(
      client.url,
      'subscription ($id: ID!) { userUpdated(id: $id) { username } }',
      { variables: { id: users[1]!.id }, connectionParams: await assertionParams(ada()) },
    );
    const next = sub.next(5_000);
    const publisher = setInterval(() => {
      void events.publish({ type: 'user.updated', user: snapshotOfUser(users[0]!) });
      void events.publish({ type: 'user.updated', user: snapshotOfUser(users[1]!) });
    }, 50);
    try {
      expect((await next).data).toEqual({ userUpdated: { username: 'grace' } });
      expect((await sub.next()).data).toEqual({ userUpdated: { username: 'grace' } });
    } finally {
      clearInterval(publisher);
      await sub.close();
    }
  });
});
