/**
 * `pnpm bench:auth`: what authentication costs the router per request, in process, on the
 * embedded (memory) stores, and what a password hash costs the auth subgraph. Run by hand
 * on a quiet machine; the figures go in the README. Not a test: nothing here can fail.
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { availableParallelism, cpus, tmpdir } from 'node:os';
import path from 'node:path';
import { createApiKey, hashPassword, passwordHashParameters } from '@foundation/auth-subgraph';
import { openDatabase } from '@foundation/db';
import { createApiKeyVerifier, createAuthenticator } from '@foundation/gateway';
import { createAccessTokens, createMemoryStores, loadConfig } from '@foundation/platform';
import { testLogger } from '@foundation/platform/testing';

const config = loadConfig({ env: { APP_ENV: 'test' } });
const iterations = 20_000;
const users = 1_000;

/** Per-call timings of `fn` over `n` calls after a warm-up, in microseconds. */
async function measure(n: number, fn: (i: number) => Promise<unknown>) {
  for (let i = 0; i < Math.min(n, 2_000); i++) await fn(i);
  const samples = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const start = performance.now();
    await fn(i);
    samples[i] = (performance.now() - start) * 1000;
  }
  samples.sort();
  const at = (q: number) => samples[Math.min(n - 1, Math.floor(q * n))]!;
  return { p50: at(0.5), p99: at(0.99), mean: samples.reduce((a, b) => a + b, 0) / n };
}

const fmt = (us: number) => `${us.toFixed(1)} µs`;
const row = (name: string, r: { p50: number; p99: number; mean: number }) =>
  console.log(
    `| ${name.padEnd(46)} | ${fmt(r.p50).padStart(9)} | ${fmt(r.p99).padStart(9)} | ${fmt(r.mean).padStart(9)} |`,
  );

const dir = mkdtempSync(path.join(tmpdir(), 'bench-auth-'));
const db = await openDatabase({ url: `file:${path.join(dir, 'bench.db')}`, migrate: true });
const stores = createMemoryStores();
const logger = testLogger();
const accessTokens = createAccessTokens({
  signingKey: { id: config.secrets.jwtKeyId, secret: config.secrets.jwtSecret },
  verificationKeys: config.secrets.jwtVerificationKeys,
  issuer: config.auth.issuer,
  audience: config.auth.audience,
  ttlSeconds: config.auth.accessTokenTtlSeconds,
  clockSkewSeconds: config.auth.clockSkewSeconds,
});
const authenticator = createAuthenticator({
  accessTokens,
  sessions: stores.sessions,
  revocations: stores.revocations,
  apiKeys: createApiKeyVerifier({
    prisma: db.prisma,
    cache: stores.cache,
    cacheTtlSeconds: config.gateway.apiKeyCacheTtlSeconds,
    logger,
  }),
  logger,
});

// A thousand signed-in users, with a few hundred revoked tokens in the list, so lookups
// are not on empty maps.
const tokens: string[] = [];
const now = Date.now();
for (let i = 0; i < users; i++) {
  const userId = randomUUID();
  const sessionId = randomUUID();
  await stores.sessions.create({
    id: sessionId,
    userId,
    createdAt: new Date(now),
    lastSeenAt: new Date(now),
    expiresAt: new Date(now + 3_600_000),
    clientIp: '127.0.0.1',
    userAgent: 'bench',
    refreshTokenHash: randomUUID(),
  });
  tokens.push(
    (await accessTokens.issue({ userId, username: `u${i}`, sessionId, scopes: [] })).token,
  );
  if (i % 3 === 0) await stores.revocations.revoke(randomUUID(), new Date(now + 900_000));
}
const verified = await Promise.all(tokens.map((t) => accessTokens.verify(t)));
const { key } = await createApiKey(db.prisma, { name: 'bench', scopes: ['search'], ownerId: null });

console.log(
  `Node ${process.version}, ${cpus()[0]?.model ?? 'unknown CPU'}, ${availableParallelism()} cores; ${iterations} calls each, sequential\n`,
);
console.log(
  '| per request (router, memory stores)            |       p50 |       p99 |      mean |',
);
console.log(
  '| ---------------------------------------------- | --------: | --------: | --------: |',
);
row(
  'JWT verify (jose, HS256, pinned, claims)',
  await measure(iterations, (i) => accessTokens.verify(tokens[i % users]!)),
);
row(
  'session get + revocation check',
  await measure(iterations, (i) => {
    const p = verified[i % users]!;
    return Promise.all([stores.sessions.get(p.sessionId), stores.revocations.isRevoked(p.tokenId)]);
  }),
);
row(
  'whole access-token authentication',
  await measure(iterations, (i) => authenticator.user(tokens[i % users]!)),
);
row(
  'API key (cached lookup + SHA-256 compare)',
  await measure(iterations, () => authenticator.serviceCaller({ 'x-api-key': key })),
);

const hashes = 20;
const hashTimes: number[] = [];
for (let i = 0; i < hashes + 2; i++) {
  const start = performance.now();
  await hashPassword(`password-${i}`);
  if (i >= 2) hashTimes.push(performance.now() - start);
}
hashTimes.sort((a, b) => a - b);
const median = hashTimes[Math.floor(hashes / 2)]!;
const { N, r, p } = passwordHashParameters;
console.log(
  `\nscrypt N=2^${Math.log2(N)}, r=${r}, p=${p} (${(128 * N * r) / 2 ** 20} MiB): median ${median.toFixed(1)} ms per hash over ${hashes}`,
);
console.log(
  `implied password checks (login or register) on 2 cores: ~${Math.floor((2 * 1000) / median)} per second`,
);

await stores.close();
await db.close();
rmSync(dir, { recursive: true, force: true });
