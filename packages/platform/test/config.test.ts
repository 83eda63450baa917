import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig, repoRoot, variableFor } from '../src/config.js';

const configDir = path.join(repoRoot, 'config');
const noDotenv = '/nonexistent/.env';
const strongSecret = 'k3J9x-Qw7Lp2Zr8Tn4Vb6Ys1Hd5Fg0Mc';
const strongInternal = 'P0o9I8u7Y6t5R4e3W2q1-A1s2D3f4G5h6';

function problemsOf(fn: () => unknown): string[] {
  try {
    fn();
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  throw new Error('expected a ConfigError');
}

describe('loadConfig', () => {
  it('layers config.yaml, the env overlay and environment variables, in that order', () => {
    const config = loadConfig({
      configDir,
      dotenvPath: noDotenv,
      env: { APP_ENV: 'development', FOUNDATION_GATEWAY__PORT: '9090', LOG_LEVEL: 'debug' },
    });
    expect(config.env).toBe('development');
    expect(config.gateway.port).toBe(9090); // environment
    expect(config.log.level).toBe('debug'); // alias variable
    expect(config.log.format).toBe('pretty'); // config.development.yaml
    expect(config.subgraphs.user.port).toBe(4001); // config.yaml
  });

  it('reads .env, and the real environment wins over it', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'foundation-config-'));
    const dotenvPath = path.join(dir, '.env');
    writeFileSync(dotenvPath, 'FOUNDATION_GATEWAY__PORT=7000\nLOG_LEVEL=warn\n');
    const config = loadConfig({
      configDir,
      dotenvPath,
      env: { APP_ENV: 'test', LOG_LEVEL: 'error' },
    });
    expect(config.gateway.port).toBe(7000);
    expect(config.log.level).toBe('error');
  });

  it('lists every problem at once, naming the variable to fix', () => {
    const problems = problemsOf(() =>
      loadConfig({
        configDir,
        dotenvPath: noDotenv,
        env: {
          APP_ENV: 'test',
          FOUNDATION_GATEWAY__PORT: 'eighty',
          FOUNDATION_SUBGRAPHS__USER__URL: 'not a url',
          FOUNDATION_NO_SUCH__KEY: '1',
        },
      }),
    );
    expect(problems).toHaveLength(3);
    expect(problems.join('\n')).toContain('gateway.port');
    expect(problems.join('\n')).toContain('FOUNDATION_GATEWAY__PORT');
    expect(problems.join('\n')).toContain('subgraphs.user.url');
    expect(problems.join('\n')).toContain('FOUNDATION_NO_SUCH__KEY: no such setting');
  });

  it('maps camelCase paths to variable names', () => {
    expect(variableFor(['auth', 'accessTokenTtlSeconds'])).toBe(
      'FOUNDATION_AUTH__ACCESS_TOKEN_TTL_SECONDS',
    );
  });

  it('refuses secrets in YAML files', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'foundation-config-'));
    writeFileSync(path.join(dir, 'config.yaml'), 'secrets:\n  jwtSecret: oops\n');
    const problems = problemsOf(() =>
      loadConfig({ configDir: dir, dotenvPath: noDotenv, env: { APP_ENV: 'test' } }),
    );
    expect(problems[0]).toContain('"secrets" may not be set in a file');
  });

  it('takes the database URL, replicas and pool settings, with units, from config and env', () => {
    const defaults = loadConfig({ configDir, dotenvPath: noDotenv, env: { APP_ENV: 'test' } });
    expect(defaults.database).toEqual({
      url: 'file:./.data/foundation.db',
      replicaUrls: [],
      pool: {
        connectionLimit: 10,
        minimumIdle: 2,
        acquireTimeoutMs: 5000,
        connectTimeoutMs: 2000,
        idleTimeoutSeconds: 600,
      },
    });
    const config = loadConfig({
      configDir,
      dotenvPath: noDotenv,
      env: {
        APP_ENV: 'test',
        DATABASE_URL: 'mysql://app:pw@db1:3306/foundation',
        DATABASE_REPLICA_URLS:
          ' mysql://app:pw@db2:3306/foundation, mysql://app:pw@db3/foundation ',
        FOUNDATION_DATABASE__POOL__CONNECTION_LIMIT: '25',
      },
    });
    expect(config.database.url).toBe('mysql://app:pw@db1:3306/foundation');
    expect(config.database.replicaUrls).toEqual([
      'mysql://app:pw@db2:3306/foundation',
      'mysql://app:pw@db3/foundation',
    ]);
    expect(config.database.pool.connectionLimit).toBe(25);
  });

  it('refuses a database password in YAML files without echoing it', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'foundation-config-'));
    writeFileSync(
      path.join(dir, 'config.yaml'),
      readFileSync(path.join(configDir, 'config.yaml'), 'utf8').replace(
        'url: file:./.data/foundation.db',
        'url: mysql://app:hunter2-secret@db:3306/foundation',
      ),
    );
    const problems = problemsOf(() =>
      loadConfig({ configDir: dir, dotenvPath: noDotenv, env: { APP_ENV: 'test' } }),
    );
    expect(problems).toEqual([
      expect.stringMatching(/config\.yaml: database\.url holds a password; .*set DATABASE_URL/),
    ]);
    expect(problems.join('\n')).not.toContain('hunter2');
  });

  it('reads the signing key id and the verification keys for rotation', () => {
    const config = loadConfig({
      configDir,
      dotenvPath: noDotenv,
      env: {
        APP_ENV: 'test',
        JWT_KEY_ID: '2026-12',
        JWT_VERIFICATION_KEYS: ' 2026-11:old:secret:with:colons , 2026-10:older ',
      },
    });
    expect(config.secrets.jwtKeyId).toBe('2026-12');
    expect(config.secrets.jwtVerificationKeys).toEqual([
      { id: '2026-11', secret: 'old:secret:with:colons' },
      { id: '2026-10', secret: 'older' },
    ]);
    expect(
      loadConfig({ configDir, dotenvPath: noDotenv, env: { APP_ENV: 'test' } }).secrets,
    ).toMatchObject({ jwtKeyId: 'k1', jwtVerificationKeys: [] });
  });

  it('refuses malformed or duplicate verification keys without echoing them', () => {
    const problems = problemsOf(() =>
      loadConfig({
        configDir,
        dotenvPath: noDotenv,
        env: { APP_ENV: 'test', JWT_VERIFICATION_KEYS: 'nocolon-hunter2,:x,k1:dup,a:1,a:2' },
      }),
    );
    expect(problems).toEqual([
      'JWT_VERIFICATION_KEYS: entry 1 is not "kid:secret" (kid of A–Z, a–z, 0–9, _ . -)',
      'JWT_VERIFICATION_KEYS: entry 2 is not "kid:secret" (kid of A–Z, a–z, 0–9, _ . -)',
      expect.stringMatching(/key id "k1" appears twice/),
      expect.stringMatching(/key id "a" appears twice/),
    ]);
    expect(problems.join('\n')).not.toContain('hunter2');
  });

  describe('in production', () => {
    const production = (env: Record<string, string>) => () =>
      loadConfig({ configDir, dotenvPath: noDotenv, env: { APP_ENV: 'production', ...env } });

    it('refuses to start without secrets, saying which and why', () => {
      const problems = problemsOf(production({}));
      expect(problems).toEqual([
        expect.stringMatching(/^JWT_SECRET: missing; production needs it/),
        expect.stringMatching(/^INTERNAL_TOKEN_SECRET: missing/),
      ]);
    });

    it('refuses weak, default and shared secrets', () => {
      expect(
        problemsOf(production({ JWT_SECRET: 'short', INTERNAL_TOKEN_SECRET: strongInternal }))[0],
      ).toMatch(/JWT_SECRET: too short \(5 characters\)/);
      expect(
        problemsOf(
          production({ JWT_SECRET: 'a'.repeat(40), INTERNAL_TOKEN_SECRET: strongInternal }),
        )[0],
      ).toMatch(/too little variety/);
      expect(
        problemsOf(
          production({
            JWT_SECRET: 'development-only-jwt-secret-do-not-use-in-production',
            INTERNAL_TOKEN_SECRET: strongInternal,
          }),
        )[0],
      ).toMatch(/public development default/);
      expect(
        problemsOf(
          production({ JWT_SECRET: strongSecret, INTERNAL_TOKEN_SECRET: strongSecret }),
        )[0],
      ).toMatch(/must differ from JWT_SECRET/);
    });

    it('never repeats a secret value in its messages', () => {
      const problems = problemsOf(
        production({ JWT_SECRET: 'hunter2-secret', INTERNAL_TOKEN_SECRET: strongInternal }),
      );
      expect(problems.join('\n')).not.toContain('hunter2');
    });

    it('holds every verification key to the same rules, naming it by kid only', () => {
      const problems = problemsOf(
        production({
          JWT_SECRET: strongSecret,
          INTERNAL_TOKEN_SECRET: strongInternal,
          JWT_VERIFICATION_KEYS: `old:hunter2-short,older:${'b'.repeat(40)},dev:development-only-jwt-secret-do-not-use-in-production,same:${strongInternal}`,
        }),
      );
      expect(problems).toEqual([
        expect.stringMatching(/^JWT_VERIFICATION_KEYS: key "old" is too short/),
        expect.stringMatching(/^JWT_VERIFICATION_KEYS: key "older" has too little variety/),
        expect.stringMatching(
          /^JWT_VERIFICATION_KEYS: key "dev" is the public development default/,
        ),
        expect.stringMatching(/^INTERNAL_TOKEN_SECRET: must differ from JWT_SECRET and every/),
      ]);
      expect(problems.join('\n')).not.toContain('hunter2');
    });

    it('starts with strong secrets', () => {
      const config = production({
        JWT_SECRET: strongSecret,
        INTERNAL_TOKEN_SECRET: strongInternal,
      })();
      expect(config.log.format).toBe('json');
      expect(config.gateway.host).toBe('0.0.0.0');
      expect(config.demo.seedUsers).toBe(false);
    });
  });
});

