/**
 * The query plan walk: runs a plan's fetches against the subgraphs, merges their answers
 * into one tree and shapes the response. Same contract and same results as
 * @apollo/gateway's `executeQueryPlan` (dist/executeQueryPlan.js), which the router uses in
 * its place (see apollo-internals.ts); it does the same steps in the same order, with less
 * work per value:
 *
 * - a plan's `Flatten` paths are walked without copying the rest of the path at every
 *   level and every list element (Apollo's `[current, ...rest]`), which was most of the
 *   plan walk's cost on lists of entities;
 * - no usage-reporting trace nodes are built unless traces are captured (Apollo builds a
 *   protobuf node per plan node and drops it);
 * - entity representations and merges read each key once;
 * - the operation for result shaping is built once per parsed document, not per request.
 *
 * What it does not do itself goes to Apollo's own function, unchanged: plans captured for
 * usage-reporting traces (ftv1), subscriptions and `@defer`. `test/plan-executor.test.ts`
 * runs both on the same plans against real subgraphs, faults included, and compares the
 * answers byte for byte.
 */
import type {
  executeQueryPlan as ExecuteQueryPlan,
  GraphQLDataSourceProcessOptions,
} from '@apollo/gateway';
import {
  assert,
  ERRORS,
  errorCodeDef,
  operationFromDocument,
  type FieldSelection,
  type Operation,
  type Schema,
} from '@apollo/federation-internals';
import {
  evaluateCondition,
  type FetchNode,
  type PlanNode,
  type QueryPlan,
  type QueryPlanSelectionNode,
} from '@apollo/query-planner';
import { SpanStatusCode } from '@opentelemetry/api';
import { createRequire } from 'node:module';
import type * as GraphQL from 'graphql';
import type {
  DocumentNode,
  GraphQLFormattedError,
  GraphQLSchema,
  OperationDefinitionNode,
  FieldNode,
  VariableDefinitionNode,
} from 'graphql';
import {
  apollo,
  applyRewrites,
  generateHydratedPaths,
  isObjectOfType,
  OpenTelemetrySpanNames,
  recordExceptions,
  tracer,
  type TelemetryConfig,
} from './apollo-internals.js';
import { computeResponse } from './result-shaping.js';

// graphql as @apollo/gateway loads it (CommonJS): errors must be instances of its
// GraphQLError, and the schemas it builds only execute with its own executeSync.
const { executeSync, GraphQLError, Kind, OperationTypeNode, visit } = createRequire(
  import.meta.url,
)('graphql') as typeof GraphQL;
type GraphQLError = GraphQL.GraphQLError;

type Args = Parameters<typeof ExecuteQueryPlan>;
type ServiceMap = Args[1];
type RequestContext = Args[2];
type OperationContext = Args[3];
type ExecutionResult = Awaited<ReturnType<typeof ExecuteQueryPlan>>;
type ResponsePath = (string | number)[];
type ResultMap = Record<string, unknown>;

interface ExecutionContext {
  operation: Operation;
  serviceMap: ServiceMap;
  requestContext: RequestContext;
  supergraphSchema: GraphQLSchema;
  errors: unknown[];
  telemetryConfig: TelemetryConfig | undefined;
}

/** Where in the merged result a plan node works: its path and the data found there. */
interface Cursor {
  path: ResponsePath;
  data: unknown;
  fullResult: ResultMap;
}

/** Whether this walk runs a plan itself, or leaves it to Apollo's (defer, subscriptions). */
const supported = new WeakMap<QueryPlan, boolean>();
function supports(plan: QueryPlan): boolean {
  let yes = supported.get(plan);
  if (yes === undefined) {
    const ok = (node: PlanNode | undefined): boolean => {
      if (!node) return true;
      switch (node.kind) {
        case 'Sequence':
        case 'Parallel':
          return node.nodes.every(ok);
        case 'Flatten':
          return ok(node.node);
        case 'Fetch':
          return true;
        case 'Condition':
          return ok(node.ifClause) && ok(node.elseClause);
        default:
          return false;
      }
    };
    yes = !plan.node || (plan.node.kind !== 'Subscription' && ok(plan.node));
    supported.set(plan, yes);
  }
  return yes;
}

/**
 * The operation as federation-internals models it, for result shaping. Apollo builds it
 * from the document on every request; a parsed document is reused across requests (Apollo
 * Server caches them), so it is built once per document and API schema.
 */
