/**
 * A small federated graph that exercises what the router's merging must keep exact:
 * entities with repeated keys, errors and null propagation inside entity calls, a
 * `@requires` chain over three subgraphs, and abstract types (an interface and a union)
 * whose members are extended elsewhere. Subgraph faults are switched on per test.
 */
import { composeServices } from '@apollo/composition';
import { buildSubgraphSchema } from '@apollo/subgraph';
import { createRequire } from 'node:module';
import type * as GraphQL from 'graphql';
import type { GraphQLSchema } from 'graphql';

// The CommonJS graphql, as @apollo/subgraph uses (see subgraph-server.ts).
const { GraphQLError, parse } = createRequire(import.meta.url)('graphql') as typeof GraphQL;

const link = `extend schema @link(url: "https://specs.apollo.dev/federation/v2.3", import: ["@key", "@external", "@requires", "@shareable"])`;

const sdl = {
  catalog: `${link}
    type Query {
      top: [Product]
      search: [SearchResult]
      media: [Media]
      "Always refused as rate limited (the router answers 429)."
      limited: String!
    }
    type Product @key(fields: "upc") {
      upc: String!
      name: String!
      price: Int
      weight: Int
    }
    interface Media { id: ID! title: String }
    type Book implements Media @key(fields: "id") { id: ID! title: String pages: Int }
    type Movie implements Media @key(fields: "id") { id: ID! title: String minutes: Int }
    union SearchResult = Product | Book | Movie`,
  inventory: `${link}
    type Product @key(fields: "upc") {
      upc: String!
      price: Int @external
      weight: Int @external
      inStock: Boolean
      shippingEstimate: Int @requires(fields: "price weight")
    }`,
  shipping: `${link}
    type Product @key(fields: "upc") {
      upc: String!
      shippingEstimate: Int @external
      deliveryNote: String @requires(fields: "shippingEstimate")
    }`,
  reviews: `${link}
    type Review {
      id: ID!
      body: String
      author: User
      product: Product
    }
    type User @key(fields: "id") { id: ID! reviews: [Review] }
    type Product @key(fields: "upc") { upc: String! reviews: [Review] }
    type Book @key(fields: "id") { id: ID! reviews: [Review] }
    type Movie @key(fields: "id") { id: ID! reviews: [Review] }`,
  accounts: `${link}
    type User @key(fields: "id") { id: ID! name: String }`,
};

/** Names of the fixture's subgraphs. */
export type FixtureSubgraph = keyof typeof sdl;

const products: Record<string, { name: string; price: number; weight: number }> = {
  '1': { name: 'Table', price: 899, weight: 100 },
  '2': { name: 'Couch', price: 1299, weight: 1000 },
  '3': { name: 'Glass', price: 15, weight: 20 },
  '4': { name: 'Chair', price: 499, weight: 100 },
};
const reviews = [
  { id: 'r1', body: 'Solid', author: 'u1', product: '1' },
  { id: 'r2', body: 'Wobbly', author: 'u2', product: '1' },
  { id: 'r3', body: 'Soft', author: 'u1', product: '2' },
  { id: 'r4', body: 'Broke', author: 'u3', product: '3' },
  { id: 'r5', body: 'Fine', author: 'u2', product: '4' },
  { id: 'r6', body: 'Again', author: 'u1', product: '1' },
];
const users: Record<string, string> = { u1: 'Ada', u2: 'Grace', u3: 'Edsger' };
const media = [
  { __typename: 'Book', id: 'b1', title: 'SICP', pages: 657 },
  { __typename: 'Movie', id: 'm1', title: 'Hackers', minutes: 105 },
  { __typename: 'Book', id: 'b2', title: 'TAOCP', pages: 3168 },
];

/** Which faults the fixture's subgraphs show; tests switch them on and off. */
export const faults = {
  /** inventory fails `inStock` of product 3 (an error inside an entity call). */
  inStockError: true,
  /** catalog fails the non-null `name` of product 4 (null propagation to the item). */
  nameError: true,
  /** accounts fails `name` of user u3. */
  userNameError: true,
};

const byUpc = (upc: string) => (products[upc] ? { upc, ...products[upc] } : null);
const reviewsOf = (pick: (r: (typeof reviews)[number]) => boolean) =>
  reviews.filter(pick).map((r) => ({ ...r }));

