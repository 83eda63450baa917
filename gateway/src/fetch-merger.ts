/**
 * Merging the entity calls one request makes to one subgraph. Apollo's executor sends every
 * `Fetch` node of a plan as its own call, each with every representation of its entities,
 * duplicates included (one inventory call of the public benchmark carries 96 copies of one
 * product key). Here a request's entity calls wait while another call of the same request
 * is in flight (its answer may start more calls to the same subgraph), at most `maxWaitMs`;
 * then the waiting calls go out, one per subgraph: those with the same selection, headers
 * and other variables share one `_entities` list holding each distinct representation once,
 * and different selections go as aliases in one operation. The answer is fanned back so each
 * caller sees exactly what its own call would have returned.
 *
 * Anything unusual in a merged answer (no `_entities` list, the wrong number of entities,
 * an error not under one entity, extensions such as traces) and the calls are sent one by
 * one instead, so the subgraph itself answers each: the merge never invents a result.
 */
import type { GraphQLDataSourceProcessOptions, RemoteGraphQLDataSource } from '@apollo/gateway';
import { Kind, OperationTypeNode, parse, print } from 'graphql';
import type { GatewayContext } from './context.js';
import type { SubgraphHeaders } from './subgraph-headers.js';

type Request = GraphQLDataSourceProcessOptions<GatewayContext>['request'];
type Response = Awaited<ReturnType<RemoteGraphQLDataSource['process']>>;
type FormattedError = NonNullable<Response['errors']>[number];
type Send = (call: SubgraphCall) => Promise<Response>;

/** One call the executor asked for, its headers already set by `willSendRequest`. */
export interface SubgraphCall {
  request: Request;
  headers: SubgraphHeaders;
  context: unknown;
  policy: { restrict(hint: { maxAge?: number; scope?: 'PUBLIC' | 'PRIVATE' }): void } | undefined;
  /** How the caller waits for its answer (queued calls only). */
  settle?: { resolve: (response: Response) => void; reject: (error: unknown) => void };
}

/** A request's calls: how many are on the wire, and those waiting for none to be. */
interface RequestState {
  inflight: number;
  waiting: { call: SubgraphCall; send: Send }[];
  scheduled: boolean;
  /** Sends the waiting calls anyway once the oldest has waited `maxWaitMs`. */
  timer: NodeJS.Timeout | undefined;
}

/**
 * Longest an entity call waits for its request's other calls, in ms. Normally they land
 * within a millisecond or two of each other; a slow subgraph must not hold up the other
 * branches of a request for its whole timeout.
 */
export const maxWaitMs = 50;
const requests = new WeakMap<object, RequestState>();

function stateOf(context: object): RequestState {
  let state = requests.get(context);
  if (!state) {
    state = { inflight: 0, waiting: [], scheduled: false, timer: undefined };
    requests.set(context, state);
  }
  return state;
}

/**
 * Sends a call that is not merged (a root field, say) but counts it as in flight for its
 * request, so entity calls wait for what its answer starts.
 */
export function sendTracked(call: SubgraphCall, send: Send): Promise<Response> {
  const state = stateOf(call.context as object);
  state.inflight++;
  return send(call).finally(() => landed(state));
}

/** Queues an entity call of a request; it goes out when the request has nothing in flight. */
export function enqueueEntityCall(call: SubgraphCall, send: Send): Promise<Response> {
  const state = stateOf(call.context as object);
  return new Promise<Response>((resolve, reject) => {
    call.settle = { resolve, reject };
    state.waiting.push({ call, send });
    if (state.inflight === 0) schedule(state);
    else state.timer ??= setTimeout(() => flush(state), maxWaitMs);
  });
}

function landed(state: RequestState) {
  state.inflight--;
  if (state.inflight === 0 && state.waiting.length > 0) schedule(state);
}

/**
 * Flushes after the current tick: the executor's continuations (microtasks) have queued
 * every call the answers just received lead to, parallel branches included.
 */
function schedule(state: RequestState) {
  if (state.scheduled) return;
  state.scheduled = true;
  process.nextTick(() => {
    state.scheduled = false;
    if (state.inflight === 0) flush(state);
  });
}