const operations = new WeakMap<Schema, WeakMap<OperationDefinitionNode, Operation>>();
function operationOf(apiSchema: Schema, operationContext: OperationContext): Operation {
  let bySchema = operations.get(apiSchema);
  if (!bySchema) operations.set(apiSchema, (bySchema = new WeakMap()));
  let operation = bySchema.get(operationContext.operation);
  if (!operation) {
    operation = operationFromDocument(
      apiSchema,
      {
        kind: Kind.DOCUMENT,
        definitions: [operationContext.operation, ...Object.values(operationContext.fragments)],
      },
      { validate: false },
    );
    bySchema.set(operationContext.operation, operation);
  }
  return operation;
}

/** Same contract as @apollo/gateway's `executeQueryPlan`. */
export async function executeQueryPlan(
  queryPlan: QueryPlan,
  serviceMap: ServiceMap,
  requestContext: RequestContext,
  operationContext: OperationContext,
  supergraphSchema: GraphQLSchema,
  apiSchema: Schema,
  telemetryConfig?: Args[6],
): Promise<ExecutionResult> {
  if (requestContext.metrics?.captureTraces || !supports(queryPlan))
    return apollo.executeQueryPlan(
      queryPlan,
      serviceMap,
      requestContext,
      operationContext,
      supergraphSchema,
      apiSchema,
      telemetryConfig,
    );
  const logger = requestContext.logger || console;
  return tracer.startActiveSpan(OpenTelemetrySpanNames.EXECUTE, async (span) => {
    try {
      const errors: unknown[] = [];
      let operation: Operation;
      try {
        operation = operationOf(apiSchema, operationContext);
      } catch (err) {
        if (err instanceof GraphQLError) return { errors: [err] };
        throw err;
      }
      const context: ExecutionContext = {
        operation,
        serviceMap,
        requestContext,
        supergraphSchema,
        errors,
        telemetryConfig,
      };
      const unfilteredData = Object.create(null) as ResultMap;
      if (queryPlan.node)
        await executeNode(context, queryPlan.node as PlanNode, {
          path: [],
          data: unfilteredData,
          fullResult: unfilteredData,
        });
      const result = await tracer.startActiveSpan(
        OpenTelemetrySpanNames.POST_PROCESSING,

        async (span): Promise<ExecutionResult> => {
          let data;
          try {
            const variables = requestContext.request.variables;
            let postProcessingErrors;
            ({ data, errors: postProcessingErrors } = computeResponse({
              operation,
              variables,
              input: unfilteredData,
              introspectionHandling: (f) =>
                executeIntrospection(
                  operationContext.schema,
                  (f.expandFragments(undefined) as FieldSelection).toSelectionNode(),
                  operationContext.operation.variableDefinitions,
                  variables,
                ),
            }));
            if (errors.length === 0 && postProcessingErrors.length > 0) {
              recordExceptions(span, postProcessingErrors, telemetryConfig);
              span.setStatus({ code: SpanStatusCode.ERROR });
              return {
                extensions: { valueCompletion: postProcessingErrors },
                data: data as Record<string, unknown> | null,
              };
            }
          } catch (error) {
            recordExceptions(span, [error], telemetryConfig);
            span.setStatus({ code: SpanStatusCode.ERROR });
            if (error instanceof GraphQLError) return { errors: [error] };
            if (error instanceof Error)
              return { errors: [new GraphQLError(error.message, { originalError: error })] };
            logger.error(`Unexpected error during query plan execution: ${String(error)}`);
            return { errors: [new GraphQLError('Unexpected error during query plan execution')] };
          } finally {
            span.end();
          }
          const shaped = data as Record<string, unknown> | null;
          return errors.length === 0
            ? { data: shaped }
            : { errors: errors as readonly GraphQLError[], data: shaped };
        },
      );
      if (result.errors) {
        recordExceptions(span, result.errors, telemetryConfig);
        span.setStatus({ code: SpanStatusCode.ERROR });
      }
      return result;
    } catch (err) {
      recordExceptions(span, [err], telemetryConfig);
      span.setStatus({ code: SpanStatusCode.ERROR });
      throw err;
    } finally {
      span.end();
    }
  });
}

