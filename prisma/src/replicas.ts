/**
 * Read replicas: a client that sends model reads to replicas (in turn) and everything
 * else (writes, transactions, raw SQL, connection control) to the primary.
 */

/** Model operations that only read, and so may be served by a replica. */
const readOperations = new Set([
  'findUnique',
  'findUniqueOrThrow',
  'findFirst',
  'findFirstOrThrow',
  'findMany',
  'count',
  'aggregate',
  'groupBy',
]);

export interface ReplicaRoutingOptions {
  /** Whether an error means the server is unreachable (then the primary answers instead). */
  isUnavailable: (error: unknown) => boolean;
  /** How long a replica that failed so is left out, in ms. @default 10_000 */
  cooldownMs?: number;
  /** Told when replica number `index` (0-based) is left out, and why. */
  onUnavailable?: (index: number, error: unknown) => void;
}

type Method = (...args: unknown[]) => unknown;

/**
 * Wraps `primary` so that model reads (`db.prisma.user.findMany(...)`) go to one of
 * `replicas`, taken in turn. Writes, `$transaction` (so every statement of a transaction,
 * reads too), `$queryRaw`/`$executeRaw` (raw SQL may write) and `$connect`/`$disconnect`
 * stay on the primary. The result has the primary's type, so callers need not know.
 *
 * A replica that is unreachable is left out for a while and its reads are answered by the
 * primary: losing a replica costs capacity, not availability. Routed reads return plain
 * promises, sent at once; use `db.primary` inside an array `$transaction([...])`.
 *
 * Replicas lag: a flow that must see its own write reads from the primary (`db.primary`).
 */
export function routeReadsToReplicas<T extends object>(
  primary: T,
  replicas: readonly T[],
  options: ReplicaRoutingOptions,
): T {
  if (replicas.length === 0) return primary;
  const cooldownMs = options.cooldownMs ?? 10_000;
  const outUntil = replicas.map(() => 0);
  let next = 0;
  /** The next replica not cooling down, or undefined when all are. */
  const pick = (): number | undefined => {
    for (let tried = 0; tried < replicas.length; tried++) {
      const index = next++ % replicas.length;
      if ((outUntil[index] ?? 0) <= Date.now()) return index;
    }
    return undefined;
  };
  const methodOf = (client: T, model: string, operation: string): Method => {
    const delegate = (client as Record<string, Record<string, unknown>>)[model] as Record<
      string,
      unknown
    >;
    return (delegate[operation] as Method).bind(delegate);
  };
  const read =
    (model: string, operation: string): Method =>
    (...args) => {
      const index = pick();
      if (index === undefined) return methodOf(primary, model, operation)(...args);
      const replica = replicas[index] as T;
      return Promise.resolve(methodOf(replica, model, operation)(...args)).catch(
        (error: unknown) => {
          if (!options.isUnavailable(error)) throw error;
          outUntil[index] = Date.now() + cooldownMs;
          options.onUnavailable?.(index, error);
          return methodOf(primary, model, operation)(...args);
        },
      );
    };
  const delegates = new Map<string, object>();
  return new Proxy(primary, {
    get(target, property, receiver) {
      const value: unknown = Reflect.get(target, property, receiver);
      // Model delegates are the lower-case properties (user, apiKey, …); `$` ones are not.
      if (typeof property !== 'string' || property.startsWith('$') || !isDelegate(value)) {
        return typeof value === 'function' ? (value as Method).bind(target) : value;
      }
      let delegate = delegates.get(property);
      if (!delegate) {
        delegate = new Proxy(value, {
          get(model, operation, modelReceiver) {
            if (typeof operation === 'string' && readOperations.has(operation)) {
              return read(property, operation);
            }
            return Reflect.get(model, operation, modelReceiver) as unknown;
          },
        });
        delegates.set(property, delegate);
      }
      return delegate;
    },
  });
}

function isDelegate(value: unknown): value is object {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as { findMany?: unknown }).findMany === 'function'
  );
}