describe('store backend and redis config', () => {
  const load = (env: Record<string, string>) =>
    loadConfig({ configDir, dotenvPath: noDotenv, env: { APP_ENV: 'test', ...env } });

  it('defaults to memory stores, and reads the Redis topology from the environment', () => {
    expect(load({}).stores.backend).toBe('memory');
    const standalone = load({
      FOUNDATION_STORES__BACKEND: 'redis',
      REDIS_URL: 'redis://:pw@10.0.0.5:6380/2',
    });
    expect(standalone.secrets.redisUrl).toBe('redis://:pw@10.0.0.5:6380/2');
    expect(standalone.redis).toMatchObject({ mode: 'standalone', keyPrefix: 'foundation:' });
    const cluster = load({
      FOUNDATION_STORES__BACKEND: 'redis',
      FOUNDATION_REDIS__MODE: 'cluster',
      FOUNDATION_REDIS__CLUSTER_NODES: '10.0.0.1:7000, 10.0.0.2:7001',
      REDIS_PASSWORD: 'cluster-password',
    });
    expect(cluster.redis.clusterNodes).toEqual([
      { host: '10.0.0.1', port: 7000 },
      { host: '10.0.0.2', port: 7001 },
    ]);
    expect(cluster.secrets.redisPassword).toBe('cluster-password');
  });

  it('refuses an incomplete topology, without quoting REDIS_URL', () => {
    expect(
      problemsOf(() =>
        load({ FOUNDATION_STORES__BACKEND: 'redis', REDIS_URL: 'http://:hunter2@host' }),
      ),
    ).toEqual(['REDIS_URL: must be redis://[:password@]host:port[/db] or rediss://…']);
    expect(
      problemsOf(() =>
        load({ FOUNDATION_STORES__BACKEND: 'redis', FOUNDATION_REDIS__MODE: 'sentinel' }),
      ),
    ).toEqual([
      'redis.sentinels: list at least one host:port (env FOUNDATION_REDIS__SENTINELS)',
      'redis.sentinelMasterName: required in sentinel mode (env FOUNDATION_REDIS__SENTINEL_MASTER_NAME)',
    ]);
    expect(problemsOf(() => load({ FOUNDATION_STORES__BACKEND: 'disk' }))[0]).toMatch(
      /^stores\.backend: .*FOUNDATION_STORES__BACKEND/,
    );
    expect(problemsOf(() => load({ FOUNDATION_REDIS__CLUSTER_NODES: 'nohostport' }))[0]).toMatch(
      /^redis\.clusterNodes\.0: must be host:port/,
    );
  });

  it('needs REDIS_URL in production when the stores are on Redis', () => {
    const problems = problemsOf(() =>
      loadConfig({
        configDir,
        dotenvPath: noDotenv,
        env: {
          APP_ENV: 'production',
          JWT_SECRET: strongSecret,
          INTERNAL_TOKEN_SECRET: strongInternal,
          FOUNDATION_STORES__BACKEND: 'redis',
        },
      }),
    );
    expect(problems).toEqual([
      'REDIS_URL: missing; stores.backend is redis (e.g. redis://10.0.0.5:6379)',
    ]);
  });
});