async function executeNode(
  context: ExecutionContext,
  node: PlanNode,
  cursor: Cursor | undefined,
): Promise<void> {
  if (!cursor) return;
  switch (node.kind) {
    case 'Sequence':
      for (const child of node.nodes) await executeNode(context, child, cursor);
      return;
    case 'Parallel':
      await Promise.all(node.nodes.map((child) => executeNode(context, child, cursor)));
      return;
    case 'Flatten':
      await executeNode(context, node.node, moveIntoCursor(cursor, node.path));
      return;
    case 'Fetch':
      try {
        await executeFetch(context, node, cursor);
      } catch (error) {
        context.errors.push(error);
      }
      return;
    case 'Condition': {
      const condition = evaluateCondition(
        node,
        context.operation.variableDefinitions,
        context.requestContext.request.variables,
      );
      const picked = condition ? node.ifClause : node.elseClause;
      if (picked) await executeNode(context, picked, cursor);
      return;
    }
    default:
      // supports() sent every other kind to Apollo's executor.
      throw new Error(`Unexpected plan node ${node.kind}`);
  }
}

function moveIntoCursor(cursor: Cursor, path: readonly (string | number)[]): Cursor | undefined {
  const data = flattenResultsAtPath(cursor.data, path, 0);
  return data ? { path: cursor.path.concat(path), data, fullResult: cursor.fullResult } : undefined;
}

/**
 * The values at `path` (`@` for every element of a list), as Apollo's
 * `flattenResultsAtPath` gives them: nulls kept, one level of lists flattened per `@`.
 */
function flattenResultsAtPath(value: unknown, path: readonly unknown[], at: number): unknown {
  for (; at < path.length; at++) {
    if (value === undefined || value === null) return value;
    const current = path[at];
    if (current === '@') {
      const out: unknown[] = [];
      for (const element of listAt(value)) collect(element, path, at + 1, out);
      return out;
    }
    checkStep(current, value);
    value = ownValue(value as ResultMap, current as string);
  }
  return value;
}

/** Appends to `out` what `flatMap` would take from `flattenResultsAtPath(value, path, at)`. */
function collect(value: unknown, path: readonly unknown[], at: number, out: unknown[]): void {
  for (; at < path.length; at++) {
    if (value === undefined || value === null) break;
    const current = path[at];
    if (current === '@') {
      for (const element of listAt(value)) collect(element, path, at + 1, out);
      return;
    }
    checkStep(current, value);
    value = ownValue(value as ResultMap, current as string);
  }
  if (Array.isArray(value)) for (const element of value) out.push(element);
  else out.push(value);
}

function listAt(value: unknown): unknown[] {
  // Apollo calls value.flatMap(...): anything but a list fails the same way.
  if (!Array.isArray(value)) throw new TypeError('value.flatMap is not a function');
  return value;
}

function checkStep(current: unknown, value: unknown) {
  assert(typeof current === 'string', () => `Unexpected ${typeof current} found in path`);
  assert(!Array.isArray(value), () => `Unexpected array in result for path element ${current}`);
}

const hasOwn = (object: object, key: string) => Object.prototype.hasOwnProperty.call(object, key);
const ownValue = (object: ResultMap, key: string) =>
  hasOwn(object, key) ? object[key] : undefined;
const isObject = (value: unknown): value is ResultMap =>
  value !== undefined && value !== null && typeof value === 'object' && !Array.isArray(value);

