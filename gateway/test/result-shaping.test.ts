/**
 * Foundation's result shaping must give exactly what @apollo/gateway's `computeResponse`
 * gives: the same data with keys in the same order, the same errors (message, path, code),
 * and the same exceptions. Both run on the same operations and the same subgraph data:
 * generated data, from valid to badly broken (nulls in non-null fields, missing keys,
 * mistyped leaves, lists that are not lists, unknown or non-string `__typename`s), with
 * random `@skip`/`@include` variables. (plan-executor.test.ts runs whole queries through
 * the router with both.) A failure prints the seed that reproduces it.
 */
import {
  buildSchema,
  isCompositeType,
  isEnumType,
  isInterfaceType,
  isListType,
  isNonNullType,
  isUnionType,
  operationFromDocument,
  type CompositeType,
  type Operation,
  type Schema,
  type SelectionSet,
  type Type,
} from '@apollo/federation-internals';
import { parse } from 'graphql';
import { describe, expect, it } from 'vitest';
import { apollo } from '../src/apollo-internals.js';
import { computeResponse, type ComputeResponseArgs } from '../src/result-shaping.js';

const apolloComputeResponse = apollo.computeResponse;

const sdl = `
  scalar JSON
  enum Color { RED GREEN }
  interface Node { id: ID! }
  interface Named { name: String }
  type Query {
    node(id: ID!): Node
    nodes: [Node]!
    products: [Product!]
    search: [SearchResult!]!
    me: User!
    matrix: [[Int!]]!
    count: Int
    ratio: Float!
    flag: Boolean
    color: Color
    blob: JSON
    named: [Named]
  }
  type Product implements Node & Named {
    id: ID!
    name: String
    price: Float!
    stock: Int
    color: Color!
    tags: [String!]!
    related: [Product]
    owner: User
  }
  type User implements Node & Named {
    id: ID!
    name: String
    email: String!
    friends: [User!]
    favorite: SearchResult
    meta: JSON
  }
  type Review implements Node { id: ID! body: String! author: User! product: Product }
  union SearchResult = Product | User | Review
`;

const operations: Record<string, string> = {
  fields: `{ count ratio flag color blob me { id name email } }`,
  aliasesAndRepeats: `{
    a: me { id n: name } me { email } a: me { email friends { id } }
    me { friends { name } friends { id email } }
  }`,
  interfaces: `{
    node(id: "1") { id __typename ... on Product { price tags color } ... on User { email } ... on Named { name } }
    nodes { id ... on Node { __typename } ...P }
  }
  fragment P on Product { name price related { id ...P2 } }
  fragment P2 on Product { color owner { id } }`,
  unions: `{
    search {
      __typename
      t: __typename
      ... on Product { id price }
      ... on User { id favorite { ... on Review { body author { id } } ... on Named { name } } }
      ... on Review { body product { name } }
      ... { ... on Node { id } }
    }
  }`,
  lists: `{ matrix products { id tags related { id name } } named { name ... on User { email } } }`,
  directives: `query D($yes: Boolean!, $no: Boolean = false, $maybe: Boolean = true) {
    count @skip(if: $yes)
    ratio @include(if: $yes)
    flag @skip(if: true) @include(if: true)
    color @include(if: false)
    me {
      id @skip(if: $no)
      name @include(if: $maybe) @skip(if: $no)
      ... on User @include(if: $yes) { email }
      ...U @skip(if: $maybe)
    }
    products @include(if: $maybe) { id ... on Product @skip(if: $yes) { price } }
  }
  fragment U on User { friends { id } }`,
  introspection: `{ __typename count ... on Query { flag } __schema { queryType { name } } t: __type(name: "Product") { name } }`,
  deep: `{
    products {
      id owner { friends { favorite { ... on Product { owner { id friends { id } } } ... on User { name } } } }
      related { related { related { id color } } }
    }
  }`,
};