/** Sends every waiting call of a request, merged per subgraph. */
function flush(state: RequestState) {
  // A flush may come from the timer while calls are in flight: they count on landing.
  clearTimeout(state.timer);
  state.timer = undefined;
  const waiting = state.waiting;
  state.waiting = [];
  const groups = new Map<Send, Map<string, SubgraphCall[]>>();
  for (const { call, send } of waiting) {
    let bySubgraph = groups.get(send);
    if (!bySubgraph) groups.set(send, (bySubgraph = new Map<string, SubgraphCall[]>()));
    const key = groupKey(call);
    const group = bySubgraph.get(key);
    if (group) group.push(call);
    else bySubgraph.set(key, [call]);
  }
  for (const [send, bySubgraph] of groups) {
    // Different selections to one subgraph with the same headers and no other
    // variables go as one operation, each under its own alias.
    const aliasable = new Map<string, Deduped[]>();
    for (const group of bySubgraph.values()) {
      const deduped = dedupe(group);
      const first = group[0]!;
      const onlyRepresentations = Object.keys(first.request.variables ?? {}).length === 1;
      if (onlyRepresentations && entityPart(first.request.query ?? '')) {
        const key = first.headers.key();
        const list = aliasable.get(key);
        if (list) list.push(deduped);
        else aliasable.set(key, [deduped]);
        continue;
      }
      state.inflight++;
      void sendDeduped(deduped, send).finally(() => landed(state));
    }
    for (const list of aliasable.values()) {
      state.inflight++;
      const sent = list.length === 1 ? sendDeduped(list[0]!, send) : sendAliased(list, send);
      void sent.finally(() => landed(state));
    }
  }
}

function sendAlone(call: SubgraphCall, send: Send): Promise<void> {
  const { resolve, reject } = call.settle!;
  return send(call).then(
    (response) => resolve(response),
    (error: unknown) => reject(error),
  );
}

/**
 * Calls that may share one HTTP call: same operation once its name is set aside (each
 * `Fetch` node has its own), same headers and non-representation variables.
 */
function groupKey(call: SubgraphCall): string {
  const { representations: _r, ...others } = call.request.variables ?? {};
  const query = (call.request.query ?? '').replace(/^query [_A-Za-z][_0-9A-Za-z]*/, 'query');
  return `${query}\n${call.headers.key()}\n${Object.keys(others).length ? JSON.stringify(others) : ''}`;
}

function representationsOf(call: SubgraphCall): unknown[] {
  return call.request.variables!['representations'] as unknown[];
}

/** Calls with one selection, each distinct representation once. */
interface Deduped {
  group: SubgraphCall[];
  unique: unknown[];
  /** `slots[c][i]`: where call c's i-th representation went in `unique`. */
  slots: number[][];
}

function dedupe(group: SubgraphCall[]): Deduped {
  const flat = new RepresentationIndex();
  const byJson = new Map<string, number>();
  const unique: unknown[] = [];
  const slots = group.map((call) =>
    representationsOf(call).map((rep) => {
      let at = flat.find(rep, unique.length);
      if (at === undefined) {
        // A representation with nested values (a compound key): its JSON is its identity.
        const key = JSON.stringify(rep);
        at = byJson.get(key);
        if (at === undefined) byJson.set(key, (at = unique.length));
      }
      if (at === unique.length) unique.push(rep);
      return at;
    }),
  );
  return { group, unique, slots };
}

type Trie = Map<unknown, Trie | number>;
const slot = Symbol('slot');

/**
 * Finds equal flat representations (`{ __typename, upc }`: every value a string, number,
 * boolean or null) without building a key string for each: a trie of Maps over their keys
 * and values, in order. Two representations meet at one slot only if they have the same
 * keys in the same order with the same values, so they are equal as JSON too. (Equal JSON
 * can still land apart, `{ a: 1, b: undefined }` and `{ a: 1 }` say: both are then sent,
 * as Apollo would send them.)
 */
class RepresentationIndex {
  private readonly root: Trie = new Map();

  /** The slot of `rep`, given `next` if it is new; undefined if `rep` is not flat. */
  find(rep: unknown, next: number): number | undefined {
    if (typeof rep !== 'object' || rep === null || Array.isArray(rep)) return undefined;
    const object = rep as Record<string, unknown>;
    const keys = Object.keys(object);
    for (const key of keys) {
      const value = object[key];
      if (typeof value === 'object' && value !== null) return undefined;
    }
    let node = this.root;
    for (const key of keys) {
      node = child(child(node, key), object[key]);
    }
    const at = node.get(slot) as number | undefined;
    if (at !== undefined) return at;
    node.set(slot, next);
    return next;
  }
}

