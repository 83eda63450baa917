import type { DomainEventType, EventBus, EventOf } from './events.js';

/** How {@link eventStream} picks and buffers events. */
export interface EventStreamOptions<T extends DomainEventType> {
  /** Keeps only the events this returns true for (e.g. one user's). */
  filter?: (event: EventOf<T>) => boolean;
  /** Most events held for a slow reader; older ones are dropped first. @default 256 */
  maxQueued?: number;
}

/**
 * The later events of one type as an async iterator, for a GraphQL `subscribe` resolver.
 * Hand-rolled rather than an async generator: a generator sees `return()` only at its
 * next event, so an unsubscribe would keep the bus handler (and its queue) until then;
 * here `return()` unsubscribes at once. The queue is bounded, dropping the oldest.
 */
export function eventStream<T extends DomainEventType>(
  events: EventBus,
  type: T,
  options: EventStreamOptions<T> = {},
): AsyncIterableIterator<EventOf<T>> {
  const maxQueued = options.maxQueued ?? 256;
  const queue: EventOf<T>[] = [];
  let waiting: ((result: IteratorResult<EventOf<T>>) => void) | undefined;
  let done = false;
  const unsubscribe = events.subscribe(type, (event) => {
    if (done || (options.filter && !options.filter(event))) return;
    if (waiting) {
      const resolve = waiting;
      waiting = undefined;
      resolve({ value: event, done: false });
      return;
    }
    if (queue.length >= maxQueued) queue.shift();
    queue.push(event);
  });
  const finish = (): Promise<IteratorResult<EventOf<T>>> => {
    if (!done) {
      done = true;
      unsubscribe();
      queue.length = 0;
      waiting?.({ value: undefined, done: true });
      waiting = undefined;
    }
    return Promise.resolve({ value: undefined, done: true });
  };
  return {
    next() {
      const event = queue.shift();
      if (event !== undefined) return Promise.resolve({ value: event, done: false });
      if (done) return Promise.resolve({ value: undefined, done: true });
      return new Promise((resolve) => (waiting = resolve));
    },
    return: finish,
    throw(error: unknown) {
      void finish();
      return Promise.reject(error instanceof Error ? error : new Error(String(error)));
    },
    [Symbol.asyncIterator]() {
      return this;
    },
  };
}
