import { cacheEntryKey } from './stores/cache-aside.js';
import { createHash, randomBytes } from 'node:crypto';

/**
 * API keys look like `fdn_<id>_<secret>`: a fixed prefix (so secret scanners and people
 * recognise one), a public id of 16 hex characters (the database row, found without a
 * scan) and 32 random bytes in base64url. Only the SHA-256 of the whole key is stored: a
 * slow password hash would add nothing against 256 random bits and cost every request.
 */
const apiKeyPattern = /^fdn_([0-9a-f]{16})_[\w-]{43}$/;

/** Header a service sends its key in (`Authorization: ApiKey <key>` works too). */
export const API_KEY_HEADER = 'x-api-key';

/** A scope: lower case, may be namespaced with `:` or `.` (e.g. `users:read`). */
export const scopePattern = /^[a-z][a-z0-9:._-]{0,63}$/;

/** A new key: show `key` once, store `id` and `secretHash`. */
export interface GeneratedApiKey {
  id: string;
  key: string;
  secretHash: string;
}

/** Makes a new random API key. */
export function generateApiKey(): GeneratedApiKey {
  const id = randomBytes(8).toString('hex');
  const key = `fdn_${id}_${randomBytes(32).toString('base64url')}`;
  return { id, key, secretHash: sha256Hex(key) };
}

/** The public id of a well-formed key, or undefined for anything else. */
export function apiKeyIdOf(key: string): string | undefined {
  return apiKeyPattern.exec(key)?.[1];
}

/** SHA-256 of `value`, in hex: how API keys and refresh tokens are stored. */
export function sha256Hex(value: string): string {
  return createHash('sha256').update(value, 'utf8').digest('hex');
}

/**
 * The {@link Cache} key of a key's lookup, shared by the router (which fills it) and the
 * auth subgraph (which deletes it on revoke, so a revoked key stops working at once).
 */
export function apiKeyCacheKey(id: string): string {
  return cacheEntryKey('apikey', id);
}

/** What the router caches about a key: everything needed to accept or refuse it. */
export interface ApiKeyRecord {
  id: string;
  name: string;
  secretHash: string;
  scopes: string[];
  ownerId: string | null;
  /** ms since the epoch, or null for a key that never expires. */
  expiresAt: number | null;
  revoked: boolean;
}
