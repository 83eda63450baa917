/** Runs the router alone: `pnpm --filter @foundation/gateway start`. */
import { openDatabase } from '@foundation/db';
import { createMemoryStores, identityFromConfig, listen, runService } from '@foundation/platform';
import { createGateway } from './index.js';

await runService('gateway', async ({ config, logger }) => {
  // API keys are read from the database; the auth subgraph owns its schema, so the
  // router does not migrate it.
  const db = await openDatabase({ ...config.database, log: (message) => logger.info(message) });
  // In-process stores are this process's own: it sees no session an auth subgraph in
  // another process created. Separate processes need the shared (Redis) stores.
  const stores = createMemoryStores();
  const gateway = await createGateway({
    config,
    logger,
    ...identityFromConfig(config),
    stores,
    db,
  });
  const server = await listen(gateway.listener, config.gateway);
  const service = await listen(gateway.serviceListener, {
    host: config.gateway.host,
    port: config.gateway.servicePort,
  });
  logger.info(`router ready at ${server.url}/graphql (service listener ${service.url}/graphql)`);
  return {
    async close() {
      await Promise.all([server.close(), service.close()]);
      await gateway.stop();
      await stores.close();
      await db.close();
    },
  };
});
