/**
 * Real client libraries receive merged events through the router, over each protocol:
 * graphql-ws (Apollo Client's GraphQLWsLink, urql's subscriptionExchange), Apollo's
 * multipart HTTP (Apollo Client's default HttpLink) and SSE (urql's fetchSubscriptions).
 */
import { ApolloClient, gql, HttpLink, InMemoryCache, type ApolloLink } from '@apollo/client';
import { GraphQLWsLink } from '@apollo/client/link/subscriptions';
import { Client, fetchExchange, subscriptionExchange } from '@urql/core';
import { createClient, type Client as WsClient } from 'graphql-ws';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { demoPassword, startSubscriptionSystem, type SubscriptionSystem } from './system.js';

let system: SubscriptionSystem;
let adaToken: string;
let counter = 0;

beforeAll(async () => {
  system = await startSubscriptionSystem();
  adaToken = await system.login('ada', demoPassword);
});

afterAll(async () => {
  await system?.stop();
});

const dashboard =
  'subscription Dashboard { userRegistered { username displayName sessions { createdAt } } }';

interface Registered {
  userRegistered: { username: string; sessions: { createdAt: string }[] | null };
}

async function untilUpstreams(n: number) {
  await expect
    .poll(() => system.metric('graphql_subscription_upstreams'), { timeout: 10_000, interval: 50 })
    .toBe(n);
}

/**
 * Subscribes with `start` (which calls `onEvent` per event and returns its stop function),
 * registers a new user once the subscription is live, and returns the event it got.
 */
async function receiveOne(
  start: (onEvent: (value: unknown) => void) => () => void,
): Promise<Registered> {
  const username = `client${++counter}`;
  let resolve: (value: unknown) => void = () => {};
  const received = new Promise<unknown>((r) => (resolve = r));
  const stop = start((value) => resolve(value));
  try {
    await untilUpstreams(1);
    await system.register(username);
    const value = (await Promise.race([
      received,
      new Promise((_, reject) => setTimeout(() => reject(new Error('no event')), 10_000)),
    ])) as { data?: Registered };
    expect(value.data?.userRegistered.username).toBe(username);
    return value.data!;
  } finally {
    stop();
    await untilUpstreams(0);
  }
}

function wsClient(): WsClient {
  return createClient({
    url: system.deployment.routerUrl.replace(/^http/, 'ws'),
    webSocketImpl: WebSocket,
    connectionParams: { authorization: `Bearer ${adaToken}` },
  });
}

function apollo(link: ApolloLink) {
  return new ApolloClient({ link, cache: new InMemoryCache() });
}

describe('client libraries through the router', () => {
  it('graphql-ws client', async () => {
    const ws = wsClient();
    const event = await receiveOne((onEvent) =>
      ws.subscribe({ query: dashboard }, { next: onEvent, error: onEvent, complete: () => {} }),
    );
    expect(event.userRegistered.sessions).toHaveLength(1);
    await ws.dispose();
  });

  it('Apollo Client 4 with GraphQLWsLink', async () => {
    const ws = wsClient();
    const client = apollo(new GraphQLWsLink(ws));
    const event = await receiveOne((onEvent) => {
      const sub = client
        .subscribe({ query: gql(dashboard) })
        .subscribe({ next: onEvent, error: onEvent });
      return () => sub.unsubscribe();
    });
    expect(event.userRegistered.sessions).toHaveLength(1);
    client.stop();
    await ws.dispose();
  });

  it('Apollo Client 4 with its default HttpLink (multipart subscriptions)', async () => {
    const client = apollo(
      new HttpLink({
        uri: system.deployment.routerUrl,
        headers: { authorization: `Bearer ${adaToken}` },
      }),
    );
    const event = await receiveOne((onEvent) => {
      const sub = client
        .subscribe({ query: gql(dashboard) })
        .subscribe({ next: onEvent, error: onEvent });
      return () => sub.unsubscribe();
    });
    expect(event.userRegistered.sessions).toHaveLength(1);
    client.stop();
  });

  it('urql with subscriptionExchange (graphql-ws)', async () => {
    const ws = wsClient();
    const client = new Client({
      url: system.deployment.routerUrl,
      exchanges: [
        subscriptionExchange({
          forwardSubscription(request) {
            const input = { ...request, query: request.query ?? '' };
            return {
              subscribe(sink) {
                return {
                  unsubscribe: ws.subscribe(input, sink as Parameters<WsClient['subscribe']>[1]),
                };
              },
            };
          },
        }),
        fetchExchange,
      ],
    });
    const event = await receiveOne((onEvent) => {
      const subscription = client.subscription(dashboard, {}).subscribe(onEvent);
      return () => subscription.unsubscribe();
    });
    expect(event.userRegistered.sessions).toHaveLength(1);
    await ws.dispose();
  });

  it('urql with fetchSubscriptions (GraphQL over SSE)', async () => {
    const client = new Client({
      url: system.deployment.routerUrl,
      exchanges: [fetchExchange],
      fetchSubscriptions: true,
      fetchOptions: { headers: { authorization: `Bearer ${adaToken}` } },
    });
    const event = await receiveOne((onEvent) => {
      const subscription = client.subscription(dashboard, {}).subscribe(onEvent);
      return () => subscription.unsubscribe();
    });
    expect(event.userRegistered.sessions).toHaveLength(1);
  });
});

