/**
 * The one place that reaches into @apollo/gateway's unexported modules (its `dist/` files).
 *
 * The router keeps Apollo's gateway for everything it does well (supergraph loading, query
 * planning, the Apollo Server integration) and swaps two functions of its executor for
 * faster equivalents: the query plan walk (`executeQueryPlan`, see plan-executor.ts) and
 * result shaping (`computeResponse`, see result-shaping.ts). @apollo/gateway calls both
 * through their modules' export objects, so replacing the export is enough.
 *
 * That is safe only for a release whose internals the equivalence tests
 * (`test/result-shaping.test.ts`, `test/plan-executor.test.ts`) have run against: on any
 * other, {@link installFastExecution} leaves Apollo's own code in place and says so.
 */
import { createRequire } from 'node:module';
import type { executeQueryPlan as ExecuteQueryPlan } from '@apollo/gateway';
import type { Span, SpanOptions } from '@opentelemetry/api';
import type { GraphQLSchema } from 'graphql';
import type { ComputeResponseArgs, ComputeResponseResult } from './result-shaping.js';

/** The @apollo/gateway releases the equivalence tests ran against. */
export const verifiedGatewayVersions = ['2.14.4'];

const require = createRequire(import.meta.url);
const dist = (file: string): unknown => require(`@apollo/gateway/dist/${file}`);

export const gatewayVersion = (require('@apollo/gateway/package.json') as { version: string })
  .version;

interface ExecuteQueryPlanModule {
  executeQueryPlan: typeof ExecuteQueryPlan;
  generateHydratedPaths: (
    parent: (string | number)[],
    path: readonly (string | number)[],
    data: unknown,
    result: (string | number)[][],
  ) => void;
}
interface ResultShapingModule {
  computeResponse: (args: ComputeResponseArgs) => ComputeResponseResult;
}
/** A rewrite of the query plan (`FetchDataRewrite` of @apollo/query-planner). */
type Rewrites = readonly unknown[] | undefined;
interface DataRewritesModule {
  applyRewrites: (schema: GraphQLSchema, rewrites: Rewrites, value: unknown) => void;
  isObjectOfType: (
    schema: GraphQLSchema,
    obj: Record<string, unknown>,
    typeCondition: string,
  ) => boolean;
}
/** What executeQueryPlan reads of the gateway's telemetry config. */
export interface TelemetryConfig {
  includeDocument?: boolean;
  recordExceptions?: boolean | number;
}
interface OpenTelemetryModule {
  tracer: {
    startActiveSpan<T>(name: string, fn: (span: Span) => T): T;
    startActiveSpan<T>(name: string, options: SpanOptions, fn: (span: Span) => T): T;
  };
  OpenTelemetrySpanNames: { EXECUTE: string; FETCH: string; POST_PROCESSING: string };
  recordExceptions: (span: Span, exceptions: readonly unknown[], config?: TelemetryConfig) => void;
}

const executeQueryPlanModule = dist('executeQueryPlan.js') as ExecuteQueryPlanModule;
const resultShapingModule = dist('resultShaping.js') as ResultShapingModule;

/** Apollo's own functions, as @apollo/gateway ships them. */
export const apollo = {
  executeQueryPlan: executeQueryPlanModule.executeQueryPlan,
  computeResponse: resultShapingModule.computeResponse,
};
export const { generateHydratedPaths } = executeQueryPlanModule;

/** Runs a plan with the executor @apollo/gateway currently uses (ours once installed). */
export const executeWithGateway: typeof ExecuteQueryPlan = (...args) =>
  executeQueryPlanModule.executeQueryPlan(...args);
export const { applyRewrites, isObjectOfType } = dist('dataRewrites.js') as DataRewritesModule;
export const { tracer, OpenTelemetrySpanNames, recordExceptions } = dist(
  'utilities/opentelemetry.js',
) as OpenTelemetryModule;

/** Which implementations @apollo/gateway's executor uses. */
export interface Execution {
  executeQueryPlan: typeof ExecuteQueryPlan;
  computeResponse: ResultShapingModule['computeResponse'];
}

/** Points @apollo/gateway's executor at these implementations. */
export function useExecution(execution: Execution): void {
  executeQueryPlanModule.executeQueryPlan = execution.executeQueryPlan;
  resultShapingModule.computeResponse = execution.computeResponse;
}

/**
 * Makes @apollo/gateway execute plans with `fast` (idempotent). On a release the equivalence
 * tests have not run against it does nothing and calls `warn`. Returns whether it did.
 */
export function installFastExecution(fast: Execution, warn: (message: string) => void): boolean {
  if (!verifiedGatewayVersions.includes(gatewayVersion)) {
    warn(
      `@apollo/gateway ${gatewayVersion} is not a release the router's fast execution was ` +
        `verified against (${verifiedGatewayVersions.join(', ')}); using Apollo's own, which ` +
        'is slower. Run gateway/test/plan-executor.test.ts and result-shaping.test.ts against ' +
        'it, then add it to verifiedGatewayVersions.',
    );
    return false;
  }
  useExecution(fast);
  return true;
}
