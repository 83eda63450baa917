/** Runs the auth subgraph alone: `pnpm --filter @foundation/auth-subgraph start`. */
import { openDatabase } from '@foundation/db';
import { createMemoryEventBus, identityFromConfig, listen, runService } from '@foundation/platform';
import { createAuthSubgraph } from './index.js';

await runService('auth', async ({ config, logger }) => {
  const db = await openDatabase({ url: config.database.url, migrate: true });
  const { accessTokens, assertions } = identityFromConfig(config);
  const subgraph = await createAuthSubgraph({
    db,
    events: createMemoryEventBus(logger),
    accessTokens,
    assertions,
    logger,
    passwordMinLength: config.auth.passwordMinLength,
  });
  const server = await listen(subgraph.listener, config.subgraphs.auth);
  logger.info(`auth subgraph ready at ${server.url}/graphql`);
  return {
    async close() {
      await server.close();
      await subgraph.stop();
      await db.close();
    },
  };
});
