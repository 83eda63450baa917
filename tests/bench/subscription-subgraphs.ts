/**
 * The subgraphs of `pnpm bench:subscriptions`, in their own process: user and search, on
 * one in-process event bus, plus a small control server the bench publishes through and
 * reads counts from (upstream subscriptions opened on the search subgraph, entity requests
 * to the user subgraph). Not a service: only the bench starts it.
 */
import { createServer } from 'node:http';
import { openDatabase } from '@foundation/db';
import {
  createMemoryEventBus,
  identityFromConfig,
  listen,
  loadConfig,
  type EventBus,
} from '@foundation/platform';
import { testLogger } from '@foundation/platform/testing';
import { createSearchSubgraph } from '@foundation/search-subgraph';
import { createUserSubgraph } from '@foundation/user-subgraph';

const env = (name: string) => {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is required`);
  return value;
};
const config = loadConfig({ env: { ...process.env, APP_ENV: 'test' } });
const logger = testLogger();
const db = await openDatabase({ url: env('DATABASE_URL'), migrate: true });
const { assertions } = identityFromConfig(config);
const bus = createMemoryEventBus(logger);
const counts = { upstreamOpened: 0, upstreamActive: 0, entityRequests: 0 };
// Each upstream subscription to searchIndexUpdated is one handler on the bus.
const events: EventBus = {
  publish: (event) => bus.publish(event),
  subscribe(type, handler) {
    if (type !== 'search.index.updated') return bus.subscribe(type, handler);
    counts.upstreamOpened++;
    counts.upstreamActive++;
    const off = bus.subscribe(type, handler);
    return () => {
      counts.upstreamActive--;
      off();
    };
  },
};
const user = await createUserSubgraph({ db, events, assertions, logger });
const search = await createSearchSubgraph({ db, events, assertions, logger, maxPageSize: 100 });
const userListener = Object.assign(
  (req: Parameters<typeof user.listener>[0], res: Parameters<typeof user.listener>[1]) => {
    if (req.url?.startsWith('/graphql')) counts.entityRequests++;
    user.listener(req, res);
  },
  user.listener.upgrade ? { upgrade: user.listener.upgrade } : {},
);
await listen(userListener, { host: '127.0.0.1', port: Number(env('USER_PORT')) });
await listen(search.listener, { host: '127.0.0.1', port: Number(env('SEARCH_PORT')) });
const userIds = (await db.prisma.user.findMany({ select: { id: true }, take: 100 })).map(
  (u) => u.id,
);

createServer((req, res) => {
  const url = new URL(req.url ?? '/', 'http://localhost');
  if (url.pathname === '/publish') {
    const seq = Number(url.searchParams.get('seq'));
    // indexedUsers carries the sequence number, so the bench can match each delivery.
    void events.publish({
      type: 'search.index.updated',
      userId: userIds[seq % userIds.length]!,
      indexedUsers: seq,
      at: new Date().toISOString(),
    });
    res.end('ok');
    return;
  }
  if (url.pathname === '/reset') {
    counts.upstreamOpened = counts.upstreamActive;
    counts.entityRequests = 0;
  }
  res.setHeader('content-type', 'application/json');
  res.end(JSON.stringify(counts));
}).listen(Number(env('CONTROL_PORT')), '127.0.0.1', () => {
  console.log(JSON.stringify({ msg: 'bench subgraphs ready' }));
});
