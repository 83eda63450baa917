import { GraphQLError } from 'graphql';
import { describe, expect, it } from 'vitest';
import { createFormatError, ErrorCode, foundationError } from '../src/errors.js';
import { testLogger } from '../src/testing.js';

/** What Apollo hands formatError for an error thrown in a resolver. */
function asApollo(
  thrown: Error,
): [{ message: string; extensions: Record<string, unknown>; path: string[] }, unknown] {
  const own = (thrown as { extensions?: Record<string, unknown> }).extensions ?? {};
  const code = own['code'];
  return [
    {
      message: thrown.message,
      // Apollo stamps INTERNAL_SERVER_ERROR on errors without a code of their own.
      extensions: {
        ...own,
        code: typeof code === 'string' ? code : 'INTERNAL_SERVER_ERROR',
        stacktrace: ['at x'],
      },
      path: ['user'],
    },
    new GraphQLError(thrown.message, { originalError: thrown, path: ['user'] }),
  ];
}

describe('createFormatError', () => {
  const isUnavailable = (error: unknown) => (error as Error).message.includes('pool timeout');
  const format = createFormatError(testLogger(), {
    isUnavailable,
    unavailableMessage: 'The database is unavailable',
  });

  it('passes errors with one of our codes through, without stack traces', () => {
    expect(
      format(...asApollo(foundationError(ErrorCode.BAD_USER_INPUT, 'bad name', { field: 'name' }))),
    ).toEqual({
      message: 'bad name',
      path: ['user'],
      extensions: { code: 'BAD_USER_INPUT', field: 'name' },
    });
  });

  it('masks an unexpected error, though Apollo stamped it INTERNAL_SERVER_ERROR with its message', () => {
    expect(format(...asApollo(new Error('duplicate key in table secret_internals')))).toEqual({
      message: 'Internal server error',
      path: ['user'],
      extensions: { code: 'INTERNAL_SERVER_ERROR' },
    });
  });

  it('answers SERVICE_UNAVAILABLE, without the driver message, when a dependency is down', () => {
    expect(
      format(...asApollo(new Error('Invalid call\npool timeout: no connection after 1500ms'))),
    ).toEqual({
      message: 'The database is unavailable',
      path: ['user'],
      extensions: { code: 'SERVICE_UNAVAILABLE' },
    });
  });
});
