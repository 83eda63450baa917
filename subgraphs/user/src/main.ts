/** Runs the user subgraph alone: `pnpm --filter @foundation/user-subgraph start`. */
import { openDatabase } from '@foundation/db';
import {
  createStoresFromConfig,
  identityFromConfig,
  listen,
  runService,
} from '@foundation/platform';
import { createUserSubgraph } from './index.js';

await runService('user', async ({ config, logger }) => {
  const db = await openDatabase({
    ...config.database,
    migrate: true,
    log: (message) => logger.info(message),
  });
  const { assertions } = identityFromConfig(config);
  const stores = await createStoresFromConfig(config, logger);
  const subgraph = await createUserSubgraph({
    db,
    events: stores.events,
    cache: stores.cache,
    cacheTtl: config.cache,
    assertions,
    logger,
  });
  const server = await listen(subgraph.listener, config.subgraphs.user);
  logger.info(`user subgraph ready at ${server.url}/graphql`);
  return {
    async close() {
      await server.close();
      await subgraph.stop();
      await stores.close();
      await db.close();
    },
  };
});
