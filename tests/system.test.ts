/**
 * The whole graph as `pnpm start` runs it: one launcher process, real ports, real HTTP
 * through the router.
 */
import { SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { graphql, planDeployment, startSystem, type Deployment, type System } from './harness.js';

let deployment: Deployment;
let system: System;
const password = 'correct horse battery staple';

beforeAll(async () => {
  deployment = await planDeployment({ FOUNDATION_DEMO__SEED_USERS: 'true' });
  system = await startSystem(deployment);
});

afterAll(async () => {
  // Ctrl-C as a terminal sends it: to the process group, so it can arrive twice.
  const code = await system?.stop(15_000, 'SIGINT', 2);
  await deployment?.cleanup();
  expect(code).toBe(0);
  expect(system.lines.map((l) => l.msg)).toContain('stopped');
});

const register = `mutation ($username: String!, $email: String!, $password: String!) {
  register(username: $username, email: $email, password: $password) { token expiresAt user { id username } }
}`;
const login = `mutation ($login: String!, $password: String!) {
  login(usernameOrEmail: $login, password: $password) { token user { username } }
}`;

async function signUp(username: string) {
  const res = await graphql<{ register: { token: string; user: { id: string } } }>(
    deployment.routerUrl,
    register,
    { variables: { username, email: `${username}@example.org`, password } },
  );
  expect(res.errors).toBeUndefined();
  return res.data!.register;
}

describe('the whole graph', () => {
  it('seeds demo users on an empty database', async () => {
    const res = await graphql<{ users: { totalCount: number } }>(
      deployment.routerUrl,
      '{ users(first: 1) { totalCount } }',
    );
    expect(res.data?.users.totalCount).toBe(5);
    const ada = await graphql(deployment.routerUrl, login, {
      variables: { login: 'ada', password: 'foundation-demo' },
    });
    expect(ada.data).toEqual({ login: { token: expect.any(String), user: { username: 'ada' } } });
  });

  it('answers one request with data from all three subgraphs', async () => {
    const { token, user } = await signUp('katherine');
    const res = await graphql<Record<string, unknown>>(
      deployment.routerUrl,
      `
        {
          me {
            id
            username
            displayName
            email
            createdAt
          }
          search(query: "kath") {
            totalCount
            edges {
              score
              matches {
                field
                terms
              }
              node {
                username
                displayName
              }
            }
          }
          users(first: 100) {
            totalCount
          }
        }
      `,
      { token },
    );
    expect(res.status).toBe(200);
    expect(res.errors).toBeUndefined();
    expect(res.data).toMatchObject({
      me: {
        id: user.id,
        username: 'katherine',
        displayName: 'katherine',
        email: 'katherine@example.org',
      },
      search: {
        totalCount: 1,
        edges: [
          {
            score: expect.any(Number),
            // A new user's display name is their username, so both fields match.
            matches: expect.arrayContaining([
              { field: 'username', terms: ['katherine'] },
              { field: 'displayName', terms: ['katherine'] },
            ]),
            node: { username: 'katherine', displayName: 'katherine' },
          },
        ],
      },
      users: { totalCount: 6 },
    });
  });

  it('keeps the search index fresh from profile updates', async () => {
    const { token } = await signUp('dorothy');
    const updated = await graphql(
      deployment.routerUrl,
      'mutation { updateProfile(input: { displayName: "Dorothy Vaughan" }) { displayName } }',
      { token },
    );
    expect(updated.data).toEqual({ updateProfile: { displayName: 'Dorothy Vaughan' } });
    await expect
      .poll(async () => {
        const res = await graphql<{ search: { edges: { node: { username: string } }[] } }>(
          deployment.routerUrl,
          '{ search(query: "vaughan") { edges { node { username } } } }',
        );
        return res.data?.search.edges.map((e) => e.node.username);
      })
      .toEqual(['dorothy']);
  });

  it('pages through users with cursors', async () => {
    const first = await graphql<{
      users: {
        edges: { cursor: string; node: { username: string } }[];
        pageInfo: { hasNextPage: boolean; endCursor: string };
      };
    }>(
      deployment.routerUrl,
      '{ users(first: 2) { edges { cursor node { username } } pageInfo { hasNextPage endCursor } } }',
    );
    const page1 = first.data!.users;
    expect(page1.edges).toHaveLength(2);
    expect(page1.pageInfo.hasNextPage).toBe(true);
    const second = await graphql<{ users: { edges: { node: { username: string } }[] } }>(
      deployment.routerUrl,
      'query ($after: String) { users(first: 2, after: $after) { edges { node { username } } } }',
      { variables: { after: page1.pageInfo.endCursor } },
    );
    const names = [...page1.edges, ...second.data!.users.edges].map((e) => e.node.username);
    expect(new Set(names).size).toBe(4);
  });

  it('shows an email only to its owner', async () => {
    const res = await graphql<{ users: { edges: { node: { email: string | null } }[] } }>(
      deployment.routerUrl,
      '{ users(first: 5) { edges { node { email } } } }',
    );
    expect(res.data!.users.edges.every((e) => e.node.email === null)).toBe(true);
  });

  it('propagates the request id to subgraphs and into every log line of the request', async () => {
    const { token } = await signUp('mary');
    const requestId = 'e2e-request-0001';
    const res = await graphql(deployment.routerUrl, '{ me { username } }', {
      token,
      headers: { 'x-request-id': requestId },
    });
    expect(res.headers.get('x-request-id')).toBe(requestId);
    await expect
      .poll(() => new Set(system.lines.filter((l) => l.reqId === requestId).map((l) => l.service)))
      .toEqual(new Set(['gateway', 'auth', 'user']));
  });
});

describe('metrics', () => {
  it('serves Prometheus metrics of requests and operations on every service', async () => {
    await graphql(deployment.routerUrl, 'query CountUsers { users(first: 1) { totalCount } }');
    const scrape = async (graphqlUrl: string) => {
      const res = await fetch(graphqlUrl.replace(/\/graphql$/, '/metrics'));
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toContain('text/plain');
      return res.text();
    };
    const router = await scrape(deployment.routerUrl);
    expect(router).toMatch(
      /http_requests_total\{method="POST",endpoint="\/graphql",status="200",service="gateway"\} [1-9]/,
    );
    expect(router).toMatch(
      /graphql_operations_total\{operation="CountUsers",type="query",outcome="ok",service="gateway"\} [1-9]/,
    );
    expect(router).toContain('process_cpu_seconds_total');
    // The subgraph saw the router's fetch (named after the operation by the planner).
    expect(await scrape(deployment.subgraphUrls.user)).toMatch(
      /graphql_operations_total\{operation="CountUsers__user__\d+",type="query",outcome="ok",service="user"\} [1-9]/,
    );
  });
});

describe('bad input', () => {
  it('answers malformed JSON with 400 and a GraphQL error', async () => {
    const res = await fetch(deployment.routerUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"query": "{ users',
    });
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual({
      errors: [{ message: 'Request body is not valid JSON', extensions: { code: 'BAD_REQUEST' } }],
    });
  });

  it('answers an unknown field with a validation error', async () => {
    const res = await graphql(deployment.routerUrl, '{ users(first: 1) { nope } }');
    expect(res.status).toBe(400);
    expect(res.errors?.[0]?.extensions?.['code']).toBe('GRAPHQL_VALIDATION_FAILED');
    expect(res.errors?.[0]?.message).toContain('nope');
  });

  it('names the field when a username or email is taken', async () => {
    await signUp('hedy');
    const taken = await graphql(deployment.routerUrl, register, {
      variables: { username: 'HEDY', email: 'other@example.org', password },
    });
    expect(taken.errors?.[0]?.extensions).toMatchObject({
      code: 'BAD_USER_INPUT',
      field: 'username',
    });
    const email = await graphql(deployment.routerUrl, register, {
      variables: { username: 'hedy2', email: 'Hedy@Example.org', password },
    });
    expect(email.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'email' });
  });

  it.each([
    ['short', 'min_length'],
    ['aaaaaaaaaaaaaaa', 'too_repetitive'],
    ['my-name-is-barbara!', 'contains_personal_info'],
  ])('refuses the weak password %j, naming the rule', async (weak, rule) => {
    const res = await graphql(deployment.routerUrl, register, {
      variables: { username: 'barbara', email: 'barbara@example.org', password: weak },
    });
    expect(res.errors?.[0]?.extensions).toMatchObject({
      code: 'BAD_USER_INPUT',
      field: 'password',
      rule,
    });
  });

  it('gives the same error, in similar time, for a wrong password and an unknown user', async () => {
    await signUp('annie');
    const attempt = async (loginName: string) => {
      const started = performance.now();
      const res = await graphql(deployment.routerUrl, login, {
        variables: { login: loginName, password: 'not the password' },
      });
      return { ms: performance.now() - started, error: res.errors?.[0] };
    };
    const wrong = [await attempt('annie'), await attempt('annie'), await attempt('annie')];
    const unknown = [await attempt('nobody'), await attempt('nobody'), await attempt('nobody')];
    expect(unknown[0]?.error).toEqual(wrong[0]?.error);
    expect(wrong[0]?.error).toMatchObject({
      message: 'Invalid username/email or password',
      extensions: { code: 'UNAUTHENTICATED' },
    });
    const median = (xs: { ms: number }[]) => xs.map((x) => x.ms).sort((a, b) => a - b)[1]!;
    // Both run one full password hash; without the decoy, unknown users answer ~10× faster.
    expect(median(unknown) / median(wrong)).toBeGreaterThan(0.5);
  });

  it('refuses a bad or expired JWT with 401 UNAUTHENTICATED', async () => {
    const garbage = await graphql(deployment.routerUrl, '{ me { username } }', {
      token: 'not.a.jwt',
    });
    expect(garbage.status).toBe(401);
    expect(garbage.errors?.[0]?.extensions?.['code']).toBe('UNAUTHENTICATED');

    // Signed with the (public) development key the test deployment uses, but expired.
    const key = new TextEncoder().encode('development-only-jwt-secret-do-not-use-in-production');
    const past = Math.floor(Date.now() / 1000) - 7200;
    const expired = await new SignJWT({ user_id: 'x', username: 'x', sid: 's' })
      .setProtectedHeader({ alg: 'HS256', kid: 'k1' })
      .setIssuer('foundation')
      .setAudience('foundation-api')
      .setJti('j')
      .setIssuedAt(past)
      .setNotBefore(past)
      .setExpirationTime(past + 60)
      .sign(key);
    const res = await graphql(deployment.routerUrl, '{ me { username } }', { token: expired });
    expect(res.status).toBe(401);
    expect(res.errors?.[0]).toMatchObject({
      message: 'Access token has expired; refresh it or log in again',
      extensions: { code: 'UNAUTHENTICATED' },
    });
  });

  it('asks anonymous callers of me to sign in', async () => {
    const res = await graphql(deployment.routerUrl, '{ me { username } }');
    expect(res.errors?.[0]?.extensions?.['code']).toBe('UNAUTHENTICATED');
  });

  it('refuses direct calls to a subgraph without the router’s assertion', async () => {
    const res = await graphql(deployment.subgraphUrls.user, '{ users(first: 1) { totalCount } }');
    expect(res.status).toBe(401);
    expect(res.errors?.[0]?.extensions?.['code']).toBe('UNAUTHENTICATED');
    expect(res.data ?? null).toBeNull();
  });

  it('never sends a stack trace and never logs a password or token', async () => {
    const res = await graphql(deployment.routerUrl, '{ users(first: 1000) { totalCount } }');
    expect(res.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'first' });
    expect(JSON.stringify(res)).not.toMatch(/stacktrace|\bat .*\.ts:\d+/);
    expect(system.output).not.toContain(password);
    expect(system.output).not.toMatch(/eyJhbGciOi[\w-]+\.[\w-]+\.[\w-]+/); // a JWT
  });
});
