/**
 * Read replicas: a client that sends model reads to replicas (round robin) and everything
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

/**
 * Wraps `primary` so that model reads (`db.prisma.user.findMany(...)`) go to one of
 * `replicas`, taken in turn. Writes, `$transaction` (so every statement of a transaction,
 * reads too), `$queryRaw`/`$executeRaw` (raw SQL may write) and `$connect`/`$disconnect`
 * stay on the primary. The result has the primary's type, so callers need not know.
 *
 * Replicas lag: a flow that must see its own write reads from the primary (`db.primary`).
 */
export function routeReadsToReplicas<T extends object>(primary: T, replicas: readonly T[]): T {
  if (replicas.length === 0) return primary;
  let next = 0;
  const pick = (): T => {
    const replica = replicas[next % replicas.length] as T;
    next++;
    return replica;
  };
  const delegates = new Map<string | symbol, object>();
  return new Proxy(primary, {
    get(target, property, receiver) {
      const value: unknown = Reflect.get(target, property, receiver);
      // Model delegates are the lower-case properties (user, apiKey, …); `$` ones are not.
      if (typeof property !== 'string' || property.startsWith('$') || !isDelegate(value)) {
        return typeof value === 'function' ? (value as () => unknown).bind(target) : value;
      }
      let delegate = delegates.get(property);
      if (!delegate) {
        delegate = new Proxy(value, {
          get(model, operation, modelReceiver) {
            if (typeof operation === 'string' && readOperations.has(operation)) {
              const replica = pick() as Record<string, Record<string, unknown>>;
              const replicaModel = replica[property] as Record<string, unknown>;
              const method = replicaModel[operation] as (...args: unknown[]) => unknown;
              return method.bind(replicaModel);
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