function executeFetch(context: ExecutionContext, fetch: FetchNode, cursor: Cursor) {
  const service = context.serviceMap[fetch.serviceName];
  return tracer.startActiveSpan(
    OpenTelemetrySpanNames.FETCH,
    { attributes: { service: fetch.serviceName } },
    async (span) => {
      try {
        if (!service) throw new Error(`Couldn't find service with name "${fetch.serviceName}"`);
        const entities = Array.isArray(cursor.data)
          ? (cursor.data as unknown[]).filter((e) => e !== null && e !== undefined)
          : [cursor.data];
        if (entities.length < 1) return;
        const variables = Object.create(null) as ResultMap;
        if (fetch.variableUsages) {
          for (const name of fetch.variableUsages) {
            const provided = context.requestContext.request.variables;
            if (provided && hasOwn(provided, name) && provided[name] !== undefined)
              variables[name] = provided[name];
          }
        }
        if (!fetch.requires) {
          const received = await sendOperation(context, fetch, cursor, variables);
          if (received) applyRewrites(context.supergraphSchema, fetch.outputRewrites, received);
          for (const entity of entities) deepMerge(entity, received);
          return;
        }
        const representations: ResultMap[] = [];
        const representationToEntity: number[] = [];
        for (let index = 0; index < entities.length; index++) {
          const representation = executeSelectionSet(
            context.supergraphSchema,
            entities[index],
            fetch.requires,
          );
          if (representation?.['__typename']) {
            applyRewrites(context.supergraphSchema, fetch.inputRewrites, representation);
            representations.push(representation);
            representationToEntity.push(index);
          }
        }
        if (representations.length < 1) return;
        if ('representations' in variables)
          throw new Error(`Variables cannot contain key "representations"`);
        const received = await sendOperation(context, fetch, cursor, {
          ...variables,
          representations,
        });
        if (!received) return;
        const receivedEntities = received['_entities'];
        if (!(receivedEntities && Array.isArray(receivedEntities)))
          throw new Error(`Expected "data._entities" in response to be an array`);
        if (receivedEntities.length !== representations.length)
          throw new Error(
            `Expected "data._entities" to contain ${representations.length} elements`,
          );
        // As Apollo's: over every entity, though only those with a representation got one.
        for (let i = 0; i < entities.length; i++) {
          const receivedEntity = receivedEntities[i] as ResultMap | null | undefined;
          const existingEntity = entities[representationToEntity[i]!] as ResultMap;
          if (receivedEntity && !receivedEntity['__typename'])
            receivedEntity['__typename'] = existingEntity['__typename'];
          applyRewrites(context.supergraphSchema, fetch.outputRewrites, receivedEntity);
          deepMerge(entities[representationToEntity[i]!], receivedEntity);
        }
      } catch (err) {
        recordExceptions(span, [err], context.telemetryConfig);
        span.setStatus({ code: SpanStatusCode.ERROR });
        throw err;
      } finally {
        span.end();
      }
    },
  );
}

async function sendOperation(
  context: ExecutionContext,
  fetch: FetchNode,
  cursor: Cursor,
  variables: ResultMap,
): Promise<ResultMap | null | undefined> {
  const requestContext = context.requestContext;
  // The same options object as Apollo's, `document` and `http` included when undefined.
  const options = {
    kind: 'incoming operation', // GraphQLDataSourceRequestKind.INCOMING_OPERATION (not exported)
    request: {
      query: fetch.operation,
      variables,
      operationName: fetch.operationName,
      http: undefined,
    },
    incomingRequestContext: requestContext,
    context: requestContext.context,
    document: fetch.operationDocumentNode,
    pathInIncomingRequest: cursor.path,
  } as unknown as GraphQLDataSourceProcessOptions;
  const response = await context.serviceMap[fetch.serviceName]!.process(options);
  if (response.errors) {
    const errorPath = lazyErrorPaths(fetch, cursor);
    context.errors.push(
      ...response.errors.map((error) =>
        downstreamServiceError(error, fetch.serviceName, errorPath),
      ),
    );
    if (!response.extensions?.['ftv1']) {
      const errorPaths = response.errors.map((error) => ({
        subgraph: fetch.serviceName,
        path: error.path,
      }));
      const metrics = requestContext.metrics;
      if (metrics.nonFtv1ErrorPaths) metrics.nonFtv1ErrorPaths.push(...errorPaths);
      else metrics.nonFtv1ErrorPaths = errorPaths;
    }
  }
  return response.data as ResultMap | null | undefined;
}

/** Apollo's `makeLazyErrorPathGenerator`: a subgraph error's path in the client's response. */
function lazyErrorPaths(fetch: FetchNode, cursor: Cursor) {
  let hydratedPaths: ResponsePath[] | undefined;
  return (errorPath: GraphQLFormattedError['path']) => {
    if (fetch.requires && typeof errorPath?.[1] === 'number') {
      if (!hydratedPaths) {
        hydratedPaths = [];
        generateHydratedPaths([], cursor.path, cursor.fullResult, hydratedPaths);
      }
      const hydratedPath = hydratedPaths[errorPath[1]] ?? [];
      return [...hydratedPath, ...errorPath.slice(2)];
    }
    return errorPath ? [...cursor.path, ...errorPath.slice()] : undefined;
  };
}