describe('streamed HTTP wire formats', () => {
  async function open(accept: string, token?: string) {
    const controller = new AbortController();
    const response = await fetch(system.deployment.routerUrl, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        accept,
        ...(token ? { authorization: `Bearer ${token}` } : {}),
      },
      body: JSON.stringify({ query: dashboard }),
      signal: controller.signal,
    });
    return { response, controller };
  }

  /** Reads the body until `done(text)` says so. */
  async function readUntil(response: Response, done: (text: string) => boolean) {
    const reader = (response.body as ReadableStream<Uint8Array>).getReader();
    const decoder = new TextDecoder();
    let text = '';
    const deadline = Date.now() + 10_000;
    while (!done(text) && Date.now() < deadline) {
      const { value, done: ended } = await reader.read();
      if (ended) break;
      text += decoder.decode(value, { stream: true });
    }
    return text;
  }

  it('multipart: each part is followed by its closing boundary at once', async () => {
    const { response, controller } = await open(
      'multipart/mixed;boundary="graphql";subscriptionSpec=1.0,application/json',
      adaToken,
    );
    expect(response.headers.get('content-type')).toContain('multipart/mixed');
    await untilUpstreams(1);
    await system.register(`multipart${++counter}`);
    const text = await readUntil(
      response,
      (t) => t.includes('"payload"') && /"payload".*\r\n--graphql$/s.test(t),
    );
    expect(text).toMatch(/^\r\n--graphql\r\ncontent-type: application\/json/);
    expect(text).toMatch(/\{"payload":\{"data":\{"userRegistered":\{"username":"multipart\d+"/);
    expect(text.endsWith('\r\n--graphql')).toBe(true);
    controller.abort();
    await untilUpstreams(0);
  });

  it('answers a subscription over plain JSON HTTP with 400 saying what works', async () => {
    const { response } = await open('application/json');
    expect(response.status).toBe(400);
    const body = (await response.json()) as { errors: { message: string; extensions: unknown }[] };
    expect(body.errors[0]?.extensions).toEqual({ code: 'BAD_REQUEST' });
    expect(body.errors[0]?.message).toContain('text/event-stream');
  });

  it('SSE: next events, and 401 for a bad token', async () => {
    const bad = await open('text/event-stream', 'not-a-token');
    expect(bad.response.status).toBe(401);
    expect(await bad.response.json()).toMatchObject({
      errors: [{ extensions: { code: 'UNAUTHENTICATED' } }],
    });
    const { response, controller } = await open('text/event-stream', adaToken);
    expect(response.headers.get('content-type')).toContain('text/event-stream');
    await untilUpstreams(1);
    await system.register(`sse${++counter}`);
    const text = await readUntil(response, (t) => t.includes('event: next'));
    expect(text).toMatch(/event: next\ndata: \{"data":\{"userRegistered":\{"username":"sse\d+"/);
    controller.abort();
    await untilUpstreams(0);
  });
});

describe('shutdown', () => {
  it('ends open streams with SHUTTING_DOWN at once instead of waiting out the grace period', async () => {
    const response = await fetch(system.deployment.routerUrl, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        accept: 'text/event-stream',
        authorization: `Bearer ${adaToken}`,
      },
      body: JSON.stringify({ query: dashboard }),
    });
    await untilUpstreams(1);
    const body = response.text();
    const started = performance.now();
    await system.stop();
    // The launcher's in-flight grace period is 10 s; an open stream must not use it up.
    expect(performance.now() - started).toBeLessThan(5_000);
    const text = await body;
    expect(text).toContain('SHUTTING_DOWN');
    expect(text).toContain('event: complete');
  });
});
