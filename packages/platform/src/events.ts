import type { Logger } from './logger.js';

/** What other services may want to know about a user, carried by domain events. */
export interface UserSnapshot {
  id: string;
  username: string;
  displayName: string;
  createdAt: string;
}

/** What happened to a session, as `session.activity` events tell it. */
export type SessionActivityKind = 'login' | 'logout' | 'revoked';

/** Facts published by one service for others (search indexing, subscriptions). */
export type DomainEvent =
  | { type: 'user.registered'; user: UserSnapshot }
  | { type: 'user.updated'; user: UserSnapshot }
  /** A sign-in or sign-out; `at` is an ISO-8601 instant. Never carries tokens. */
  | {
      type: 'session.activity';
      kind: SessionActivityKind;
      userId: string;
      sessionId: string;
      at: string;
    }
  /** The search index took in a user's latest snapshot; `indexedUsers` is its new size. */
  | { type: 'search.index.updated'; userId: string; indexedUsers: number; at: string };

export type DomainEventType = DomainEvent['type'];

/**
 * Every event type, for transports that must check what they receive (the Redis bus). A
 * record, so adding a type to {@link DomainEvent} without listing it here fails the build.
 */
const eventTypeRecord: Record<DomainEventType, true> = {
  'user.registered': true,
  'user.updated': true,
  'session.activity': true,
  'search.index.updated': true,
};

/** Whether `type` names a known {@link DomainEvent}. */
export function isDomainEventType(type: unknown): type is DomainEventType {
  return typeof type === 'string' && Object.hasOwn(eventTypeRecord, type);
}
/** The event of one type. */
export type EventOf<T extends DomainEventType> = Extract<DomainEvent, { type: T }>;

/**
 * Publish/subscribe between services. The embedded implementation below works inside one
 * process; a Redis implementation with the same contract carries events across processes.
 */
export interface EventBus {
  publish(event: DomainEvent): Promise<void>;
  /** Calls `handler` for each later event of `type`; returns the unsubscribe function. */
  subscribe<T extends DomainEventType>(
    type: T,
    handler: (event: EventOf<T>) => void | Promise<void>,
  ): () => void;
}

type Handler = (event: DomainEvent) => void | Promise<void>;

/** The subscriber side every {@link EventBus} shares: handlers by type, isolated delivery. */
export interface EventHandlers {
  subscribe: EventBus['subscribe'];
  /**
   * Runs each handler of `event.type` on a later microtask (never on the caller's stack); a
   * failing handler is logged without affecting the others.
   */
  deliver(event: DomainEvent): void;
  /** Drops every handler. */
  clear(): void;
}

/** A handler registry for an {@link EventBus} implementation. */
export function createEventHandlers(logger: Logger): EventHandlers {
  const handlers = new Map<DomainEventType, Set<Handler>>();
  return {
    subscribe(type, handler) {
      const set = handlers.get(type) ?? new Set();
      handlers.set(type, set);
      const wrapped = handler as Handler;
      set.add(wrapped);
      return () => set.delete(wrapped);
    },
    deliver(event) {
      for (const handler of handlers.get(event.type) ?? []) {
        Promise.resolve()
          .then(() => handler(event))
          .catch((err: unknown) =>
            logger.error({ err, event: event.type }, 'event handler failed'),
          );
      }
    },
    clear: () => handlers.clear(),
  };
}

/**
 * In-process event bus. Delivery is asynchronous (a publisher never runs subscriber code on
 * its own stack) and a failing handler is logged without affecting others.
 */
export function createMemoryEventBus(logger: Logger): EventBus {
  const handlers = createEventHandlers(logger);
  return {
    async publish(event) {
      handlers.deliver(event);
    },
    subscribe: handlers.subscribe,
  };
}

/** The event payload describing a user; never includes the email. */
export function snapshotOfUser(user: {
  id: string;
  username: string;
  displayName: string;
  createdAt: Date;
}): UserSnapshot {
  return {
    id: user.id,
    username: user.username,
    displayName: user.displayName,
    createdAt: user.createdAt.toISOString(),
  };
}