/** Apollo's `downstreamServiceError`. */
function downstreamServiceError(
  originalError: GraphQLFormattedError,
  serviceName: string,
  errorPath: ReturnType<typeof lazyErrorPaths>,
): GraphQLError {
  let { message } = originalError;
  const { extensions } = originalError;
  if (!message) message = `Error while fetching subquery from service "${serviceName}"`;
  const errorOptions = {
    originalError: originalError as Error,
    path: errorPath(originalError.path),
    extensions: { ...extensions, serviceName },
  };
  const codeDef = errorCodeDef(originalError);
  if (!codeDef && extensions?.['code']) return new GraphQLError(message, errorOptions);
  return (codeDef ?? ERRORS.DOWNSTREAM_SERVICE_ERROR).err(message, errorOptions);
}

/** Apollo's `executeSelectionSet`: an entity's representation, from the fields `requires`. */
function executeSelectionSet(
  schema: GraphQLSchema,
  source: unknown,
  selections: readonly QueryPlanSelectionNode[],
): ResultMap | null {
  if (source === null) return null;
  const object = source as ResultMap;
  const result = Object.create(null) as ResultMap;
  for (const selection of selections) {
    if (selection.kind === 'Field') {
      const responseName = selection.alias ? selection.alias : selection.name;
      const children = selection.selections;
      const value = hasOwn(object, responseName) ? object[responseName] : undefined;
      if (value === undefined) return null;
      if (Array.isArray(value))
        result[responseName] = value.map((v: unknown) =>
          children ? executeSelectionSet(schema, v, children) : v,
        );
      else if (children) result[responseName] = executeSelectionSet(schema, value, children);
      else result[responseName] = value;
    } else if (selection.kind === 'InlineFragment') {
      if (!selection.typeCondition || !source) continue;
      if (isObjectOfType(schema, object, selection.typeCondition))
        deepMerge(result, executeSelectionSet(schema, source, selection.selections));
    }
  }
  return result;
}

/** Apollo's `deepMerge` (utilities/deepMerge.js), step for step. */
function deepMerge(target: unknown, source: unknown): unknown {
  if (source === undefined || source === null) return target;
  const into = target as ResultMap;
  const from = source as ResultMap;
  for (const key of Object.keys(from)) {
    const value = from[key];
    if (value === undefined) continue;
    // defineOwn: an inherited key ("constructor", say) is shadowed before it is written.
    if (!hasOwn(into, key) && key in into)
      Object.defineProperty(into, key, {
        configurable: true,
        enumerable: true,
        value: undefined,
        writable: true,
      });
    const existing = into[key];
    if (existing && isObject(value)) {
      deepMerge(existing, value);
    } else if (
      Array.isArray(value) &&
      Array.isArray(existing) &&
      value.length === existing.length
    ) {
      const from: unknown[] = value;
      const into: unknown[] = existing;
      for (let i = 0; i < from.length; i++) {
        if (isObject(into[i]) && isObject(from[i])) deepMerge(into[i], from[i]);
        else into[i] = from[i];
      }
    } else {
      into[key] = value;
    }
  }
  return target;
}

/** Apollo's introspection of a `__schema`/`__type` field, through graphql-js. */
function executeIntrospection(
  schema: GraphQLSchema,
  selection: FieldNode,
  variableDefinitions: readonly VariableDefinitionNode[] | undefined,
  variableValues: Record<string, unknown> | undefined,
): unknown {
  const used = new Set<string>();
  visit(selection, {
    Variable: ({ name }) => {
      used.add(name.value);
    },
  });
  const usedDefinitions = variableDefinitions?.filter((d) => used.has(d.variable.name.value));
  assert(
    used.size === (usedDefinitions?.length ?? 0),
    () =>
      `Should have found all used variables ${[...used].join(',')} in definitions ${JSON.stringify(variableDefinitions)}`,
  );
  const document: DocumentNode = {
    kind: Kind.DOCUMENT,
    definitions: [
      {
        kind: Kind.OPERATION_DEFINITION,
        operation: OperationTypeNode.QUERY,
        ...(usedDefinitions ? { variableDefinitions: usedDefinitions } : {}),
        selectionSet: { kind: Kind.SELECTION_SET, selections: [selection] },
      },
    ],
  };
  const { data, errors } = executeSync({
    schema,
    document,
    rootValue: {},
    ...(variableValues ? { variableValues } : {}),
  });
  assert(
    !errors || errors.length === 0,
    () =>
      `Introspection query for ${JSON.stringify(selection)} should not have failed but got ${JSON.stringify(errors)}`,
  );
  assert(data, () => `Introspection query for ${JSON.stringify(selection)} should not have failed`);
  return ownValue(data, selection.alias?.value ?? selection.name.value);
}