const resolvers: Record<FixtureSubgraph, Record<string, Record<string, unknown>>> = {
  catalog: {
    Query: {
      // Repeated keys on purpose: the same product several times in one list.
      top: () => ['1', '2', '1', '3', '4', '1'].map(byUpc),
      search: () =>
        [byUpc('2'), media[0], byUpc('1'), media[1], byUpc('2')].map((v) =>
          v && 'upc' in v ? { __typename: 'Product', ...v } : v,
        ),
      media: () => media,
      limited: () => {
        throw new GraphQLError('Too many attempts', {
          extensions: { code: 'RATE_LIMITED', retryAfterSeconds: 7 },
        });
      },
    },
    Product: {
      __resolveReference: ({ upc }: { upc: string }) => byUpc(upc),
      name: (p: { upc: string; name: string }) => {
        if (faults.nameError && p.upc === '4') throw new GraphQLError('name unavailable for 4');
        return p.name;
      },
    },
    Media: { __resolveType: (m: { __typename: string }) => m.__typename },
    SearchResult: { __resolveType: (m: { __typename: string }) => m.__typename },
    Book: { __resolveReference: ({ id }: { id: string }) => media.find((m) => m.id === id) },
    Movie: { __resolveReference: ({ id }: { id: string }) => media.find((m) => m.id === id) },
  },
  inventory: {
    Product: {
      __resolveReference: (ref: { upc: string; price?: number; weight?: number }) => ref,
      inStock: ({ upc }: { upc: string }) => {
        if (faults.inStockError && upc === '3') throw new GraphQLError('stock unknown for 3');
        return upc !== '2';
      },
      shippingEstimate: ({ price, weight }: { price?: number; weight?: number }) => {
        if (price === undefined || weight === undefined) throw new Error('requires not met');
        return price > 1000 ? 0 : Math.round(weight / 2);
      },
    },
  },
  shipping: {
    Product: {
      __resolveReference: (ref: { upc: string; shippingEstimate?: number | null }) => ref,
      deliveryNote: ({ shippingEstimate }: { shippingEstimate?: number | null }) => {
        if (shippingEstimate === undefined) throw new Error('requires not met');
        return shippingEstimate === 0 ? 'free delivery' : `delivery costs ${shippingEstimate}`;
      },
    },
  },
  reviews: {
    User: {
      __resolveReference: ({ id }: { id: string }) => ({ id }),
      reviews: ({ id }: { id: string }) => reviewsOf((r) => r.author === id),
    },
    Product: {
      __resolveReference: ({ upc }: { upc: string }) => ({ upc }),
      reviews: ({ upc }: { upc: string }) => reviewsOf((r) => r.product === upc),
    },
    Book: {
      __resolveReference: ({ id }: { id: string }) => ({ id }),
      reviews: ({ id }: { id: string }) => (id === 'b1' ? reviewsOf((r) => r.id === 'r1') : []),
    },
    Movie: {
      __resolveReference: ({ id }: { id: string }) => ({ id }),
      reviews: () => reviewsOf((r) => r.id === 'r4'),
    },
    Review: {
      author: (r: { author: string }) => ({ id: r.author }),
      product: (r: { product: string }) => ({ upc: r.product }),
    },
  },
  accounts: {
    User: {
      __resolveReference: ({ id }: { id: string }) => (users[id] ? { id } : null),
      name: ({ id }: { id: string }) => {
        if (faults.userNameError && id === 'u3') throw new GraphQLError('name hidden for u3');
        return users[id];
      },
    },
  },
};

/** The fixture's executable subgraph schemas. */
export function fixtureSchemas(): Record<FixtureSubgraph, GraphQLSchema> {
  return Object.fromEntries(
    (Object.keys(sdl) as FixtureSubgraph[]).map((name) => [
      name,
      buildSubgraphSchema({ typeDefs: parse(sdl[name]), resolvers: resolvers[name] as never }),
    ]),
  ) as Record<FixtureSubgraph, GraphQLSchema>;
}

/** The composed supergraph, each subgraph at `${baseUrl}/<name>`. */
export function fixtureSupergraph(baseUrl: string): string {
  const result = composeServices(
    (Object.keys(sdl) as FixtureSubgraph[]).map((name) => ({
      name,
      url: `${baseUrl}/${name}`,
      typeDefs: parse(sdl[name]),
    })),
  );
  if (result.errors) throw new Error(result.errors.map((e) => e.message).join('\n'));
  return result.supergraphSdl;
}

/** Operations over the fixture that reach what merging and execution must keep exact. */
export const fixtureQueries = {
  /** Lists with repeated keys, errors and null propagation inside entity calls. */
  top: `query Top {
  top {
    upc name price inStock shippingEstimate deliveryNote
    reviews { id body author { id name reviews { id product { upc inStock name deliveryNote } } } }
  }
}`,
  /** Three branches asking one subgraph for the same fields of overlapping products. */
  merged: `{
  a: top { upc inStock }
  b: top { upc inStock }
  search { ... on Product { upc inStock } }
  top { name }
}`,
  /** Two branches asking one subgraph for different fields (one with @requires). */
  aliased: `{
  a: top { upc inStock }
  b: top { upc shippingEstimate }
  top { name }
}`,
  /** Interfaces, unions and fragments on them. */
  search: `query Search {
  search {
    __typename
    ... on Product { upc name inStock reviews { body author { name } } }
    ... on Media { id title }
    ... on Book { pages reviews { id author { name } } }
    ... on Movie { minutes reviews { id product { upc name shippingEstimate inStock } } }
  }
  media { ...M ... on Book { reviews { body product { upc inStock } } } }
}
fragment M on Media { id title ... on Movie { reviews { author { id name } } } }`,
};

/** A subgraph answer with each entity list (aliased ones too) one entity short. */
export function oneShort<T extends { data?: Record<string, unknown> | null }>(result: T): T {
  if (!result.data) return result;
  const data = Object.fromEntries(
    Object.entries(result.data).map(([key, value]) => [
      key,
      Array.isArray(value) ? value.slice(0, -1) : value,
    ]),
  );
  return { ...result, data };
}
