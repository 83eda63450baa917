import type { executeQueryPlan, ServiceMap } from '@apollo/gateway';
import type { QueryPlan } from '@apollo/query-planner';
import {
  GraphQLError,
  type DocumentNode,
  type ExecutionResult,
  type GraphQLFormattedError,
} from 'graphql';
import { executeWithGateway } from '../apollo-internals.js';
import type { GatewayContext } from '../context.js';
import type { SubscriptionPlan, SubscriptionPlanner } from './subscription-planner.js';

/** What an upstream subgraph sent for one event (graphql-ws `next` payload). */
export interface UpstreamPayload {
  data?: Record<string, unknown> | null;
  errors?: readonly unknown[];
}

/** One subscription operation as the client sent it, planned. */
export interface PlannedOperation {
  document: DocumentNode;
  source: string;
  operationName: string | undefined;
  variables: Record<string, unknown>;
  plan: SubscriptionPlan;
  planner: SubscriptionPlanner;
}

/** Name of the one-off service that answers the primary fetch with the event itself. */
const eventService = '__subscription_event__';

/**
 * Runs the `rest` of a subscription plan on one event with the executor the gateway uses
 * for queries (Apollo's, or the router's equivalent once installed): a plan that is the primary fetch (answered by a one-off data source that
 * returns the event) followed by `rest`. Entity fetches, merging, error paths and response
 * shaping are then exactly those of queries, and every subgraph call goes through the
 * configured data sources (identity assertion and all).
 */
export async function executeEvent(
  operation: PlannedOperation,
  payload: UpstreamPayload,
  context: GatewayContext,
  services: ServiceMap,
): Promise<ExecutionResult> {
  const { plan, planner } = operation;
  // The executor merges into the data in place: one copy per resolution.
  const event = structuredClone({ data: payload.data ?? null, errors: payload.errors ?? [] });
  const primary = { ...plan.primary, serviceName: eventService };
  const queryPlan: QueryPlan = {
    kind: 'QueryPlan',
    node: plan.rest ? { kind: 'Sequence', nodes: [primary, plan.rest] } : primary,
  };
  const serviceMap: ServiceMap = {
    ...services,
    [eventService]: {
      process: () =>
        Promise.resolve({
          data: event.data,
          ...(event.errors.length ? { errors: event.errors as GraphQLFormattedError[] } : {}),
        }),
    },
  };
  const requestContext = {
    request: {
      query: operation.source,
      variables: operation.variables,
      ...(operation.operationName ? { operationName: operation.operationName } : {}),
    },
    document: operation.document,
    source: operation.source,
    operationName: operation.operationName ?? null,
    operation: plan.operationContext.operation,
    context,
    logger: context.logger,
    schema: planner.apiSchema,
    // The executor's error handling writes here; it must be an object.
    metrics: {},
    cache: undefined,
    queryHash: '',
    schemaHash: '',
    overallCachePolicy: undefined,
  } as unknown as Parameters<typeof executeQueryPlan>[2];
  const result = await executeWithGateway(
    queryPlan,
    serviceMap,
    requestContext,
    plan.operationContext,
    planner.supergraphSchema,
    planner.federationApiSchema,
  );
  return {
    data: (result.data ?? null) as Record<string, unknown> | null,
    ...(result.errors?.length ? { errors: result.errors.map(toGraphQLError) } : {}),
  };
}

/** graphql-ws and the wire formats need real `GraphQLError` instances. */
export function toGraphQLError(error: unknown): GraphQLError {
  if (error instanceof GraphQLError) return error;
  const e = (error ?? {}) as {
    message?: unknown;
    path?: readonly (string | number)[];
    extensions?: Record<string, unknown>;
  };
  return new GraphQLError(typeof e.message === 'string' ? e.message : 'Unknown error', {
    ...(e.path ? { path: e.path } : {}),
    ...(e.extensions ? { extensions: e.extensions } : {}),
  });
}
