import { Counter, Gauge } from 'prom-client';
import type { Metrics } from '@foundation/platform';

/** The router's subscription series, on its `/metrics`. */
export interface SubscriptionMetrics {
  /** Open client connections that can subscribe, by protocol (graphql-ws, sse, multipart). */
  connections: Gauge<'protocol'>;
  /** Open client subscriptions, over every protocol. */
  subscriptions: Gauge;
  /** Open upstream subscriptions to subgraphs (one per shared group). */
  upstreams: Gauge;
  /** Upstream subscriptions opened since start. */
  upstreamsOpened: Counter;
  /** Events received from subgraphs (each resolved once per group). */
  upstreamEvents: Counter;
  /** Events handed to clients. */
  delivered: Counter;
  /** Events dropped from full client queues (slow clients). */
  dropped: Counter;
}

/** Registers the subscription series on the router's registry. */
export function createSubscriptionMetrics(metrics: Metrics): SubscriptionMetrics {
  const registers = [metrics.registry];
  return {
    connections: new Gauge({
      name: 'graphql_subscription_connections',
      help: 'Open client connections that can subscribe, by protocol.',
      labelNames: ['protocol'],
      registers,
    }),
    subscriptions: new Gauge({
      name: 'graphql_subscriptions_active',
      help: 'Open client subscriptions.',
      registers,
    }),
    upstreams: new Gauge({
      name: 'graphql_subscription_upstreams',
      help: 'Open upstream subscriptions to subgraphs (one per shared group).',
      registers,
    }),
    upstreamsOpened: new Counter({
      name: 'graphql_subscription_upstreams_opened_total',
      help: 'Upstream subscriptions opened.',
      registers,
    }),
    upstreamEvents: new Counter({
      name: 'graphql_subscription_upstream_events_total',
      help: 'Events received from subgraphs (each resolved once per shared group).',
      registers,
    }),
    delivered: new Counter({
      name: 'graphql_subscription_events_delivered_total',
      help: 'Subscription events handed to clients.',
      registers,
    }),
    dropped: new Counter({
      name: 'graphql_subscription_events_dropped_total',
      help: 'Subscription events dropped from full client queues.',
      registers,
    }),
  };
}
