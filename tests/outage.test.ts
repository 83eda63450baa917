/**
 * Each service as its own process (as `pnpm --filter <service> start` runs it), sharing
 * one SQLite file: a subgraph going down costs only its fields, and the router recovers
 * when it returns, with no restart of its own.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { entries, graphql, planDeployment, ServiceProcess, type Deployment } from './harness.js';

let deployment: Deployment;
const processes: Partial<Record<keyof typeof entries, ServiceProcess>> = {};

async function start(name: 'gateway' | 'user' | 'auth' | 'search') {
  const service = new ServiceProcess(entries[name], deployment.env);
  processes[name] = service;
  await service.waitFor(name === 'gateway' ? 'router ready' : `${name} subgraph ready`);
  return service;
}

beforeAll(async () => {
  deployment = await planDeployment();
  // One at a time: the first to start creates and migrates the database.
  await start('user');
  await Promise.all([start('auth'), start('search'), start('gateway')]);
});

afterAll(async () => {
  const codes = await Promise.all(Object.values(processes).map((p) => p.stop()));
  await deployment?.cleanup();
  expect(codes.every((code) => code === 0)).toBe(true);
});

// `user` is nullable, so losing the user subgraph costs that field only; a non-null field
// such as `users` would null the whole response, as GraphQL requires.
const query = `query ($id: ID!) { user(id: $id) { username } search(query: "anyone") { totalCount } }`;

it('serves the other fields and a coded error while a subgraph is down, then recovers', async () => {
  const registered = await graphql<{ register: { user: { id: string } } }>(
    deployment.routerUrl,
    'mutation { register(username: "grace", email: "grace@example.org", password: "a long enough passphrase") { user { id } } }',
  );
  const variables = { id: registered.data!.register.user.id };
  const healthy = await graphql(deployment.routerUrl, query, { variables });
  expect(healthy.errors).toBeUndefined();
  expect(healthy.data).toEqual({ user: { username: 'grace' }, search: { totalCount: 0 } });

  expect(await processes.user!.stop()).toBe(0);
  const degraded = await graphql(deployment.routerUrl, query, { variables });
  expect(degraded.status).toBe(200);
  expect(degraded.data).toEqual({ user: null, search: { totalCount: 0 } });
  expect(degraded.errors).toEqual([
    {
      message: 'The user service is unavailable; try again shortly',
      extensions: { code: 'SERVICE_UNAVAILABLE', serviceName: 'user' },
    },
  ]);
  expect(JSON.stringify(degraded)).not.toContain('127.0.0.1'); // no addresses leak

  await start('user');
  const recovered = await graphql(deployment.routerUrl, query, { variables });
  expect(recovered.errors).toBeUndefined();
  expect(recovered.data).toEqual(healthy.data);
});

it('shuts down gracefully on SIGTERM', async () => {
  const gateway = processes.gateway!;
  expect(await gateway.stop()).toBe(0);
  expect(gateway.lines.some((l) => l.msg === 'stopped')).toBe(true);
});
