/** Runs the user subgraph alone: `pnpm --filter @foundation/user-subgraph start`. */
import { openDatabase } from '@foundation/db';
import { createMemoryEventBus, identityFromConfig, listen, runService } from '@foundation/platform';
import { createUserSubgraph } from './index.js';

await runService('user', async ({ config, logger }) => {
  const db = await openDatabase({
    ...config.database,
    migrate: true,
    log: (message) => logger.info(message),
  });
  const { assertions } = identityFromConfig(config);
  const events = createMemoryEventBus(logger);
  const subgraph = await createUserSubgraph({ db, events, assertions, logger });
  const server = await listen(subgraph.listener, config.subgraphs.user);
  logger.info(`user subgraph ready at ${server.url}/graphql`);
  return {
    async close() {
      await server.close();
      await subgraph.stop();
      await db.close();
    },
  };
});
