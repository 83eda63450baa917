/** Telling database errors apart: a collision on a unique key, or a database that is down. */
import { Prisma } from './__generated__/sqlite/client.js';

/**
 * When `error` is a unique-constraint violation (Prisma P2002), the fields that collided;
 * otherwise null. SQLite names the columns; MySQL names the index (`users_email_key`).
 */
export function isUniqueViolation(error: unknown): { fields: string[] } | null {
  if (!(error instanceof Prisma.PrismaClientKnownRequestError) || error.code !== 'P2002')
    return null;
  const meta = error.meta as
    | {
        target?: string[] | string;
        driverAdapterError?: {
          cause?: { constraint?: { fields?: string[]; index?: string }; table?: string };
        };
      }
    | undefined;
  const cause = meta?.driverAdapterError?.cause;
  // Index names follow Prisma's `<table>_<column>_key`, as in the migrations.
  const fromIndex = cause?.constraint?.index
    ?.replace(/_key$/, '')
    .replace(/^(users|credentials|api_keys)_/, '');
  const fromAdapter = cause?.constraint?.fields ?? (fromIndex ? [fromIndex] : undefined);
  const target = fromAdapter ?? meta?.target ?? [];
  const fields = (Array.isArray(target) ? target : [target]).map((f) =>
    // Columns may come back as table.column or as the mapped column name.
    f.replace(/^.*\./, '').replace(/_([a-z])/g, (_m, c: string) => c.toUpperCase()),
  );
  return { fields };
}

/** Driver errors (mariadb `errno`) that mean the server cannot be reached, not a bad query. */
const unreachableErrnos = new Set([
  45001, // connection already closed
  45009, // socket closed unexpectedly
  45012, // connection timeout
  45013, // command on a closed connection
  45019, // socket error
  45026, // socket timeout
  45028, // no pool connection within acquireTimeout
  45060, // pool could not initialise
  45061, // pool has no connection
  1053, // server shutdown in progress
  1927, // connection killed (server shutting down)
]);
const unreachableKinds = new Set([
  'DatabaseNotReachable',
  'ConnectionClosed',
  'SocketTimeout',
  'TooManyConnections',
  'TlsConnectionError',
]);

/**
 * Whether `error` says the database is unreachable or overloaded (down, restarting, no
 * connection within the pool's acquire timeout), as opposed to a bad query: the request
 * may succeed when retried later, so callers answer SERVICE_UNAVAILABLE.
 */
export function isDatabaseUnavailable(error: unknown): boolean {
  if (typeof error !== 'object' || error === null) return false;
  if (error instanceof Prisma.PrismaClientInitializationError) return true;
  const cause = (
    error as { meta?: { driverAdapterError?: { cause?: { kind?: string; code?: unknown } } } }
  ).meta?.driverAdapterError?.cause;
  if (cause?.kind !== undefined && unreachableKinds.has(cause.kind)) return true;
  return (
    cause?.kind === 'mysql' && typeof cause.code === 'number' && unreachableErrnos.has(cause.code)
  );
}
