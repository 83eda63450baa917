import type { ApolloServerPlugin, BaseContext } from '@apollo/server';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

/**
 * The Prometheus metrics of one service, served at its `/metrics`. Each service has its own
 * registry (labelled `service`), so embedded mode, with every service in one process, still
 * shows each on its own port as distributed mode does.
 */
export interface Metrics {
  registry: Registry;
  /** HTTP requests by method, endpoint (a fixed set of paths) and status. */
  httpRequests: Counter<'method' | 'endpoint' | 'status'>;
  /** HTTP request duration in seconds, by method and endpoint. */
  httpDuration: Histogram<'method' | 'endpoint'>;
  /** GraphQL operations by name, type and outcome (`ok` or the first error's code). */
  graphqlOperations: Counter<'operation' | 'type' | 'outcome'>;
  /** GraphQL operation duration in seconds, by name. */
  graphqlDuration: Histogram<'operation'>;
}

export interface MetricsOptions {
  /** Value of the `service` label on every series. */
  service: string;
  /** Also collect Node's process metrics (CPU, memory, event loop lag). @default true */
  processMetrics?: boolean;
}

/** Buckets for request durations, in seconds: 1 ms to 10 s. */
const durationBuckets = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/** Creates the registry of one service with the metrics every service records. */
export function createMetrics(options: MetricsOptions): Metrics {
  const registry = new Registry();
  registry.setDefaultLabels({ service: options.service });
  if (options.processMetrics ?? true) collectDefaultMetrics({ register: registry });
  return {
    registry,
    httpRequests: new Counter({
      name: 'http_requests_total',
      help: 'HTTP requests by method, endpoint and status.',
      labelNames: ['method', 'endpoint', 'status'],
      registers: [registry],
    }),
    httpDuration: new Histogram({
      name: 'http_request_duration_seconds',
      help: 'HTTP request duration in seconds.',
      labelNames: ['method', 'endpoint'],
      buckets: durationBuckets,
      registers: [registry],
    }),
    graphqlOperations: new Counter({
      name: 'graphql_operations_total',
      help: 'GraphQL operations by name, type and outcome (ok or the first error code).',
      labelNames: ['operation', 'type', 'outcome'],
      registers: [registry],
    }),
    graphqlDuration: new Histogram({
      name: 'graphql_operation_duration_seconds',
      help: 'GraphQL operation duration in seconds.',
      labelNames: ['operation'],
      buckets: durationBuckets,
      registers: [registry],
    }),
  };
}

/** Distinct operation names given their own series; later ones count as `other`. */
const maxOperationNames = 200;

/**
 * Apollo Server plugin recording each operation's count and duration. Operation names come
 * from clients, so only the first {@link maxOperationNames} get their own label value:
 * a client inventing names cannot grow the registry without bound.
 */
export function metricsPlugin<TContext extends BaseContext>(
  metrics: Metrics,
): ApolloServerPlugin<TContext> {
  const names = new Set<string>();
  const label = (name: string | null | undefined) => {
    if (!name) return 'anonymous';
    if (names.has(name)) return name;
    if (names.size >= maxOperationNames) return 'other';
    names.add(name);
    return name;
  };
  return {
    async requestDidStart() {
      const started = performance.now();
      return {
        async willSendResponse({ operationName, operation, errors }) {
          const operationLabel = label(operationName);
          const code = errors?.[0]?.extensions['code'];
          metrics.graphqlOperations.inc({
            operation: operationLabel,
            type: operation?.operation ?? 'unknown',
            // An error without a code is unexpected: clients see it as INTERNAL_SERVER_ERROR.
            outcome: errors?.length
              ? typeof code === 'string'
                ? code
                : 'INTERNAL_SERVER_ERROR'
              : 'ok',
          });
          metrics.graphqlDuration.observe(
            { operation: operationLabel },
            (performance.now() - started) / 1000,
          );
        },
      };
    },
  };
}

/** The connections of one database pool at a moment. */
export interface DbPoolSnapshot {
  /** `primary` or `replica`. */
  role: string;
  /** Which server (`user@host:port/database`, never a password). */
  server: string;
  /** Connections running a query or a transaction. */
  active: number;
  /** Open connections waiting for work. */
  idle: number;
  /** Queries waiting for a connection. */
  waiting: number;
}

/**
 * Registers the database pool gauges, read from `pools` at each scrape:
 * `db_pool_connections{state="active"|"idle"}` and `db_pool_waiting_requests`, labelled by
 * pool role and server. Waiting above zero for long means the pool is too small or the
 * database too slow.
 */
export function registerDbPoolGauges(metrics: Metrics, pools: () => DbPoolSnapshot[]): void {
  new Gauge({
    name: 'db_pool_connections',
    help: 'Database pool connections by state (active: in use; idle: open, unused).',
    labelNames: ['role', 'server', 'state'],
    registers: [metrics.registry],
    collect() {
      this.reset();
      for (const pool of pools()) {
        this.set({ role: pool.role, server: pool.server, state: 'active' }, pool.active);
        this.set({ role: pool.role, server: pool.server, state: 'idle' }, pool.idle);
      }
    },
  });
  new Gauge({
    name: 'db_pool_waiting_requests',
    help: 'Queries waiting for a database pool connection.',
    labelNames: ['role', 'server'],
    registers: [metrics.registry],
    collect() {
      this.reset();
      for (const pool of pools()) this.set({ role: pool.role, server: pool.server }, pool.waiting);
    },
  });
}
