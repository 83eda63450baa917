import type { ApiKey, PrismaClient } from '@foundation/db';
import { ErrorCode, foundationError, generateApiKey, scopePattern } from '@foundation/platform';

/** What a new API key is for. */
export interface NewApiKey {
  name: string;
  scopes: readonly string[];
  expiresAt?: Date | null;
  /** The admin minting it; null from the bootstrap script. */
  ownerId: string | null;
}

const maxScopes = 32;
/** Longest space-separated scope list: MySQL keeps Prisma strings in VARCHAR(191). */
const maxScopesLength = 191;

/**
 * Validates and stores a new API key. Returns the key itself, which exists nowhere else
 * from here on: only its hash is stored.
 * @throws GraphQLError BAD_USER_INPUT naming the field when the input is not acceptable.
 */
export async function createApiKey(
  prisma: PrismaClient,
  input: NewApiKey,
): Promise<{ key: string; apiKey: ApiKey }> {
  const name = input.name.trim();
  if (name.length < 1 || name.length > 100) {
    throw badInput('name', 'name must be 1–100 characters');
  }
  const scopes = [...new Set(input.scopes.map((s) => s.trim()))];
  const wrong = scopes.find((s) => !scopePattern.test(s));
  if (
    wrong !== undefined ||
    scopes.length > maxScopes ||
    scopes.join(' ').length > maxScopesLength
  ) {
    throw badInput(
      'scopes',
      `each scope must be lower case like "users:read" (a–z first, then a–z, 0–9, : . _ -), at most ${maxScopes} and ${maxScopesLength} characters in all`,
    );
  }
  const expiresAt = input.expiresAt ?? null;
  if (expiresAt && (isNaN(expiresAt.getTime()) || expiresAt.getTime() <= Date.now())) {
    throw badInput('expiresAt', 'expiresAt must be a valid time in the future');
  }
  const { id, key, secretHash } = generateApiKey();
  const apiKey = await prisma.apiKey.create({
    data: { id, name, secretHash, scopes: scopes.join(' '), ownerId: input.ownerId, expiresAt },
  });
  return { key, apiKey };
}

/** The scopes of a stored key. */
export function scopesOf(apiKey: Pick<ApiKey, 'scopes'>): string[] {
  return apiKey.scopes === '' ? [] : apiKey.scopes.split(' ');
}

function badInput(field: string, message: string) {
  return foundationError(ErrorCode.BAD_USER_INPUT, message, { field });
}
