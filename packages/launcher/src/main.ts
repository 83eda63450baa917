/**
 * Embedded mode (`pnpm start`): every service in this one process, each on its own port
 * from config, sharing one database and one in-process event bus.
 */
import { createAuthSubgraph, demoPassword, seedDemoUsers } from '@foundation/auth-subgraph';
import { openDatabase } from '@foundation/db';
import { createGateway } from '@foundation/gateway';
import {
  createStoresFromConfig,
  identityFromConfig,
  listen,
  runService,
  type RunningServer,
} from '@foundation/platform';
import { createSearchSubgraph } from '@foundation/search-subgraph';
import { createUserSubgraph } from '@foundation/user-subgraph';

const started = performance.now();

await runService('foundation', async ({ config, logger }) => {
  const log = (service: string) => logger.child({ service });
  const db = await openDatabase({
    ...config.database,
    migrate: true,
    log: (message) => logger.info(message),
  });
  const seeded = config.demo.seedUsers ? await seedDemoUsers(db.prisma) : 0;
  if (seeded > 0) logger.info(`seeded ${seeded} demo users (password "${demoPassword}")`);

  const { accessTokens, assertions } = identityFromConfig(config);
  // One set of stores for the whole process (memory by default, Redis when configured):
  // the auth subgraph writes the sessions and revocations the router checks on every request.
  const stores = await createStoresFromConfig(config, logger);
  const { events } = stores;
  const subgraphs = [
    await createUserSubgraph({
      db,
      events,
      cache: stores.cache,
      cacheTtl: config.cache,
      assertions,
      logger: log('user'),
    }),
    await createAuthSubgraph({
      db,
      events,
      accessTokens,
      assertions,
      stores,
      logger: log('auth'),
      passwordMinLength: config.auth.passwordMinLength,
      sessionTtlSeconds: config.auth.sessionTtlSeconds,
      loginRateLimit: config.auth.loginRateLimit,
    }),
    await createSearchSubgraph({
      db,
      events,
      assertions,
      logger: log('search'),
      maxPageSize: config.search.maxPageSize,
    }),
  ];
  const servers: RunningServer[] = [];
  for (const subgraph of subgraphs) {
    const name = subgraph.name as keyof typeof config.subgraphs;
    servers.push(await listen(subgraph.listener, config.subgraphs[name]));
  }
  const gateway = await createGateway({
    config,
    logger: log('gateway'),
    accessTokens,
    assertions,
    stores,
    db,
  });
  const router = await listen(gateway.listener, config.gateway);
  const service = await listen(gateway.serviceListener, {
    host: config.gateway.host,
    port: config.gateway.servicePort,
  });

  logger.info(
    { ms: Math.round(performance.now() - started) },
    [
      'Foundation is ready.',
      `  router     ${router.url}/graphql  (people: access tokens, or anonymous)`,
      `  service    ${service.url}/graphql  (services: API keys)`,
      `  subgraphs  ${servers.map((s, i) => `${subgraphs[i]?.name} ${s.url}/graphql`).join('  ')}`,
      ...(config.demo.seedUsers ? tryIt(router.url) : []),
    ].join('\n'),
  );

  return {
    async close() {
      // Router first, so no new work reaches the subgraphs while they drain.
      await Promise.all([router.close(), service.close()]);
      await gateway.stop();
      await Promise.all(servers.map((s) => s.close()));
      await Promise.all(subgraphs.map((s) => s.stop()));
      await stores.close();
      await db.close();
    },
  };
});

/** Two commands that sign in as a demo user and query all three subgraphs at once. */
function tryIt(routerUrl: string): string[] {
  const post = `curl -s ${routerUrl}/graphql -H 'content-type: application/json'`;
  const login = `mutation { login(usernameOrEmail: \\"ada\\", password: \\"${demoPassword}\\") { token } }`;
  const query = `{ me { username displayName } search(query: \\"gra\\") { edges { node { username displayName } } } users(first: 3) { totalCount } }`;
  return [
    '  try it (demo user ada):',
    `  TOKEN=$(${post} -d '{"query":"${login}"}' | sed -E 's/.*"token":"([^"]+)".*/\\1/')`,
    `  ${post} -H "authorization: Bearer $TOKEN" -d '{"query":"${query}"}'`,
  ];
}
