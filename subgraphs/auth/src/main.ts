/** Runs the auth subgraph alone: `pnpm --filter @foundation/auth-subgraph start`. */
import { openDatabase } from '@foundation/db';
import {
  createStoresFromConfig,
  identityFromConfig,
  listen,
  runService,
} from '@foundation/platform';
import { demoPassword, seedDemoUsers } from './demo-users.js';
import { createAuthSubgraph } from './index.js';

await runService('auth', async ({ config, logger }) => {
  const db = await openDatabase({
    ...config.database,
    migrate: true,
    log: (message) => logger.info(message),
  });
  // Distributed mode seeds here: auth owns the credentials (the launcher does it embedded).
  const seeded = config.demo.seedUsers ? await seedDemoUsers(db.prisma) : 0;
  if (seeded > 0) logger.info(`seeded ${seeded} demo users (password "${demoPassword}")`);
  const { accessTokens, assertions } = identityFromConfig(config);
  // stores.backend=redis shares sessions with the router and events with search; memory
  // stores are this process's own.
  const stores = await createStoresFromConfig(config, logger);
  const subgraph = await createAuthSubgraph({
    db,
    events: stores.events,
    accessTokens,
    assertions,
    stores,
    logger,
    passwordMinLength: config.auth.passwordMinLength,
    sessionTtlSeconds: config.auth.sessionTtlSeconds,
    loginRateLimit: config.auth.loginRateLimit,
  });
  const server = await listen(subgraph.listener, config.subgraphs.auth);
  logger.info(`auth subgraph ready at ${server.url}/graphql`);
  return {
    async close() {
      await server.close();
      await subgraph.stop();
      await stores.close();
      await db.close();
    },
  };
});
