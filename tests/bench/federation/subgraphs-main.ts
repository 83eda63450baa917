/** Child process of the benchmark: the four subgraphs; prints `READY <url>`. */
import { benchmarkSchemas, startSubgraphs } from './subgraphs.js';

const server = await startSubgraphs({ schemas: benchmarkSchemas(), memoize: true });
process.stdout.write(`READY ${server.url}\n`);
process.on('SIGTERM', () => void server.close().then(() => process.exit(0)));
