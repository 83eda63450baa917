import { Cluster } from 'ioredis';
import {
  createEventHandlers,
  isDomainEventType,
  type DomainEvent,
  type EventBus,
} from '../../events.js';
import type { Logger } from '../../logger.js';
import { guarded, type RedisClient } from './redis-connection.js';

export interface RedisEventBusOptions {
  /** Publishes. */
  client: RedisClient;
  /** Already connected, used for SUBSCRIBE only (a subscribed connection can do nothing else). */
  subscriber: RedisClient;
  /** The channel is `<keyPrefix>events`, so deployments sharing a Redis stay apart. */
  keyPrefix: string;
  logger: Logger;
}

/** A Redis-backed {@link EventBus}, ready once the subscription is confirmed. */
export interface RedisEventBus extends EventBus {
  /** Unsubscribes; the subscriber connection is the caller's to close. */
  close(): Promise<void>;
}

/**
 * Domain events over Redis pub/sub: every process, this one included, receives every event
 * published by any process, so the search index sees registrations made elsewhere. The
 * subscription is made before this resolves, so nothing published afterwards is missed.
 * Pub/sub delivers to whoever is connected: a process that is disconnected when an event is
 * published does not get it (the search index catches up on its next start).
 */
export async function createRedisEventBus(options: RedisEventBusOptions): Promise<RedisEventBus> {
  const { client, subscriber, logger } = options;
  const channel = `${options.keyPrefix}events`;
  const handlers = createEventHandlers(logger);

  const onMessage = (from: string, message: string) => {
    if (from !== channel) return;
    let event: DomainEvent;
    try {
      event = JSON.parse(message) as DomainEvent;
      if (!isDomainEventType(event.type))
        throw new Error(`unknown event type ${String(event.type)}`);
    } catch (err) {
      // Another writer on the channel (an older or newer release): skip, never crash.
      logger.warn({ err }, 'ignored a malformed domain event');
      return;
    }
    handlers.deliver(event);
  };
  // On a Cluster, plain PUBLISH reaches a subscriber through whichever node took it, so two
  // events of one publisher can arrive swapped; sharded pub/sub routes a channel through
  // one node (its slot's), which keeps their order.
  const sharded = subscriber instanceof Cluster;
  const messageEvent = sharded ? 'smessage' : 'message';
  subscriber.on(messageEvent, onMessage);
  if (sharded) await subscriber.ssubscribe(channel);
  else await subscriber.subscribe(channel);

  return {
    async publish(event) {
      const message = JSON.stringify(event);
      await guarded('event bus', () =>
        sharded ? client.spublish(channel, message) : client.publish(channel, message),
      );
    },
    subscribe: handlers.subscribe,
    async close() {
      subscriber.off(messageEvent, onMessage);
      handlers.clear();
    },
  };
}
