import type { ServiceMap } from '@apollo/gateway';
import { print, type GraphQLError, type DocumentNode, type ExecutionResult } from 'graphql';
import {
  codeOf,
  ErrorCode,
  foundationError,
  type Logger,
  type Principal,
} from '@foundation/platform';
import type { GatewayContext } from '../context.js';
import { executeEvent, toGraphQLError, type PlannedOperation } from './event-executor.js';
import type { SubscriptionMetrics } from './subscription-metrics.js';
import type { SubscriptionPlanner } from './subscription-planner.js';
import { openUpstream, type Upstream, type UpstreamOptions } from './upstream.js';

/** Limits of the subscription hub (config `subscriptions`). */
export interface SubscriptionLimits {
  /** Most open subscriptions of one principal, over all its connections. */
  maxPerPrincipal: number;
  /** Events held for one slow client before the oldest is dropped. */
  queueSize: number;
  /** Reconnects to a subgraph before its subscribers get an error. */
  upstreamRetryAttempts: number;
  /** Longest backoff between upstream reconnects, in ms. */
  upstreamRetryMaxDelayMs: number;
  /** Ping interval on upstream and client WebSockets, in ms. */
  keepAliveMs: number;
}

/** What the hub needs from the router. */
export interface SubscriptionHubOptions {
  /** The current supergraph's planner. */
  planner: () => SubscriptionPlanner;
  /** The gateway's configured data sources (buildService), by subgraph name. */
  services: () => ServiceMap;
  /** The URL of a subgraph, as configured. */
  urlOf: (serviceName: string) => string;
  /** Headers the data source would send for `context` (identity assertion and all). */
  identityHeaders: (
    serviceName: string,
    context: GatewayContext,
  ) => Promise<Record<string, string>>;
  limits: SubscriptionLimits;
  metrics: SubscriptionMetrics;
  logger: Logger;
  /** Replaces how upstream subscriptions are opened (tests). @default openUpstream */
  openUpstream?: (options: UpstreamOptions) => Upstream;
}

/** A client's request for a subscription, validated against the API schema. */
export interface SubscriptionRequest {
  document: DocumentNode;
  operationName: string | undefined;
  variables: Record<string, unknown>;
  context: GatewayContext;
  /** Ends the stream with its error when the caller's credential stops being valid. */
  credential?: CredentialWatch;
}

/** Tells its listeners when a credential expires or is revoked. */
export interface CredentialWatch {
  /** Calls `listener` with the error once the credential is no longer good; returns the off switch. */
  onEnd(listener: (error: GraphQLError) => void): () => void;
}

/** The events of one client's subscription; `return()` unsubscribes at once. */
export type ClientStream = AsyncIterableIterator<ExecutionResult>;

/** The router's subscriptions, shared per identical upstream operation and identity. */
export interface SubscriptionHub {
  /** Plans and joins (or opens) the group; an error result when it cannot. */
  subscribe(request: SubscriptionRequest): ClientStream | ExecutionResult;
  /** Ends every subscription with `error` (e.g. the supergraph changed). */
  endAll(error: GraphQLError): void;
  /** Open groups (one upstream subscription each), for tests and metrics. */
  readonly groupCount: number;
}

interface Group {
  key: string;
  operation: PlannedOperation;
  context: GatewayContext;
  clients: Set<ClientSink>;
  upstream: Upstream | undefined;
  /** Events are resolved one after another, so clients see them in upstream order. */
  tail: Promise<void>;
}

interface ClientSink {
  push(result: ExecutionResult): void;
  end(error?: GraphQLError): void;
}

/**
 * Shares upstream subscriptions. Clients asking for the same operation (printed document,
 * operation name, variables) with the same identity (everything the router forwards for
 * it: the principal as asserted, client IP and user agent) join one group: one upstream
 * subscription, and each event's entity work runs once for the group. The identity is part
 * of the key, so an event is only ever delivered to clients it was resolved for.
 */
