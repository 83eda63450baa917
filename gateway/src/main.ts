/** Runs the router alone: `pnpm --filter @foundation/gateway start`. */
import { identityFromConfig, listen, runService } from '@foundation/platform';
import { createGateway } from './index.js';

await runService('gateway', async ({ config, logger }) => {
  const gateway = await createGateway({ config, logger, ...identityFromConfig(config) });
  const server = await listen(gateway.listener, config.gateway);
  logger.info(`router ready at ${server.url}/graphql`);
  return {
    async close() {
      await server.close();
      await gateway.stop();
    },
  };
});
