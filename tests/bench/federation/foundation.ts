/**
 * Foundation's router as production runs it: production config (authentication, metrics,
 * JSON logs at info), memory stores holding the benchmark user's session, SQLite for API
 * keys. The parent passes the secrets and the session in the environment.
 */
import path from 'node:path';
import { openDatabase } from '@foundation/db';
import { createGateway } from '@foundation/gateway';
import {
  createLogger,
  createMemoryStores,
  identityFromConfig,
  listen,
  loadConfig,
} from '@foundation/platform';

/** Options of {@link createFoundation}. */
export interface FoundationBenchOptions {
  supergraphPath: string;
  /** A fresh directory for the SQLite file. */
  dataDir: string;
}

/** The environment the router runs with in the benchmark (production, fresh secrets). */
export function foundationEnv(base: Record<string, string | undefined>) {
  return { ...base, APP_ENV: 'production', LOG_LEVEL: 'info' };
}

/** Starts the router on a free port; returns its GraphQL URL. */
export async function createFoundation(options: FoundationBenchOptions): Promise<string> {
  const config = loadConfig({
    env: foundationEnv({
      ...process.env,
      FOUNDATION_GATEWAY__SUPERGRAPH_PATH: options.supergraphPath,
      FOUNDATION_GATEWAY__HOST: '127.0.0.1',
      FOUNDATION_GATEWAY__PORT: '0',
      FOUNDATION_GATEWAY__SERVICE_PORT: '0',
      DATABASE_URL: `file:${path.join(options.dataDir, 'bench.db')}`,
    }),
  });
  const logger = createLogger(config.log, { service: 'gateway' });
  const db = await openDatabase({ url: config.database.url, migrate: true });
  const stores = createMemoryStores();
  const now = Date.now();
  await stores.sessions.create({
    id: process.env['BENCH_SESSION_ID'] ?? '',
    userId: process.env['BENCH_USER_ID'] ?? '',
    createdAt: new Date(now),
    lastSeenAt: new Date(now),
    expiresAt: new Date(now + 86_400_000),
    clientIp: '127.0.0.1',
    userAgent: 'bench',
    refreshTokenHash: 'bench',
  });
  const gateway = await createGateway({
    config,
    logger,
    ...identityFromConfig(config),
    stores,
    db,
  });
  const server = await listen(gateway.listener, config.gateway);
  return `${server.url}/graphql`;
}