function child(node: Trie, key: unknown): Trie {
  let next = node.get(key) as Trie | undefined;
  if (!next) node.set(key, (next = new Map()));
  return next;
}

/** Restricts every caller's cache policy by the one answer. */
function sharedPolicy(calls: readonly SubgraphCall[]): SubgraphCall['policy'] {
  return {
    restrict(hint) {
      for (const call of calls) call.policy?.restrict(hint);
    },
  };
}

async function sendDeduped(d: Deduped, send: Send): Promise<void> {
  const first = d.group[0]!;
  // One call with nothing repeated: sent as it is.
  if (d.group.length === 1 && d.unique.length === d.slots[0]!.length) return sendAlone(first, send);
  const merged: SubgraphCall = {
    ...first,
    request: {
      ...first.request,
      variables: { ...first.request.variables, representations: d.unique },
    },
    policy: sharedPolicy(d.group),
  };
  let response: Response;
  try {
    response = await send(merged);
  } catch (error) {
    for (const call of d.group) call.settle!.reject(error);
    return;
  }
  await deliver(d, response, send);
}

/** Fans one answer for `d.unique` out to the callers, or sends them one by one if it cannot. */
async function deliver(d: Deduped, response: Response, send: Send): Promise<void> {
  if (!fansOut(response, d.unique.length)) {
    await Promise.all(d.group.map((call) => sendAlone(call, send)));
    return;
  }
  const entities = (response.data as { _entities: unknown[] })._entities;
  const used = new Uint8Array(d.unique.length);
  d.group.forEach((call, c) => {
    const mine = d.slots[c]!;
    const out = mine.map((u) => {
      if (used[u] === 0) {
        used[u] = 1;
        return entities[u];
      }
      // The executor merges entities into the result in place: each position gets its
      // own copy, as it would from its own JSON.parse.
      return cloneJson(entities[u]);
    });
    const result: Response = { ...response, data: { ...response.data, _entities: out } };
    if (response.errors) {
      const errors = errorsFor(response.errors, mine);
      if (errors.length > 0) result.errors = errors;
      else delete result.errors;
    }
    call.settle!.resolve(result);
  });
}

/**
 * Several selections in one operation: `_0: _entities(representations: $r0) {…}` and so
 * on. The answer is split by alias back into one `_entities` answer per selection.
 */
async function sendAliased(list: Deduped[], send: Send): Promise<void> {
  const parts = list.map((d) => entityPart(d.group[0]!.request.query ?? '')!);
  const query = aliasedQuery(parts);
  if (!query) {
    await Promise.all(list.map((d) => sendDeduped(d, send)));
    return;
  }
  const first = list[0]!.group[0]!;
  const variables: Record<string, unknown> = {};
  list.forEach((d, i) => (variables[`r${i}`] = d.unique));
  const calls = list.flatMap((d) => d.group);
  let response: Response;
  try {
    response = await send({
      ...first,
      request: { ...first.request, query, variables },
      policy: sharedPolicy(calls),
    });
  } catch (error) {
    for (const call of calls) call.settle!.reject(error);
    return;
  }
  const data = response.data as Record<string, unknown> | null | undefined;
  const errors = response.errors ?? [];
  const aliasOf = (e: FormattedError) => (typeof e.path?.[0] === 'string' ? e.path[0] : '');
  const split =
    response.extensions === undefined &&
    data != null &&
    errors.every((e) => /^_\d+$/.test(aliasOf(e)) && Number(aliasOf(e).slice(1)) < list.length);
  if (!split) {
    await Promise.all(list.map((d) => sendDeduped(d, send)));
    return;
  }
  await Promise.all(
    list.map((d, i) => {
      const alias = `_${i}`;
      const mine = errors
        .filter((e) => aliasOf(e) === alias)
        .map((e) => ({ ...e, path: ['_entities', ...e.path!.slice(1)] }));
      return deliver(
        d,
        { data: { _entities: data[alias] }, ...(mine.length > 0 ? { errors: mine } : {}) },
        send,
      );
    }),
  );
}

/** The parts of an `_entities` operation as Apollo's planner writes them, when it is one. */
interface EntityPart {
  operationName: string;
  selection: string;
  fragments: Map<string, string>;
}
const entityParts = new Map<string, EntityPart | null>();
const aliasedQueries = new Map<string, string | null>();
const maxCached = 2_000;

