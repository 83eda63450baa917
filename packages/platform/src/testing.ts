/**
 * Test kit for services built with this package: serve a factory-built subgraph on a free
 * loopback port and call it as the router would. Import from '@foundation/platform/testing'.
 */
import { listen, type RunningServer } from './http.js';
import { randomUUID } from 'node:crypto';
import {
  createIdentityAssertions,
  IDENTITY_ASSERTION_HEADER,
  type Principal,
  type UserPrincipal,
} from './identity.js';
import { createLogger, type Logger } from './logger.js';
import type { Subgraph } from './subgraph.js';

/** Assertions with a fixed test secret, for subgraph factories under test. */
export const testAssertions = createIdentityAssertions({
  secret: 'test-internal-secret-test-internal-secret',
  ttlSeconds: 60,
});

/** A signed-in user as the router would assert them: a fresh session and token id. */
export function testUser(
  userId: string,
  username: string,
  overrides: Partial<UserPrincipal> = {},
): UserPrincipal {
  return {
    kind: 'user',
    userId,
    username,
    sessionId: randomUUID(),
    scopes: [],
    tokenId: randomUUID(),
    tokenExpiresAt: new Date(Date.now() + 900_000),
    ...overrides,
  };
}

/** A logger that prints nothing unless LOG_LEVEL asks for it. */
export function testLogger(): Logger {
  return createLogger(
    { level: process.env['LOG_LEVEL'] ?? 'silent', format: 'json' },
    { service: 'test' },
  );
}

/** What a test gets back from one GraphQL call. */
export interface TestResponse<T> {
  status: number;
  data?: T | null;
  errors?: { message: string; path?: (string | number)[]; extensions?: Record<string, unknown> }[];
}

/** A subgraph listening on a free port, called with router-signed assertions. */
export interface SubgraphClient {
  url: string;
  request<T = Record<string, unknown>>(
    query: string,
    options?: {
      variables?: Record<string, unknown>;
      principal?: Principal;
      /** Extra headers, e.g. the client IP and user agent the router forwards. */
      headers?: Record<string, string>;
    },
  ): Promise<TestResponse<T>>;
  close(): Promise<void>;
}

/** Serves `subgraph` on 127.0.0.1 with a free port. */
export async function serveSubgraph(subgraph: Subgraph): Promise<SubgraphClient> {
  const server: RunningServer = await listen(subgraph.listener, { host: '127.0.0.1', port: 0 });
  const url = `${server.url}/graphql`;
  return {
    url,
    async request(query, options = {}) {
      const assertion = await testAssertions.sign(options.principal ?? { kind: 'anonymous' });
      const response = await fetch(url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          [IDENTITY_ASSERTION_HEADER]: assertion,
          ...options.headers,
        },
        body: JSON.stringify({ query, variables: options.variables }),
      });
      return { status: response.status, ...((await response.json()) as object) };
    },
    async close() {
      await server.close();
      await subgraph.stop();
    },
  };
}
