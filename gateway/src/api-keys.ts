import { timingSafeEqual } from 'node:crypto';
import type { PrismaClient } from '@foundation/db';
import {
  apiKeyIdOf,
  createCacheAside,
  ErrorCode,
  foundationError,
  sha256Hex,
  type ApiKeyRecord,
  type Cache,
  type Logger,
  type Metrics,
  type ServicePrincipal,
} from '@foundation/platform';

export interface ApiKeyVerifierOptions {
  prisma: PrismaClient;
  /** Shared with the auth subgraph, which deletes a key's entry when it is revoked. */
  cache: Cache;
  /** How long a lookup (found or not) is cached, in seconds. */
  cacheTtlSeconds: number;
  logger: Logger;
  /** Where the cache's hit and miss counters go (`cache="apikey"`). */
  registry?: Metrics['registry'];
}

/** Turns an API key into the service principal it stands for. */
export interface ApiKeyVerifier {
  /** @throws GraphQLError UNAUTHENTICATED (HTTP 401) for a wrong, revoked or expired key. */
  verify(key: string): Promise<ServicePrincipal>;
}

/** How often a key's `lastUsedAt` is written, at most, per router process, in ms. */
const lastUsedWriteIntervalMs = 60_000;
const maxTracked = 10_000;

/**
 * Verifies API keys: the public id in the key finds the row (cached in the shared
 * {@link Cache}, misses too, so neither a busy service nor a flood of made-up keys hits
 * the database on every request), then the key's SHA-256 must match in constant time.
 */
export function createApiKeyVerifier(options: ApiKeyVerifierOptions): ApiKeyVerifier {
  const { prisma, cache, logger } = options;
  const lastWritten = new Map<string, number>();
  // Entries are `apikey:<id>` (apiKeyCacheKey), which the auth subgraph deletes on revoke.
  const records = createCacheAside<ApiKeyRecord>({
    cache,
    name: 'apikey',
    ttlSeconds: options.cacheTtlSeconds,
    negativeTtlSeconds: options.cacheTtlSeconds,
    logger,
    ...(options.registry ? { registry: options.registry } : {}),
  });

  async function load(id: string): Promise<ApiKeyRecord | null> {
    const row = await prisma.apiKey.findUnique({ where: { id } });
    const record: ApiKeyRecord | null = row && {
      id: row.id,
      name: row.name,
      secretHash: row.secretHash,
      scopes: row.scopes === '' ? [] : row.scopes.split(' '),
      ownerId: row.ownerId,
      expiresAt: row.expiresAt?.getTime() ?? null,
      revoked: row.revokedAt !== null,
    };
    return record;
  }
  const lookup = (id: string) => records.get(id, load);

  function recordUse(id: string, now: number) {
    if ((lastWritten.get(id) ?? 0) + lastUsedWriteIntervalMs > now) return;
    if (lastWritten.size >= maxTracked) lastWritten.clear();
    lastWritten.set(id, now);
    // Off the request's path: a slow or failed write must not cost the caller.
    prisma.apiKey
      .updateMany({ where: { id }, data: { lastUsedAt: new Date(now) } })
      .catch((err: unknown) => logger.warn({ err, apiKeyId: id }, 'could not record API key use'));
  }

  return {
    async verify(key) {
      const id = apiKeyIdOf(key);
      const record = id === undefined ? null : await lookup(id);
      if (!record || !sameHash(sha256Hex(key), record.secretHash)) {
        throw unauthenticated('API key is invalid');
      }
      // Only the key's holder gets this far, so saying why it stopped working is safe.
      if (record.revoked) throw unauthenticated('API key has been revoked');
      const now = Date.now();
      if (record.expiresAt !== null && record.expiresAt <= now) {
        throw unauthenticated('API key has expired');
      }
      recordUse(record.id, now);
      return {
        kind: 'service',
        apiKeyId: record.id,
        name: record.name,
        ownerId: record.ownerId,
        scopes: record.scopes,
      };
    },
  };
}

function sameHash(a: string, b: string): boolean {
  const x = Buffer.from(a, 'hex');
  const y = Buffer.from(b, 'hex');
  return x.length === y.length && timingSafeEqual(x, y);
}

function unauthenticated(message: string) {
  return foundationError(ErrorCode.UNAUTHENTICATED, message, { http: { status: 401 } });
}
