import { createRequire } from 'node:module';
import { buildSubgraphSchema } from '@apollo/subgraph';
import type * as GraphQL from 'graphql';
import { describe, expect, it } from 'vitest';
import { enforceAuthorization } from '../src/authorization.js';
import type { Principal } from '../src/identity.js';

// The graphql that @apollo/subgraph and @graphql-tools load under Node (CommonJS), not the
// ES module build Vitest would pick: a schema only executes with the module that built it.
const { graphql, parse } = createRequire(import.meta.url)('graphql') as typeof GraphQL;

const schema = enforceAuthorization(
  buildSubgraphSchema({
    typeDefs: parse(`
      extend schema @link(url: "https://specs.apollo.dev/federation/v2.7",
        import: ["@key", "@authenticated", "@requiresScopes"])
      type Secret @authenticated { value: String }
      type Query {
        open: String
        signedIn: String @authenticated
        admin: String @requiresScopes(scopes: [["admin"]])
        either: String @requiresScopes(scopes: [["a", "b"], ["c"]])
        secret: Secret
      }
    `),
    resolvers: {
      Query: {
        open: () => 'open',
        signedIn: () => 'signed in',
        admin: () => 'admin',
        either: () => 'either',
        secret: () => ({ value: 'hidden' }),
      },
    },
  }),
);

const user = (scopes: string[]): Principal => ({
  kind: 'user',
  userId: 'u',
  username: 'u',
  sessionId: 's',
  scopes,
  tokenId: 't',
  tokenExpiresAt: new Date(),
});
const service = (scopes: string[]): Principal => ({
  kind: 'service',
  apiKeyId: 'k',
  name: 'svc',
  ownerId: null,
  scopes,
});

async function run(principal: Principal) {
  const result = await graphql({
    schema,
    source: '{ open signedIn admin either secret { value } }',
    contextValue: { principal },
  });
  const codes = Object.fromEntries(
    (result.errors ?? []).map((e) => [String(e.path?.join('.')), e.extensions['code']]),
  );
  return { data: result.data, codes };
}

describe('enforceAuthorization', () => {
  it('answers anonymous callers UNAUTHENTICATED per field, resolving the rest', async () => {
    const { data, codes } = await run({ kind: 'anonymous' });
    expect(data).toEqual({
      open: 'open',
      signedIn: null,
      admin: null,
      either: null,
      secret: { value: null },
    });
    expect(codes).toEqual({
      signedIn: 'UNAUTHENTICATED',
      admin: 'UNAUTHENTICATED',
      either: 'UNAUTHENTICATED',
      'secret.value': 'UNAUTHENTICATED',
    });
  });

  it('answers callers without the scopes FORBIDDEN, naming what is needed', async () => {
    const result = await graphql({
      schema,
      source: '{ admin }',
      contextValue: { principal: user([]) },
    });
    expect(result.errors?.[0]?.message).toBe('Query.admin needs the scope admin');
    const { data, codes } = await run(user(['a']));
    expect(data).toMatchObject({
      open: 'open',
      signedIn: 'signed in',
      secret: { value: 'hidden' },
    });
    expect(codes).toEqual({ admin: 'FORBIDDEN', either: 'FORBIDDEN' });
  });

  it('grants fields when one alternative list of scopes is held entirely', async () => {
    expect((await run(user(['admin', 'c']))).codes).toEqual({});
    expect((await run(service(['a', 'b']))).codes).toEqual({ admin: 'FORBIDDEN' });
    expect((await run(service(['a', 'b']))).data).toMatchObject({ either: 'either' });
  });
});