/** mulberry32: small, seeded, good enough to generate test data. */
function random(seed: number) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return {
    chance: (p: number) => next() < p,
    pick: <T>(items: readonly T[]): T => items[Math.floor(next() * items.length)]!,
    int: (n: number) => Math.floor(next() * n),
  };
}
type Random = ReturnType<typeof random>;

/**
 * Subgraph-like data for an operation: mostly what the operation asks for, with the given
 * rate of faults of every kind a subgraph (or a merge of several) could produce.
 */
function generate(schema: Schema, operation: Operation, rng: Random, faultRate: number) {
  const wrongValues = [null, 'text', 7, 2.5, -1, true, false, [], {}, 'RED', 'PURPLE', '12'];
  const concrete = (type: CompositeType): string[] =>
    isInterfaceType(type)
      ? type.possibleRuntimeTypes().map((t) => t.name)
      : isUnionType(type)
        ? type.types().map((t) => t.name)
        : [type.name];

  function typename(type: CompositeType): unknown {
    if (rng.chance(faultRate))
      return rng.pick([undefined, type.name, 'Nope', 'String', 'Color', 'Named', '', 3]);
    if (!isInterfaceType(type) && !isUnionType(type) && rng.chance(0.3)) return undefined;
    return rng.pick(concrete(type));
  }

  function value(type: Type, selections: SelectionSet | undefined, depth: number): unknown {
    if (rng.chance(faultRate)) return rng.pick(wrongValues);
    if (isNonNullType(type)) return value(type.ofType as Type, selections, depth);
    if (rng.chance(0.08)) return null;
    if (isListType(type)) {
      const n = depth > 3 ? 0 : rng.int(4);
      return Array.from({ length: n }, () => value(type.ofType as Type, selections, depth + 1));
    }
    if (isCompositeType(type)) {
      const object: Record<string, unknown> = {};
      const name = typename(type);
      if (name !== undefined) object.__typename = name;
      const runtime = typeof name === 'string' ? schema.type(name) : undefined;
      fill(object, runtime && isCompositeType(runtime) ? runtime : type, selections!, depth + 1);
      return object;
    }
    if (isEnumType(type)) return rng.pick(['RED', 'GREEN']);
    switch (type.name) {
      case 'Int':
        return rng.int(100);
      case 'Float':
        return rng.int(1000) / 8;
      case 'Boolean':
        return rng.chance(0.5);
      case 'ID':
        return rng.chance(0.8) ? String(rng.int(100)) : rng.int(100);
      case 'JSON':
        return rng.pick([{ any: ['thing'] }, 3, 'x', null, [1, 2]]);
      default:
        return `s${rng.int(100)}`;
    }
  }

  function fill(
    object: Record<string, unknown>,
    type: CompositeType,
    selections: SelectionSet,
    depth: number,
  ) {
    for (const selection of selections.selections()) {
      if (selection.kind === 'FieldSelection') {
        const field = selection.element;
        const key = field.responseName();
        if (field.name.startsWith('__')) {
          if (field.name === '__typename' && key !== '__typename' && rng.chance(0.5))
            object[key] = rng.pick([...concrete(type), 'Nope', null]);
          continue;
        }
        if (rng.chance(faultRate / 2)) continue; // missing key
        // A key seen twice keeps its first value half of the time, as merged data can.
        if (key in object && rng.chance(0.5)) continue;
        object[key] = value(field.definition.type!, selection.selectionSet, depth);
      } else {
        const condition = selection.element.typeCondition;
        fill(object, condition ?? type, selection.selectionSet, depth);
      }
    }
  }

  const root: Record<string, unknown> = {};
  // Root data carries a __typename only after a merge gone wrong.
  if (rng.chance(faultRate / 4)) root.__typename = rng.pick([3, 'Query', 'Nope', true]);
  fill(root, schema.schemaDefinition.rootType('query')!, operation.selectionSet, 0);
  return root;
}