function entityPart(query: string): EntityPart | undefined {
  let part = entityParts.get(query);
  if (part === undefined) {
    part = parseEntityPart(query);
    if (entityParts.size >= maxCached) entityParts.clear();
    entityParts.set(query, part);
  }
  return part ?? undefined;
}

function parseEntityPart(query: string): EntityPart | null {
  let document;
  try {
    document = parse(query);
  } catch {
    return null;
  }
  const operations = document.definitions.filter((d) => d.kind === Kind.OPERATION_DEFINITION);
  const op = operations[0];
  if (operations.length !== 1 || !op || op.operation !== OperationTypeNode.QUERY) return null;
  const [field, ...more] = op.selectionSet.selections;
  const [arg, ...otherArgs] = field?.kind === Kind.FIELD ? (field.arguments ?? []) : [];
  if (
    more.length > 0 ||
    field?.kind !== Kind.FIELD ||
    field.name.value !== '_entities' ||
    field.alias ||
    field.directives?.length ||
    !field.selectionSet ||
    otherArgs.length > 0 ||
    arg?.name.value !== 'representations' ||
    arg.value.kind !== Kind.VARIABLE ||
    arg.value.name.value !== 'representations' ||
    op.variableDefinitions?.length !== 1 ||
    op.directives?.length
  ) {
    return null;
  }
  const fragments = new Map<string, string>();
  for (const d of document.definitions) {
    if (d.kind === Kind.FRAGMENT_DEFINITION) fragments.set(d.name.value, print(d));
  }
  return { operationName: op.name?.value ?? '', selection: print(field.selectionSet), fragments };
}

/** One operation with every part under its alias; undefined when fragment names clash. */
function aliasedQuery(parts: EntityPart[]): string | undefined {
  const key = parts.map((p) => `${p.operationName}\n${p.selection}`).join('\n\n');
  let query = aliasedQueries.get(key);
  if (query === undefined) {
    query = buildAliased(parts);
    if (aliasedQueries.size >= maxCached) aliasedQueries.clear();
    aliasedQueries.set(key, query);
  }
  return query ?? undefined;
}

function buildAliased(parts: EntityPart[]): string | null {
  const fragments = new Map<string, string>();
  for (const part of parts) {
    for (const [name, text] of part.fragments) {
      const seen = fragments.get(name);
      if (seen !== undefined && seen !== text) return null;
      fragments.set(name, text);
    }
  }
  const name = parts[0]!.operationName;
  const variables = parts.map((_, i) => `$r${i}:[_Any!]!`).join(',');
  const fields = parts
    .map((p, i) => `_${i}:_entities(representations:$r${i})${p.selection}`)
    .join(' ');
  return `query${name ? ` ${name}` : ''}(${variables}){${fields}}${[...fragments.values()].map((f) => `\n${f}`).join('')}`;
}

/** Whether a merged answer can be split exactly: one entity per representation, errors under one each. */
function fansOut(response: Response, count: number): boolean {
  if (response.extensions !== undefined) return false;
  const entities = (response.data as { _entities?: unknown } | null | undefined)?._entities;
  if (!Array.isArray(entities) || entities.length !== count) return false;
  return (response.errors ?? []).every(
    (e) =>
      e.path?.[0] === '_entities' &&
      typeof e.path[1] === 'number' &&
      e.path[1] >= 0 &&
      e.path[1] < count,
  );
}

/**
 * The merged answer's errors as one caller's own call would have had them: once for each of
 * its positions holding that representation, with the position in the path, in position
 * order (graphql-js completes a list item by item).
 */
function errorsFor(errors: readonly FormattedError[], mine: readonly number[]): FormattedError[] {
  const out: { at: number; order: number; error: FormattedError }[] = [];
  errors.forEach((error, order) => {
    const u = error.path![1] as number;
    mine.forEach((slot, at) => {
      if (slot !== u) return;
      out.push({
        at,
        order,
        error: { ...error, path: ['_entities', at, ...error.path!.slice(2)] },
      });
    });
  });
  out.sort((a, b) => a.at - b.at || a.order - b.order);
  return out.map((e) => e.error);
}

function cloneJson(value: unknown): unknown {
  if (typeof value !== 'object' || value === null) return value;
  if (Array.isArray(value)) return value.map(cloneJson);
  const copy: Record<string, unknown> = {};
  for (const key of Object.keys(value))
    copy[key] = cloneJson((value as Record<string, unknown>)[key]);
  return copy;
}
