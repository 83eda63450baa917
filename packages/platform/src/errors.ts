import { GraphQLError, type GraphQLFormattedError } from 'graphql';
import type { Logger } from './logger.js';

/**
 * The one error vocabulary of Foundation. GraphQL puts the code in `extensions.code`;
 * REST and gRPC adapters map it to their own status with {@link httpStatusFor}.
 */
export const ErrorCode = {
  /** No credential, or one that is invalid, expired or revoked. */
  UNAUTHENTICATED: 'UNAUTHENTICATED',
  /** The caller is known but may not do this. */
  FORBIDDEN: 'FORBIDDEN',
  /** An argument is wrong; `extensions.field` names it when one field is to blame. */
  BAD_USER_INPUT: 'BAD_USER_INPUT',
  /** The request itself is malformed (bad JSON, wrong content type, too large). */
  BAD_REQUEST: 'BAD_REQUEST',
  NOT_FOUND: 'NOT_FOUND',
  /** Too many attempts; `extensions.retryAfterSeconds` says when to try again. */
  RATE_LIMITED: 'RATE_LIMITED',
  /** A service the request needs is down or timed out; retrying later may work. */
  SERVICE_UNAVAILABLE: 'SERVICE_UNAVAILABLE',
  INTERNAL_SERVER_ERROR: 'INTERNAL_SERVER_ERROR',
  // Codes that Apollo Server itself produces, passed through unchanged.
  GRAPHQL_PARSE_FAILED: 'GRAPHQL_PARSE_FAILED',
  GRAPHQL_VALIDATION_FAILED: 'GRAPHQL_VALIDATION_FAILED',
  OPERATION_RESOLUTION_FAILURE: 'OPERATION_RESOLUTION_FAILURE',
  PERSISTED_QUERY_NOT_FOUND: 'PERSISTED_QUERY_NOT_FOUND',
  PERSISTED_QUERY_NOT_SUPPORTED: 'PERSISTED_QUERY_NOT_SUPPORTED',
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

const knownCodes = new Set<string>(Object.values(ErrorCode));

/** The HTTP status an adapter answers with when a whole request fails with `code`. */
export function httpStatusFor(code: ErrorCode): number {
  switch (code) {
    case 'UNAUTHENTICATED':
      return 401;
    case 'FORBIDDEN':
      return 403;
    case 'NOT_FOUND':
      return 404;
    case 'RATE_LIMITED':
      return 429;
    case 'SERVICE_UNAVAILABLE':
      return 503;
    case 'INTERNAL_SERVER_ERROR':
      return 500;
    case 'BAD_USER_INPUT':
    case 'BAD_REQUEST':
    case 'GRAPHQL_PARSE_FAILED':
    case 'GRAPHQL_VALIDATION_FAILED':
    case 'OPERATION_RESOLUTION_FAILURE':
    case 'PERSISTED_QUERY_NOT_FOUND':
    case 'PERSISTED_QUERY_NOT_SUPPORTED':
      return 400;
    default:
      throw new UnreachableCaseError(code);
  }
}

/** Thrown by exhaustive switches; the `never` parameter makes a missed case a type error. */
export class UnreachableCaseError extends Error {
  constructor(value: never) {
    super(`Unreachable case: ${String(value)}`);
  }
}

/** Extra, public details of an error. Never put secrets or internals here. */
export type ErrorDetails = Record<string, unknown> & {
  /** The argument or input field that is wrong. */
  field?: string;
  /** HTTP status for the whole response, when the error fails the whole request. */
  http?: { status: number };
};

/** A GraphQL error carrying one of our codes. Resolvers throw these for expected failures. */
export function foundationError(
  code: ErrorCode,
  message: string,
  details: ErrorDetails = {},
): GraphQLError {
  return new GraphQLError(message, { extensions: { ...details, code } });
}

/** The code of an error in a formatted GraphQL response, if it carries one. */
export function codeOf(error: GraphQLFormattedError): string | undefined {
  const code = error.extensions?.['code'];
  return typeof code === 'string' ? code : undefined;
}

/** How {@link createFormatError} recognises failures of a dependency. */
export interface FormatErrorOptions {
  /**
   * Whether an error without a code means a dependency (the database) is down or overloaded;
   * such errors become SERVICE_UNAVAILABLE instead of INTERNAL_SERVER_ERROR.
   */
  isUnavailable?: (error: unknown) => boolean;
  /** What clients are told then. */
  unavailableMessage?: string;
}

function firstLine(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  // Prisma's messages start with the call site; the reason is on the last line.
  return message.trim().split('\n').at(-1)?.slice(0, 300) ?? '';
}

/**
 * Apollo Server `formatError`: errors with a known code reach the client as they are
 * (without stack traces); anything else is an unexpected failure, logged in full and
 * answered with a bare INTERNAL_SERVER_ERROR so internals never leak.
 */
export function createFormatError(logger: Logger, options: FormatErrorOptions = {}) {
  return (formatted: GraphQLFormattedError, error: unknown): GraphQLFormattedError => {
    const cause = unwrap(error);
    // Apollo stamps INTERNAL_SERVER_ERROR on every error that has no code of its own, so
    // that code is trusted only when a resolver chose it; otherwise the error is unexpected
    // and its message (a driver's, a stack's) must not reach the client.
    const stamped = codeOf(formatted);
    const code =
      stamped === ErrorCode.INTERNAL_SERVER_ERROR && !hasOwnCode(cause) ? undefined : stamped;
    if ((code === undefined || !knownCodes.has(code)) && options.isUnavailable?.(cause)) {
      // Expected while a dependency is down: one line, no stack, and a code clients retry on.
      logger.warn(
        { path: formatted.path, reason: firstLine(cause) },
        'a dependency is unavailable; answering SERVICE_UNAVAILABLE',
      );
      const unavailable: GraphQLFormattedError = {
        message:
          options.unavailableMessage ??
          'A service this request needs is unavailable; try again shortly',
        extensions: { code: ErrorCode.SERVICE_UNAVAILABLE },
      };
      return formatted.path ? { ...unavailable, path: formatted.path } : unavailable;
    }
    if (code !== undefined && knownCodes.has(code)) {
      const {
        stacktrace: _stacktrace,
        exception: _exception,
        ...extensions
      } = formatted.extensions ?? {};
      return { ...formatted, extensions };
    }
    logger.error({ err: cause, path: formatted.path }, 'unexpected error in resolver');
    const masked: GraphQLFormattedError = {
      message: 'Internal server error',
      extensions: { code: ErrorCode.INTERNAL_SERVER_ERROR },
    };
    return formatted.path ? { ...masked, path: formatted.path } : masked;
  };
}

/** Whether the error itself (not Apollo's wrapper) carries an `extensions.code`. */
function hasOwnCode(error: unknown): boolean {
  const extensions = (error as { extensions?: Record<string, unknown> } | null)?.extensions;
  return typeof extensions?.['code'] === 'string';
}

function unwrap(error: unknown): unknown {
  // Duck-typed: Apollo and this package may load different copies of graphql-js (ESM and
  // CommonJS), so `instanceof GraphQLError` can be false for a real GraphQLError.
  const original = (error as { originalError?: unknown } | null)?.originalError;
  return original ?? error;
}
