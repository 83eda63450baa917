import type { ApolloServer } from '@apollo/server';
import { anonymous, type Logger } from '@foundation/platform';
import type { GatewayContext } from '../../src/context.js';

let requestCounter = 0;

/** One operation through a router's ApolloServer as an anonymous caller: its single result. */
export async function executeAnonymously(
  server: ApolloServer<GatewayContext>,
  logger: Logger,
  query: string,
  variables?: Record<string, unknown>,
) {
  const response = await server.executeOperation(
    { query, ...(variables ? { variables } : {}) },
    {
      contextValue: {
        principal: anonymous,
        requestId: `req-${++requestCounter}`,
        logger,
        client: { ip: null, userAgent: null },
      },
    },
  );
  if (response.body.kind !== 'single') throw new Error('expected a single result');
  return response.body.singleResult;
}
