/**
 * Runs the router alone: `pnpm --filter @foundation/gateway start`. With `gateway.workers`
 * above 1 this process is the node:cluster primary and each worker runs the router.
 */
import cluster from 'node:cluster';
import { openDatabase } from '@foundation/db';
import {
  createLogger,
  createStoresFromConfig,
  identityFromConfig,
  listen,
  loadConfig,
  runService,
} from '@foundation/platform';
import { createGateway } from './index.js';
import { runWorkers } from './workers.js';

const workers = cluster.isPrimary ? configuredWorkers() : 1;
if (workers > 1) {
  const config = loadConfig();
  await runWorkers({ count: workers, logger: createLogger(config.log, { service: 'gateway' }) });
} else {
  await runRouter();
}

/** `gateway.workers`, or 1 when config is bad (runService then reports the problems). */
function configuredWorkers(): number {
  try {
    return loadConfig().gateway.workers;
  } catch {
    return 1;
  }
}

async function runRouter() {
  await runService('gateway', async ({ config, logger }) => {
    // API keys are read from the database; the auth subgraph owns its schema, so the
    // router does not migrate it.
    const db = await openDatabase({ ...config.database, log: (message) => logger.info(message) });
    // stores.backend=redis: the sessions an auth subgraph in another process created;
    // memory: this process's own (only useful when auth runs in it too, as in embedded mode).
    const stores = await createStoresFromConfig(config, logger);
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
}
