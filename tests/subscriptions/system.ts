/**
 * The system under test for subscription suites, in the harness's mode
 * (`FOUNDATION_E2E_MODE`): embedded (one launcher process, in-process event bus) or
 * distributed (one process per service; events cross processes through Redis).
 */
import {
  graphql,
  planDeployment,
  startSystem,
  type Deployment,
  type ServiceProcess,
} from '../harness.js';

/** A running Foundation that subscription tests talk to over real ports. */
export interface SubscriptionSystem {
  mode: 'embedded' | 'distributed';
  deployment: Deployment;
  /** Every process started, for log checks. */
  processes: ServiceProcess[];
  /** Registers a user through the router (publishes user.registered somewhere). */
  register(username: string): Promise<{ token: string; userId: string }>;
  /** Signs in through the router. */
  login(username: string, password?: string): Promise<string>;
  /** A router metric's current value (sum over label sets), from its /metrics. */
  metric(name: string, filter?: string): Promise<number>;
  stop(): Promise<void>;
}

export const password = 'correct horse battery staple';
export const demoPassword = 'foundation-demo';

/** Starts the system in the mode the harness asks for. */
export async function startSubscriptionSystem(
  extraEnv: Record<string, string> = {},
): Promise<SubscriptionSystem> {
  const deployment = await planDeployment({ FOUNDATION_DEMO__SEED_USERS: 'true', ...extraEnv });
  const { mode } = deployment;
  let system;
  try {
    system = await startSystem(deployment);
  } catch (err) {
    await deployment.cleanup();
    throw err;
  }
  const processes = Object.values(system.processes);
  const routerBase = deployment.routerUrl.replace(/\/graphql$/, '');
  return {
    mode,
    deployment,
    processes,
    async register(username) {
      const res = await graphql<{ register: { token: string; user: { id: string } } }>(
        deployment.routerUrl,
        'mutation ($u: String!, $e: String!, $p: String!) { register(username: $u, email: $e, password: $p) { token user { id } } }',
        { variables: { u: username, e: `${username}@example.org`, p: password } },
      );
      if (!res.data) throw new Error(`register failed: ${JSON.stringify(res.errors)}`);
      return { token: res.data.register.token, userId: res.data.register.user.id };
    },
    async login(username, pass = password) {
      const res = await graphql<{ login: { token: string } }>(
        deployment.routerUrl,
        'mutation ($l: String!, $p: String!) { login(usernameOrEmail: $l, password: $p) { token } }',
        { variables: { l: username, p: pass } },
      );
      if (!res.data) throw new Error(`login failed: ${JSON.stringify(res.errors)}`);
      return res.data.login.token;
    },
    metric: (name, filter) => readMetric(`${routerBase}/metrics`, name, filter),
    async stop() {
      await system.stop(15_000);
      await deployment.cleanup();
    },
  };
}

/** Sums a Prometheus metric's series at `url` (only those whose line contains `filter`). */
export async function readMetric(url: string, name: string, filter = ''): Promise<number> {
  const text = await (await fetch(url)).text();
  let sum = 0;
  for (const line of text.split('\n')) {
    if ((line.startsWith(`${name}{`) || line.startsWith(`${name} `)) && line.includes(filter)) {
      sum += Number(line.slice(line.lastIndexOf(' ') + 1));
    }
  }
  return sum;
}
