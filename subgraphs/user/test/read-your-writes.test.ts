/**
 * Read-your-writes with a read replica, on two real MariaDB servers. Real replication is
 * not needed to prove the routing: the "replica" is a second, independent server seeded by
 * the test, and a row written to the primary only stands for a write the replica has not
 * caught up with yet (register → me).
 */
import { migrateDatabase, openDatabase, type Database } from '@foundation/db';
import { createMemoryEventBus } from '@foundation/platform';
import {
  serveSubgraph,
  testAssertions,
  testLogger,
  testUser,
  type SubgraphClient,
} from '@foundation/platform/testing';
import { skipUnlessInstalled, startMariaDb, type MariaDbServer } from '@foundation/test-servers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createUserSubgraph } from '../src/index.js';

const skip = skipUnlessInstalled('mariadbd', 'mariadb-server');

describe.skipIf(skip)('user subgraph with a lagging read replica', () => {
  let primary: MariaDbServer;
  let replica: MariaDbServer;
  let db: Database;
  let client: SubgraphClient;
  const ids = { ada: '', grace: '' };

  beforeAll(async () => {
    [primary, replica] = await Promise.all([startMariaDb(), startMariaDb()]);
    await Promise.all([migrateDatabase(primary.url), migrateDatabase(replica.url)]);
    const seed = async (url: string, names: string[]) => {
      const direct = await openDatabase({ url });
      for (const name of names) {
        const id = ids[name as keyof typeof ids] || undefined;
        const user = await direct.prisma.user.create({
          data: {
            ...(id ? { id } : {}),
            username: name,
            email: `${name}@example.com`,
            displayName: name,
          },
        });
        ids[name as keyof typeof ids] = user.id;
      }
      await direct.close();
    };
    // Ada is everywhere; Grace has just registered: the replica has not seen her yet.
    await seed(primary.url, ['ada', 'grace']);
    await seed(replica.url, ['ada']);
    db = await openDatabase({ url: primary.url, replicaUrls: [replica.url] });
    client = await serveSubgraph(
      await createUserSubgraph({
        db,
        events: createMemoryEventBus(testLogger()),
        assertions: testAssertions,
        logger: testLogger(),
      }),
    );
  });

  afterAll(async () => {
    await client?.close();
    await db?.close();
    await Promise.all([primary?.dispose(), replica?.dispose()]);
  });

  const userQuery = 'query ($id: ID!) { user(id: $id) { username } }';

  it('shows a user their own record at once, from the primary', async () => {
    const res = await client.request(userQuery, {
      variables: { id: ids.grace },
      principal: testUser(ids.grace, 'grace'),
    });
    expect(res.data).toEqual({ user: { username: 'grace' } });
  });

  it('serves everyone else from the replica, which may lag', async () => {
    const asAda = await client.request(userQuery, {
      variables: { id: ids.grace },
      principal: testUser(ids.ada, 'ada'),
    });
    expect(asAda.data).toEqual({ user: null });
    const list = await client.request<{ users: { edges: { node: { username: string } }[] } }>(
      '{ users { edges { node { username } } } }',
    );
    expect(list.data?.users.edges.map((e) => e.node.username)).toEqual(['ada']);
  });

  it('splits one batch of entity references: own from the primary, others from the replica', async () => {
    const res = await client.request<{ _entities: ({ username: string } | null)[] }>(
      'query ($r: [_Any!]!) { _entities(representations: $r) { ... on User { username } } }',
      {
        variables: {
          r: [
            { __typename: 'User', id: ids.ada },
            { __typename: 'User', id: ids.grace },
          ],
        },
        principal: testUser(ids.grace, 'grace'),
      },
    );
    expect(res.data?._entities).toEqual([{ username: 'ada' }, { username: 'grace' }]);
  });
});
