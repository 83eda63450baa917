/**
 * @foundation/platform: the shared runtime of every Foundation service. It imports no
 * other workspace package; gateway, subgraphs and launcher import it.
 */
export * from './api-keys.js';
export * from './authorization.js';
export * from './config.js';
export * from './errors.js';
export * from './events.js';
export * from './event-stream.js';
export * from './graphql-ws-server.js';
export * from './http.js';
export * from './identity.js';
export * from './logger.js';
export * from './subgraph.js';
export * from './pagination.js';
export * from './service.js';
export * from './scalars.js';
export * from './stores/index.js';
export * from './metrics.js';
