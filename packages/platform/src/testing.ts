/**
 * Test kit for services built with this package: serve a factory-built subgraph on a free
 * loopback port and call it as the router would. Import from '@foundation/platform/testing'.
 */
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';
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

/** One subscription opened by {@link subscribeOverWebSocket}, read event by event. */
export interface TestSubscription<T> {
  /** The next result, or rejects after `timeoutMs` (default 5 s) without one. */
  next(timeoutMs?: number): Promise<TestResponse<T>>;
  /** Settles when the subscription ends: with the close event or error if it failed. */
  ended: Promise<unknown>;
  /** Unsubscribes and closes the socket. */
  close(): Promise<void>;
}

/**
 * Opens one graphql-ws subscription (its own connection, no retries) to `url` (http or ws
 * scheme) with `connectionParams` as the `connection_init` payload.
 */
export function subscribeOverWebSocket<T = Record<string, unknown>>(
  url: string,
  query: string,
  options: { variables?: Record<string, unknown>; connectionParams?: Record<string, unknown> } = {},
): TestSubscription<T> {
  const client = createClient({
    url: url.replace(/^http/, 'ws'),
    webSocketImpl: WebSocket,
    retryAttempts: 0,
    lazy: false,
    connectionParams: options.connectionParams ?? {},
    onNonLazyError: () => {},
  });
  const results: TestResponse<T>[] = [];
  const waiters: ((result: TestResponse<T>) => void)[] = [];
  let endedWith: (value: unknown) => void = () => {};
  const ended = new Promise<unknown>((resolve) => (endedWith = resolve));
  const unsubscribe = client.subscribe<T>(
    { query, ...(options.variables ? { variables: options.variables } : {}) },
    {
      next(value) {
        const result = { status: 200, ...value } as TestResponse<T>;
        const waiter = waiters.shift();
        if (waiter) waiter(result);
        else results.push(result);
      },
      error: (error) => endedWith(error),
      complete: () => endedWith(undefined),
    },
  );
  return {
    next(timeoutMs = 5_000) {
      const ready = results.shift();
      if (ready) return Promise.resolve(ready);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          waiters.splice(waiters.indexOf(done), 1);
          reject(new Error(`no event within ${timeoutMs} ms`));
        }, timeoutMs);
        const done = (result: TestResponse<T>) => {
          clearTimeout(timer);
          resolve(result);
        };
        waiters.push(done);
      });
    },
    ended,
    async close() {
      unsubscribe();
      await client.dispose();
    },
  };
}

/** The identity assertion of `principal` as a `connection_init` payload, as the router sends it. */
export async function assertionParams(principal: Principal): Promise<Record<string, unknown>> {
  return { headers: { [IDENTITY_ASSERTION_HEADER]: await testAssertions.sign(principal) } };
}
