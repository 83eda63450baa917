import { buildOperationContext } from '@apollo/gateway';
import { operationFromDocument, Supergraph, type Schema } from '@apollo/federation-internals';
import { QueryPlanner, type FetchNode, type PlanNode, type QueryPlan } from '@apollo/query-planner';
import type { DocumentNode, GraphQLSchema } from 'graphql';

/** What the router must do for one subscription operation. */
export interface SubscriptionPlan {
  /** The subscription sent to the subgraph that owns the root field. */
  primary: FetchNode;
  /** The entity work to run on every event; undefined when the event has every field. */
  rest: PlanNode | undefined;
  /** The whole plan, for logs and tests. */
  queryPlan: QueryPlan;
  operationContext: ReturnType<typeof buildOperationContext>;
}

/** One supergraph's planner and the schemas `executeQueryPlan` needs alongside. */
export interface SubscriptionPlanner {
  /** The public schema clients validate against. */
  apiSchema: GraphQLSchema;
  /** For `executeQueryPlan`: the supergraph as GraphQL.js and the API schema as Federation's. */
  supergraphSchema: GraphQLSchema;
  federationApiSchema: Schema;
  /**
   * Plans a validated subscription document.
   * @throws Error when the operation is not a subscription or cannot be planned.
   */
  plan(document: DocumentNode, operationName: string | undefined): SubscriptionPlan;
}

/**
 * Builds the planner of a supergraph. `@apollo/query-planner` already plans subscriptions
 * (a `Subscription` node with `primary` and `rest`); stock `@apollo/gateway` only refuses
 * to run them. These are internal APIs, so every `@apollo/*` federation package is pinned
 * to one exact version and tests check printed plans.
 */
export function createSubscriptionPlanner(supergraphSdl: string): SubscriptionPlanner {
  const supergraph = Supergraph.build(supergraphSdl);
  const federationApiSchema = supergraph.apiSchema();
  const apiSchema = federationApiSchema.toGraphQLJSSchema();
  const supergraphSchema = supergraph.schema.toGraphQLJSSchema();
  const queryPlanner = new QueryPlanner(supergraph);
  return {
    apiSchema,
    supergraphSchema,
    federationApiSchema,
    plan(document, operationName) {
      const operation = operationFromDocument(federationApiSchema, document, {
        ...(operationName ? { operationName } : {}),
      });
      const queryPlan = queryPlanner.buildQueryPlan(operation);
      const node = queryPlan.node;
      if (node?.kind !== 'Subscription') throw new Error('Not a subscription operation');
      return {
        primary: node.primary,
        rest: node.rest,
        queryPlan,
        operationContext: buildOperationContext({
          schema: apiSchema,
          operationDocument: document,
          ...(operationName ? { operationName } : {}),
        }),
      };
    },
  };
}
