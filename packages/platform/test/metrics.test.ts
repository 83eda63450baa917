import { ApolloServer } from '@apollo/server';
import { describe, expect, it } from 'vitest';
import { createMetrics, metricsPlugin } from '../src/index.js';

describe('metrics', () => {
  it('counts operations by name, type and outcome, and caps the names it labels', async () => {
    const metrics = createMetrics({ service: 'test', processMetrics: false });
    const server = new ApolloServer({
      typeDefs: 'type Query { ok: Int, fails: Int }',
      resolvers: { Query: { ok: () => 1, fails: () => Promise.reject(new Error('boom')) } },
      plugins: [metricsPlugin(metrics)],
    });
    await server.start();
    try {
      await server.executeOperation({ query: 'query Good { ok }' });
      await server.executeOperation({ query: 'query Bad { fails }' });
      await server.executeOperation({ query: '{ ok }' });
      for (let i = 0; i < 210; i++) await server.executeOperation({ query: `query N${i} { ok }` });
      const text = await metrics.registry.metrics();
      expect(text).toContain(
        'graphql_operations_total{operation="Good",type="query",outcome="ok",service="test"} 1',
      );
      expect(text).toContain(
        'graphql_operations_total{operation="Bad",type="query",outcome="INTERNAL_SERVER_ERROR",service="test"} 1',
      );
      expect(text).toContain('operation="anonymous"');
      // 2 named above + 198 of the N-series get their own label; the last 12 share "other".
      expect(text).toContain(
        'graphql_operations_total{operation="other",type="query",outcome="ok",service="test"} 12',
      );
      expect(text).not.toContain('process_cpu');
    } finally {
      await server.stop();
    }
  });
});