export function createSubscriptionHub(options: SubscriptionHubOptions): SubscriptionHub {
  const { limits, metrics } = options;
  const groups = new Map<string, Group>();
  const perPrincipal = new Map<string, number>();
  const open = options.openUpstream ?? openUpstream;

  function startUpstream(group: Group) {
    const { plan } = group.operation;
    const serviceName = plan.primary.serviceName;
    group.upstream = open({
      serviceName,
      url: options.urlOf(serviceName),
      query: plan.primary.operation,
      operationName: plan.primary.operationName,
      variables: pick(group.operation.variables, plan.primary.variableUsages ?? []),
      identityHeaders: () => options.identityHeaders(serviceName, group.context),
      retryAttempts: limits.upstreamRetryAttempts,
      retryMaxDelayMs: limits.upstreamRetryMaxDelayMs,
      keepAliveMs: limits.keepAliveMs,
      logger: group.context.logger,
      onEvent(payload) {
        metrics.upstreamEvents.inc();
        group.tail = group.tail.then(async () => {
          if (group.clients.size === 0) return;
          let result: ExecutionResult;
          try {
            result = await executeEvent(
              group.operation,
              payload,
              group.context,
              options.services(),
            );
          } catch (err) {
            group.context.logger.error({ err }, 'subscription event could not be resolved');
            result = {
              data: null,
              errors: [foundationError(ErrorCode.INTERNAL_SERVER_ERROR, 'Internal server error')],
            };
          }
          for (const client of group.clients) client.push(result);
        });
      },
      onError(error) {
        void group.tail.then(() => closeGroup(group, error));
      },
      onComplete() {
        void group.tail.then(() => closeGroup(group));
      },
    });
    metrics.upstreamsOpened.inc();
    metrics.upstreams.inc();
    group.context.logger.info(
      { subgraph: serviceName, op: group.operation.operationName },
      'upstream subscription opened',
    );
  }

  function closeGroup(group: Group, error?: GraphQLError) {
    if (groups.get(group.key) === group) groups.delete(group.key);
    for (const client of [...group.clients]) client.end(error);
    if (group.upstream) {
      group.upstream.close();
      group.upstream = undefined;
      metrics.upstreams.dec();
      group.context.logger.info(
        { op: group.operation.operationName, ...(error ? { error: codeOf(error.toJSON()) } : {}) },
        'upstream subscription closed',
      );
    }
  }

  function leave(group: Group, client: ClientSink) {
    if (!group.clients.delete(client)) return;
    // The last one out closes the upstream at once: nothing is left open for nobody.
    if (group.clients.size === 0) closeGroup(group);
  }

  return {
    get groupCount() {
      return groups.size;
    },
    subscribe(request) {
      const planner = options.planner();
      let plan;
      try {
        plan = planner.plan(request.document, request.operationName);
      } catch (err) {
        request.context.logger.warn({ err }, 'subscription could not be planned');
        return {
          errors: [foundationError(ErrorCode.BAD_REQUEST, 'This subscription cannot be planned')],
        };
      }
      const principalKey = principalKeyOf(request.context.principal, request.context);
      const held = perPrincipal.get(principalKey) ?? 0;
      if (held >= limits.maxPerPrincipal) {
        return {
          errors: [
            foundationError(
              ErrorCode.RATE_LIMITED,
              `Too many open subscriptions (at most ${limits.maxPerPrincipal} per caller)`,
              { retryAfterSeconds: 1, limit: limits.maxPerPrincipal },
            ),
          ],
        };
      }
      const source = print(request.document);
      const key = JSON.stringify([
        source,
        request.operationName ?? null,
        request.variables,
        identityKeyOf(request.context),
      ]);
      let group = groups.get(key);
      if (!group) {
        group = {
          key,
          operation: {
            document: request.document,
            source,
            operationName: request.operationName,
            variables: request.variables,
            plan,
            planner,
          },
          context: request.context,
          clients: new Set(),
          upstream: undefined,
          tail: Promise.resolve(),
        };
        try {
          startUpstream(group);
        } catch (err) {
          request.context.logger.error({ err }, 'upstream subscription could not be opened');
          return {
            errors: [foundationError(ErrorCode.INTERNAL_SERVER_ERROR, 'Internal server error')],
          };
        }
        groups.set(key, group);
      }
      perPrincipal.set(principalKey, held + 1);
      const joined = group;
      const stream = createClientStream(limits.queueSize, metrics, () => {
        perPrincipal.set(principalKey, (perPrincipal.get(principalKey) ?? 1) - 1);
        if (perPrincipal.get(principalKey) === 0) perPrincipal.delete(principalKey);
        stopWatching?.();
        leave(joined, stream.sink);
      });
      const stopWatching = request.credential?.onEnd((error) => stream.sink.end(error));
      group.clients.add(stream.sink);
      return stream.iterator;
    },
    endAll(error) {
      for (const group of [...groups.values()]) closeGroup(group, error);
    },
  };
}

