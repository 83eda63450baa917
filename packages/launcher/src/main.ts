/**
 * Embedded mode (`pnpm start`): every service in this one process, each on its own port
 * from config, sharing one database and one in-process event bus.
 */
import { createAuthSubgraph } from '@foundation/auth-subgraph';
import { openDatabase } from '@foundation/db';
import { createGateway } from '@foundation/gateway';
import {
  createMemoryEventBus,
  identityFromConfig,
  listen,
  runService,
  type RunningServer,
} from '@foundation/platform';
import { createSearchSubgraph } from '@foundation/search-subgraph';
import { createUserSubgraph } from '@foundation/user-subgraph';
import { demoPassword, seedDemoUsers } from './demo-users.js';

const started = performance.now();

await runService('foundation', async ({ config, logger }) => {
  const log = (service: string) => logger.child({ service });
  const db = await openDatabase({ url: config.database.url, migrate: true });
  const seeded = config.demo.seedUsers ? await seedDemoUsers(db.prisma) : 0;
  if (seeded > 0) logger.info(`seeded ${seeded} demo users (password "${demoPassword}")`);

  const events = createMemoryEventBus(logger);
  const { accessTokens, assertions } = identityFromConfig(config);
  const subgraphs = [
    await createUserSubgraph({ db, events, assertions, logger: log('user') }),
    await createAuthSubgraph({
      db,
      events,
      accessTokens,
      assertions,
      logger: log('auth'),
      passwordMinLength: config.auth.passwordMinLength,
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
  const gateway = await createGateway({ config, logger: log('gateway'), accessTokens, assertions });
  const router = await listen(gateway.listener, config.gateway);

  const demo = config.demo.seedUsers
    ? await db.prisma.user.findUnique({ where: { username: 'ada' } })
    : null;
  const auth = demo ? `-H 'authorization: Bearer ${(await accessTokens.issue(demo)).token}' ` : '';
  const query = demo
    ? '{ me { username displayName } search(query: \\"gra\\") { edges { node { username displayName } } } users(first: 3) { totalCount } }'
    : '{ users(first: 3) { totalCount edges { node { username displayName } } } }';
  logger.info(
    { ms: Math.round(performance.now() - started) },
    [
      'Foundation is ready.',
      `  router     ${router.url}/graphql`,
      `  subgraphs  ${servers.map((s, i) => `${subgraphs[i]?.name} ${s.url}/graphql`).join('  ')}`,
      `  try it${demo ? ' (as demo user ada; the token lasts ' + config.auth.accessTokenTtlSeconds / 60 + ' min)' : ''}:`,
      `  curl -s ${router.url}/graphql -H 'content-type: application/json' ${auth}\\`,
      `    -d '{"query":"${query}"}'`,
    ].join('\n'),
  );

  return {
    async close() {
      // Router first, so no new work reaches the subgraphs while they drain.
      await router.close();
      await gateway.stop();
      await Promise.all(servers.map((s) => s.close()));
      await Promise.all(subgraphs.map((s) => s.stop()));
      await db.close();
    },
  };
});
