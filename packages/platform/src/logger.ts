import { pino, type Logger as PinoLogger } from 'pino';
import pretty from 'pino-pretty';

/** The structured logger used everywhere (pino). */
export type Logger = PinoLogger;

/** Log settings, from the `log` section of config. */
export interface LoggerOptions {
  level: string;
  /** `pretty` for people (development), `json` for machines (production). */
  format: 'pretty' | 'json';
}

/**
 * Paths redacted from every log line. Credentials must never reach a log, even at debug
 * level: request headers that carry them, and any field named like a secret.
 */
export const redactPaths = [
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["x-api-key"]',
  'req.headers["x-identity-assertion"]',
  'headers.authorization',
  'headers["x-api-key"]',
  'headers["x-identity-assertion"]',
  'password',
  '*.password',
  'token',
  '*.token',
  'secret',
  '*.secret',
  'variables.password',
  'variables.*.password',
  'variables.token',
  'refreshToken',
  '*.refreshToken',
  'variables.refreshToken',
  'key',
  '*.key',
];

/** Builds the root logger of one service; child loggers add `reqId` per request. */
export function createLogger(options: LoggerOptions, bindings: { service: string }): Logger {
  const base = {
    level: options.level,
    base: { service: bindings.service },
    redact: { paths: redactPaths, censor: '[redacted]' },
    timestamp: pino.stdTimeFunctions.isoTime,
  };
  if (options.format === 'pretty') {
    // A synchronous stream rather than a transport: no worker thread, and lines are not
    // lost when the process exits right after logging a fatal config error.
    return pino(base, pretty({ colorize: true, ignore: 'pid,hostname', sync: true }));
  }
  return pino(base);
}
