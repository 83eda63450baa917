/**
 * Runs the search subgraph alone: `pnpm --filter @foundation/search-subgraph start`.
 * Alone, it sees registrations made after its start only when the event bus crosses
 * processes (`stores.backend: redis`); the embedded launcher shares one bus in-process.
 */
import { openDatabase } from '@foundation/db';
import {
  createStoresFromConfig,
  identityFromConfig,
  listen,
  runService,
} from '@foundation/platform';
import { createSearchSubgraph } from './index.js';

await runService('search', async ({ config, logger }) => {
  const db = await openDatabase({
    ...config.database,
    migrate: true,
    log: (message) => logger.info(message),
  });
  const { assertions } = identityFromConfig(config);
  const stores = await createStoresFromConfig(config, logger);
  const subgraph = await createSearchSubgraph({
    db,
    events: stores.events,
    assertions,
    logger,
    maxPageSize: config.search.maxPageSize,
  });
  const server = await listen(subgraph.listener, config.subgraphs.search);
  logger.info(`search subgraph ready at ${server.url}/graphql`);
  return {
    async close() {
      await server.close();
      await subgraph.stop();
      await stores.close();
      await db.close();
    },
  };
});
