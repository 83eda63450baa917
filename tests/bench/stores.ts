/**
 * `pnpm bench:stores`: the two hottest store paths on the memory and the Redis backend (a
 * real redis-server on loopback, started here): the router's session check (session get +
 * revocation check) and a cached user read (cache-aside hit), and the cache hit path
 * against the database path (Prisma on SQLite) as a ratio. Run by hand; the figures go in
 * the README. Not a test: nothing here can fail.
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import path from 'node:path';
import { openDatabase, type User } from '@foundation/db';
import {
  createCacheAside,
  createMemoryStores,
  createRedisStores,
  type Stores,
} from '@foundation/platform';
import { testLogger } from '@foundation/platform/testing';
import { startRedis } from '@foundation/test-servers';

const iterations = 10_000;
const concurrency = 32;
const sessionsCount = 1_000;

interface Figures {
  p50: number;
  p99: number;
  /** Sequential calls per second. */
  ops: number;
  /** Calls per second with `concurrency` in flight. */
  opsConcurrent: number;
}

/** Timings of `fn` after a warm-up: per call in µs (sequential), and throughput. */
async function measure(fn: (i: number) => Promise<unknown>): Promise<Figures> {
  for (let i = 0; i < 1_000; i++) await fn(i);
  const samples = new Float64Array(iterations);
  const started = performance.now();
  for (let i = 0; i < iterations; i++) {
    const start = performance.now();
    await fn(i);
    samples[i] = (performance.now() - start) * 1000;
  }
  const sequentialMs = performance.now() - started;
  samples.sort();
  const at = (q: number) => samples[Math.min(iterations - 1, Math.floor(q * iterations))]!;
  let next = 0;
  const concurrentStart = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < iterations) await fn(next++);
    }),
  );
  const concurrentMs = performance.now() - concurrentStart;
  return {
    p50: at(0.5),
    p99: at(0.99),
    ops: (iterations / sequentialMs) * 1000,
    opsConcurrent: (iterations / concurrentMs) * 1000,
  };
}

const us = (v: number) => `${v < 100 ? v.toFixed(1) : v.toFixed(0)} µs`;
const per = (v: number) => `${Math.round(v).toLocaleString('en')}`;
const row = (name: string, f: Figures) =>
  console.log(
    `| ${name.padEnd(36)} | ${us(f.p50).padStart(9)} | ${us(f.p99).padStart(9)} | ${per(f.ops).padStart(9)} | ${per(f.opsConcurrent).padStart(12)} |`,
  );

const dir = mkdtempSync(path.join(tmpdir(), 'bench-stores-'));
const db = await openDatabase({ url: `file:${path.join(dir, 'bench.db')}`, migrate: true });
const redis = await startRedis();
const logger = testLogger();
try {
  const userIds: string[] = [];
  for (let i = 0; i < 200; i++) {
    const user = await db.prisma.user.create({
      data: { username: `u${i}`, email: `u${i}@example.org`, displayName: `User ${i}` },
    });
    userIds.push(user.id);
  }
  const backends: [string, Stores][] = [
    ['memory', createMemoryStores()],
    [
      'redis',
      await createRedisStores({
        topology: { mode: 'standalone', url: redis.url },
        commandTimeoutMs: 1_000,
        connectTimeoutMs: 5_000,
        keyPrefix: 'bench:',
        logger,
      }),
    ],
  ];
  console.log(
    `\n${iterations.toLocaleString('en')} calls each after a warm-up; ${concurrency} in flight for the last column. Node ${process.version}, ${cpus().length} × ${cpus()[0]?.model.trim()}; redis-server on loopback\n`,
  );
  console.log(
    '| operation                            |       p50 |       p99 |     ops/s | ops/s (×32) |',
  );
  console.log(
    '| ------------------------------------ | --------: | --------: | --------: | ----------: |',
  );
  const dbPath = await measure((i) =>
    db.prisma.user.findUnique({ where: { id: userIds[i % userIds.length]! } }),
  );
  const ratios: string[] = [];
  for (const [name, stores] of backends) {
    const sessionIds: string[] = [];
    const now = Date.now();
    for (let i = 0; i < sessionsCount; i++) {
      const id = randomUUID();
      sessionIds.push(id);
      await stores.sessions.create({
        id,
        userId: randomUUID(),
        createdAt: new Date(now),
        lastSeenAt: new Date(now),
        expiresAt: new Date(now + 3_600_000),
        clientIp: '127.0.0.1',
        userAgent: 'bench',
        refreshTokenHash: randomUUID(),
      });
      if (i % 4 === 0) await stores.revocations.revoke(randomUUID(), new Date(now + 3_600_000));
    }
    const session = await measure((i) =>
      Promise.all([
        stores.sessions.get(sessionIds[i % sessionsCount]!),
        stores.revocations.isRevoked(sessionIds[i % sessionsCount]!),
      ]),
    );
    row(`session check (${name})`, session);
    const users = createCacheAside<User>({
      cache: stores.cache,
      name: 'user',
      ttlSeconds: 600,
      negativeTtlSeconds: 60,
      decode: (raw) => {
        const u = JSON.parse(raw) as User & { createdAt: string; updatedAt: string };
        return { ...u, createdAt: new Date(u.createdAt), updatedAt: new Date(u.updatedAt) };
      },
    });
    const load = (id: string) => db.prisma.user.findUnique({ where: { id } });
    const hit = await measure((i) => users.get(userIds[i % userIds.length]!, load));
    row(`cached user read, hit (${name})`, hit);
    ratios.push(
      `cache hit (${name}) vs database: p50 ${(dbPath.p50 / hit.p50).toFixed(1)}× faster, ${(hit.opsConcurrent / dbPath.opsConcurrent).toFixed(1)}× the throughput at ×${concurrency}`,
    );
  }
  row('user read from the database (SQLite)', dbPath);
  console.log(`\n${ratios.join('\n')}\n`);
  for (const [, stores] of backends) await stores.close();
} finally {
  await db.close();
  await redis.dispose();
  rmSync(dir, { recursive: true, force: true });
}
