/** Runs the auth subgraph alone: `pnpm --filter @foundation/auth-subgraph start`. */
import { openDatabase } from '@foundation/db';
import {
  createMemoryEventBus,
  createMemoryStores,
  identityFromConfig,
  listen,
  runService,
} from '@foundation/platform';
import { createAuthSubgraph } from './index.js';

await runService('auth', async ({ config, logger }) => {
  const db = await openDatabase({
    ...config.database,
    migrate: true,
    log: (message) => logger.info(message),
  });
  const { accessTokens, assertions } = identityFromConfig(config);
  // In-process stores are this process's own: a router in another process cannot see
  // these sessions. Separate processes need the shared (Redis) stores.
  const stores = createMemoryStores();
  const subgraph = await createAuthSubgraph({
    db,
    events: createMemoryEventBus(logger),
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