/**
 * One client's bounded queue. When the client reads slower than events come, the oldest
 * waiting event is dropped (and counted): a dashboard wants the latest state, and a slow
 * reader must not hold memory for the whole group.
 */
function createClientStream(
  queueSize: number,
  metrics: SubscriptionMetrics,
  onRelease: () => void,
): { iterator: ClientStream; sink: ClientSink } {
  const queue: ExecutionResult[] = [];
  let waiting: ((result: IteratorResult<ExecutionResult>) => void) | undefined;
  /** No more events will be queued; the reader still gets what is queued. */
  let ended = false;
  let released = false;
  metrics.subscriptions.inc();
  const release = () => {
    if (released) return;
    released = true;
    metrics.subscriptions.dec();
    onRelease();
  };
  const settle = (result: IteratorResult<ExecutionResult>) => {
    const resolve = waiting;
    waiting = undefined;
    if (!result.done) metrics.delivered.inc();
    resolve?.(result);
  };
  const sink: ClientSink = {
    push(result) {
      if (ended) return;
      if (waiting) return settle({ value: result, done: false });
      if (queue.length >= queueSize) {
        queue.shift();
        metrics.dropped.inc();
      }
      queue.push(result);
    },
    end(error) {
      if (ended) return;
      ended = true;
      // The final error is kept even when the queue is full.
      if (error) {
        if (waiting) settle({ value: { errors: [error] }, done: false });
        else queue.push({ errors: [error] });
      } else if (waiting) {
        settle({ value: undefined, done: true });
      }
      release();
    },
  };
  const iterator: ClientStream = {
    next() {
      const result = queue.shift();
      if (result !== undefined) {
        metrics.delivered.inc();
        return Promise.resolve({ value: result, done: false });
      }
      if (ended) return Promise.resolve({ value: undefined, done: true });
      return new Promise((resolve) => (waiting = resolve));
    },
    return() {
      ended = true;
      queue.length = 0;
      settle({ value: undefined, done: true });
      release();
      return Promise.resolve({ value: undefined, done: true });
    },
    throw(error: unknown) {
      void iterator.return?.();
      return Promise.reject(toGraphQLError(error));
    },
    [Symbol.asyncIterator]() {
      return this;
    },
  };
  return { iterator, sink };
}

/** The variables a fetch uses, and only those. */
function pick(variables: Record<string, unknown>, names: readonly string[]) {
  return Object.fromEntries(names.filter((n) => n in variables).map((n) => [n, variables[n]]));
}

/**
 * Everything the router forwards about the caller, so two clients share an upstream
 * subscription (and its per-event entity results) only if the subgraphs cannot tell them
 * apart. The request id is forwarded too but says nothing about rights.
 */
export function identityKeyOf(context: GatewayContext): string {
  const { principal, client } = context;
  const who =
    principal.kind === 'user'
      ? [
          'user',
          principal.userId,
          principal.username,
          principal.sessionId,
          principal.tokenId,
          principal.tokenExpiresAt.getTime(),
          [...principal.scopes].sort(),
        ]
      : principal.kind === 'service'
        ? [
            'service',
            principal.apiKeyId,
            principal.name,
            principal.ownerId,
            [...principal.scopes].sort(),
          ]
        : ['anonymous'];
  return JSON.stringify([who, client.ip, client.userAgent]);
}

/** Whose subscriptions count together towards `maxPerPrincipal`. */
function principalKeyOf(principal: Principal, context: GatewayContext): string {
  switch (principal.kind) {
    case 'user':
      return `user:${principal.userId}`;
    case 'service':
      return `service:${principal.apiKeyId}`;
    default:
      return `anonymous:${context.client.ip ?? 'unknown'}`;
  }
}

/** An error meaning the supergraph changed under a subscription (resubscribe). */
export function supergraphChangedError(): GraphQLError {
  return foundationError(
    ErrorCode.SERVICE_UNAVAILABLE,
    'The router loaded a new supergraph; subscribe again',
    { reason: 'SUPERGRAPH_UPDATED' },
  );
}
