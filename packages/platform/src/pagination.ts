import { ErrorCode, foundationError } from './errors.js';

/**
 * Opaque cursors: base64url of a tagged value, so clients cannot build or reorder them and
 * a cursor from one list is refused by another.
 */
export function encodeCursor(kind: string, value: string): string {
  return Buffer.from(`${kind}:${value}`, 'utf8').toString('base64url');
}

/** @throws GraphQLError BAD_USER_INPUT on `field` when the cursor is not one of `kind`. */
export function decodeCursor(kind: string, cursor: string, field = 'after'): string {
  const decoded = Buffer.from(cursor, 'base64url').toString('utf8');
  if (
    cursor.length > 512 ||
    !decoded.startsWith(`${kind}:`) ||
    decoded.length === kind.length + 1
  ) {
    throw foundationError(ErrorCode.BAD_USER_INPUT, `"${field}" is not a cursor of this list`, {
      field,
    });
  }
  return decoded.slice(kind.length + 1);
}

/** @throws GraphQLError BAD_USER_INPUT on `first` unless 1 ≤ first ≤ max. */
export function pageSize(first: number | null | undefined, fallback: number, max: number): number {
  const size = first ?? fallback;
  if (!Number.isInteger(size) || size < 1 || size > max) {
    throw foundationError(ErrorCode.BAD_USER_INPUT, `"first" must be between 1 and ${max}`, {
      field: 'first',
    });
  }
  return size;
}