/** What a shaping gave, in a form where key order and every error field count. */
function outcome(shape: typeof computeResponse, args: ComputeResponseArgs): string {
  try {
    const { data, errors } = shape(args);
    return JSON.stringify({
      data,
      errors: errors.map((e) => ({ message: e.message, path: e.path, extensions: e.extensions })),
    });
  } catch (err) {
    return `threw ${(err as Error).constructor.name}: ${(err as Error).message}`;
  }
}

const introspectionHandling: ComputeResponseArgs['introspectionHandling'] = (selection) => ({
  introspected: selection.kind === 'FieldSelection' ? selection.element.responseName() : null,
});

describe('result shaping', () => {
  const schema = buildSchema(sdl);
  const compiled = Object.entries(operations).map(
    ([name, source]) => [name, operationFromDocument(schema, parse(source))] as const,
  );

  it.each(compiled)('gives what Apollo gives: %s, on 400 generated inputs', (name, operation) => {
    const outcomes = new Set<string>();
    for (let seed = 1; seed <= 400; seed++) {
      const rng = random(seed * 7919 + name.length);
      const faultRate = [0, 0.02, 0.1, 0.3][seed % 4]!;
      const input = generate(schema, operation, rng, faultRate);
      const variables = rng.chance(0.1)
        ? { yes: rng.pick([null, 'true', 1]) }
        : {
            yes: rng.chance(0.5),
            ...(rng.chance(0.5) ? { no: rng.chance(0.5) } : {}),
            ...(rng.chance(0.5) ? { maybe: rng.chance(0.5) } : {}),
          };
      const args = { operation, variables, input, introspectionHandling };
      const expected = outcome(apolloComputeResponse, args);
      const actual = outcome(computeResponse, args);
      if (actual !== expected)
        expect.fail(
          `seed ${seed} (fault rate ${faultRate}) differs\ninput: ${JSON.stringify(input)}\n` +
            `variables: ${JSON.stringify(variables)}\napollo:     ${expected}\nfoundation: ${actual}`,
        );
      outcomes.add(
        expected.startsWith('threw')
          ? 'threw'
          : expected.includes('"errors":[]')
            ? 'clean'
            : 'errors',
      );
    }
    // The generator reaches clean results, errors and exceptions, not one kind only.
    expect([...outcomes].sort()).toEqual(['clean', 'errors', 'threw']);
  });

  it('reaches every kind of error and exception in the generated runs', () => {
    const kinds = [
      'Cannot return null for non-nullable field',
      'Cannot return null for non-nullable array element',
      'Invalid value found for',
      'Invalid __typename found',
      'threw Error: Invalid non-list value',
      'threw Error: Invalid non-object value',
      'threw Error: Got unexpected value for __typename',
      '"data":null',
    ];
    const seen = new Set<string>();
    for (const [name, operation] of compiled)
      for (let seed = 1; seed <= 400; seed++) {
        const rng = random(seed * 7919 + name.length);
        const input = generate(schema, operation, rng, [0, 0.02, 0.1, 0.3][seed % 4]!);
        const text = outcome(apolloComputeResponse, {
          operation,
          variables: { yes: true },
          input,
          introspectionHandling,
        });
        for (const kind of kinds) if (text.includes(kind)) seen.add(kind);
      }
    expect([...seen].sort()).toEqual([...kinds].sort());
  });

  it('fails on a bad @skip variable as Apollo does', () => {
    const operation = operationFromDocument(
      schema,
      parse(`query ($s: Boolean = true) { count @skip(if: $s) me { id } }`),
    );
    const args = { operation, variables: { s: null }, input: { count: 1 }, introspectionHandling };
    expect(outcome(computeResponse, args)).toBe(outcome(apolloComputeResponse, args));
    expect(outcome(computeResponse, args)).toMatch(/^threw Error: Unexpected value null/);
  });

  it('keeps a null root input and an empty one as Apollo does', () => {
    const [, operation] = compiled[0]!;
    for (const input of [null, undefined, {}]) {
      const args = { operation, input, introspectionHandling };
      expect(outcome(computeResponse, args)).toBe(outcome(apolloComputeResponse, args));
    }
  });
});
