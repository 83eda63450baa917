import { GraphQLScalarType, Kind } from 'graphql';
import { ErrorCode, foundationError } from './errors.js';

/** `DateTime`: an ISO-8601 string in UTC on the wire, a `Date` in resolvers. */
export const DateTimeScalar = new GraphQLScalarType<Date, string>({
  name: 'DateTime',
  serialize: (value) => (value instanceof Date ? value : new Date(String(value))).toISOString(),
  parseValue: (value) => parseDate(value),
  parseLiteral: (ast) => parseDate(ast.kind === Kind.STRING ? ast.value : undefined),
});

function parseDate(value: unknown): Date {
  const date = typeof value === 'string' ? new Date(value) : new Date(NaN);
  if (isNaN(date.getTime())) {
    throw foundationError(ErrorCode.BAD_USER_INPUT, 'DateTime must be an ISO-8601 string');
  }
  return date;
}
