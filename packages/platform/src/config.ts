import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseEnv } from 'node:util';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';

/** The repository root: config/, schema/ and .env are found relative to it, never to cwd. */
export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');

const port = z.number().int().min(0).max(65535);
const host = z.string().min(1);

const serviceSchema = z.strictObject({
  /** Interface to listen on. */
  host,
  /** Port to listen on; 0 picks a free one. */
  port,
});

const subgraphSchema = z.strictObject({
  ...serviceSchema.shape,
  /** Where the router reaches this subgraph. */
  url: z.url(),
});

const rateLimitSchema = z.strictObject({
  /** Attempts allowed per window. */
  limit: z.number().int().min(1),
  /** Length of the window, in seconds. */
  windowSeconds: z.number().int().min(1).max(86_400),
});

/**
 * Redis nodes as `host:port` strings; the environment gives them comma-separated
 * (`FOUNDATION_REDIS__CLUSTER_NODES=10.0.0.1:6379,10.0.0.2:6379`).
 */
const redisNodes = z.preprocess(
  (value) =>
    typeof value === 'string'
      ? value
          .split(',')
          .map((s) => s.trim())
          .filter((s) => s !== '')
      : value,
  z.array(
    z
      .string()
      .regex(/^[\w.-]+:\d{1,5}$/, 'must be host:port')
      .transform((node) => {
        const colon = node.lastIndexOf(':');
        return { host: node.slice(0, colon), port: Number(node.slice(colon + 1)) };
      }),
  ),
);

/** A key id: what access tokens name in their `kid` header. */
const keyIdPattern = /^[\w.-]{1,64}$/;

const subgraphNames = ['user', 'auth', 'search'] as const;
/** The subgraphs this repository ships. */
export type SubgraphName = (typeof subgraphNames)[number];

const configSchema = z.strictObject({
  env: z.enum(['development', 'test', 'production']),
  log: z.strictObject({
    level: z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']),
    format: z.enum(['pretty', 'json']),
  }),
  gateway: z.strictObject({
    ...serviceSchema.shape,
    /** Composed supergraph SDL, relative to the repository root. */
    supergraphPath: z.string().min(1),
    /** Budget for one subgraph call, in milliseconds. */
    subgraphTimeoutMs: z.number().int().positive(),
    /**
     * Port of the service listener (API keys only; `port` is the public one, for access
     * tokens and anonymous callers). Same host. 0 picks a free one.
     */
    servicePort: port,
    /** How long the router trusts a cached API key lookup, in seconds; revoking clears it. */
    apiKeyCacheTtlSeconds: z.number().int().min(1).max(3600),
    /**
     * Router processes (node:cluster) sharing the port, one core each. Above 1, sessions
     * must live in shared (Redis) stores: in-process stores are per worker.
     */
    workers: z.number().int().min(1).max(64),
    /**
     * Plans and results through the router's own executor (equivalent to @apollo/gateway's,
     * faster); false: Apollo's own. The switch is per process.
     */
    fastExecution: z.boolean(),
  }),
  subgraphs: z.strictObject({
    user: subgraphSchema,
    auth: subgraphSchema,
    search: subgraphSchema,
  }),
  stores: z.strictObject({
    /**
     * Where sessions, revocations, rate limits, the cache and domain events live: `memory`
     * (in process; embedded mode) or `redis` (shared by every process; distributed mode).
     */
    backend: z.enum(['memory', 'redis']),
  }),
  redis: z.strictObject({
    /** `standalone` (REDIS_URL), `sentinel` (sentinels + sentinelMasterName) or `cluster`. */
    mode: z.enum(['standalone', 'sentinel', 'cluster']),
    /** Sentinels to ask for the primary, `host:port` each. */
    sentinels: redisNodes,
    /** The primary's name as the Sentinels know it. */
    sentinelMasterName: z.string(),
    /** Some nodes of the Cluster, `host:port` each; the rest are discovered. */
    clusterNodes: redisNodes,
    /** Prepended to every key and channel, so deployments can share a Redis. */
    keyPrefix: z.string().regex(/^[\w:.-]{0,64}$/, 'must be 0–64 of A–Z, a–z, 0–9, _ : . -'),
    /** Bound on one command, in ms: past it the call fails with SERVICE_UNAVAILABLE. */
    commandTimeoutMs: z.number().int().min(10).max(60_000),
    /** Bound on the first connection at start, in ms: past it the service does not start. */
    connectTimeoutMs: z.number().int().min(100).max(120_000),
  }),
  cache: z.strictObject({
    /** How long a user read by id stays cached, in seconds; a profile update clears it. */
    userTtlSeconds: z.number().int().min(1).max(86_400),
    /** How long "no such user" stays cached, in seconds (against lookups of made-up ids). */
    negativeTtlSeconds: z.number().int().min(1).max(3_600),
  }),
  database: z.strictObject({
    /**
     * `file:` URL (SQLite; relative paths are resolved against the repository root) or
     * `mysql://user:password@host:3306/database` (MySQL/MariaDB). A URL with a password
     * comes from the environment only (DATABASE_URL).
     */
    url: z.string().min(1),
    /**
     * MySQL read replicas, URLs like `url` (env DATABASE_REPLICA_URLS, comma-separated).
     * Model reads go to them; writes, transactions and read-your-writes to the primary.
     */
    replicaUrls: z.preprocess(
      (value) =>
        typeof value === 'string'
          ? value
              .split(',')
              .map((url) => url.trim())
              .filter((url) => url !== '')
          : value,
      z.array(z.string().min(1)),
    ),
    /** MySQL connection pools (one per server per process); SQLite has none. */
    pool: z.strictObject({
      /** Most connections per pool. */
      connectionLimit: z.number().int().min(1).max(1000),
      /** Idle connections kept open and ready; the pool grows past it under load. */
      minimumIdle: z.number().int().min(1).max(1000),
      /** Longest a query waits for a connection, in ms; then SERVICE_UNAVAILABLE. */
      acquireTimeoutMs: z.number().int().min(100).max(120_000),
      /** Longest opening one connection may take, in ms. */
      connectTimeoutMs: z.number().int().min(100).max(120_000),
      /** Connections beyond minimumIdle close after this long unused, in seconds. */
      idleTimeoutSeconds: z.number().int().min(1).max(86_400),
    }),
  }),
  auth: z.strictObject({
    /** `iss` of access tokens. */
    issuer: z.string().min(1),
    /** `aud` of access tokens. */
    audience: z.string().min(1),
    /** Access token lifetime, in seconds. */
    accessTokenTtlSeconds: z
      .number()
      .int()
      .min(60)
      .max(7 * 24 * 3600),
    /** Clock skew tolerated when verifying `iat`/`nbf`/`exp`, in seconds. */
    clockSkewSeconds: z.number().int().min(0).max(300),
    /**
     * Absolute lifetime of a session and so of its refresh tokens, in seconds. Refreshing
     * rotates the refresh token but never extends the session.
     */
    sessionTtlSeconds: z
      .number()
      .int()
      .min(300)
      .max(365 * 24 * 3600),
    /** Lifetime of the identity assertion the router sends to subgraphs, in seconds. */
    assertionTtlSeconds: z.number().int().min(5).max(600),
    passwordMinLength: z.number().int().min(8).max(128),
    /** Login attempts allowed, per client IP and per account, before RATE_LIMITED. */
    loginRateLimit: z.strictObject({
      perIp: rateLimitSchema,
      perAccount: rateLimitSchema,
    }),
  }),
  search: z.strictObject({
    /** Most hits one `search` call can return. */
    maxPageSize: z.number().int().min(1).max(1000),
  }),
  /** The router's federated subscriptions (graphql-ws, SSE, multipart). */
  subscriptions: z.strictObject({
    /** Most open subscriptions on one client connection (graphql-ws). */
    maxPerConnection: z.number().int().min(1).max(10_000),
    /** Most open subscriptions of one user, API key or anonymous address, all connections together. */
    maxPerPrincipal: z.number().int().min(1).max(100_000),
    /** Events held for one slow client before the oldest is dropped (and counted). */
    queueSize: z.number().int().min(1).max(100_000),
    /** Ping interval on client and upstream WebSockets, and heartbeat of SSE/multipart; a peer missing a pong is dropped, in ms. */
    keepAliveMs: z.number().int().min(1_000).max(300_000),
    /** Reconnects to a subgraph whose stream was lost, before subscribers get SERVICE_UNAVAILABLE. */
    upstreamRetryAttempts: z.number().int().min(0).max(100),
    /** Longest wait between those reconnects (exponential backoff with jitter), in ms. */
    upstreamRetryMaxDelayMs: z.number().int().min(10).max(600_000),
    /** How often a long-lived connection's credential is checked again (logout, revocation), in seconds. */
    authRecheckSeconds: z.number().int().min(1).max(3_600),
  }),
  demo: z.strictObject({
    /** Create a few demo users when the database is empty. */
    seedUsers: z.boolean(),
  }),
  secrets: z.strictObject({
    /** HMAC key that signs new user access tokens (env JWT_SECRET). */
    jwtSecret: z.string(),
    /** `kid` of the signing key (env JWT_KEY_ID). */
    jwtKeyId: z.string().regex(keyIdPattern, 'must be 1–64 of A–Z, a–z, 0–9, _ . -'),
    /**
     * Older keys still accepted on verify, for rotation (env JWT_VERIFICATION_KEYS as
     * `kid1:secret1,kid2:secret2`). Never used to sign.
     */
    jwtVerificationKeys: z.array(z.strictObject({ id: z.string(), secret: z.string() })),
    /** HMAC key of router→subgraph identity assertions (env INTERNAL_TOKEN_SECRET). */
    internalTokenSecret: z.string(),
    /** Standalone Redis, `redis://[:password@]host:port[/db]` (env REDIS_URL). */
    redisUrl: z.string(),
    /** Password of Redis and its Sentinels, when the URL has none (env REDIS_PASSWORD). */
    redisPassword: z.string(),
  }),
});

/** The validated configuration every service receives. */
export type Config = z.infer<typeof configSchema>;

/**
 * Secrets come only from the environment (or `.env`), never from YAML files, so they
 * cannot be committed by accident. Each maps one variable to a config path.
 */
const secretVariables = {
  JWT_SECRET: 'jwtSecret',
  INTERNAL_TOKEN_SECRET: 'internalTokenSecret',
} as const;

/** Redis outside production when REDIS_URL is unset. */
const defaultRedisUrl = 'redis://127.0.0.1:6379';

/** Key id of the signing key when JWT_KEY_ID is unset. */
const defaultKeyId = 'k1';

/** Short, well-known variables, besides the generic `FOUNDATION_SECTION__KEY` form. */
const aliasVariables: Record<string, string[]> = {
  DATABASE_URL: ['database', 'url'],
  DATABASE_REPLICA_URLS: ['database', 'replicaUrls'],
  LOG_LEVEL: ['log', 'level'],
  LOG_FORMAT: ['log', 'format'],
};

/**
 * Development-only secrets, so `pnpm start` works with no setup. Production refuses them.
 * They are public (they are in this file): never use them where anyone else can connect.
 */
const developmentSecrets = {
  jwtSecret: 'development-only-jwt-secret-do-not-use-in-production',
  internalTokenSecret: 'development-only-internal-secret-do-not-use-in-production',
};

/** Shortest secret production accepts, in characters. */
const minimumSecretLength = 32;

/** A configuration that cannot be used; `problems` lists every reason at once. */
export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

export interface LoadConfigOptions {
  /** Variables to read; defaults to `process.env`. */
  env?: Record<string, string | undefined>;
  /** Folder holding config.yaml and its overlays; defaults to `<repo>/config`. */
  configDir?: string;
  /** `.env` file to read; defaults to `<repo>/.env` (absent is fine). */
  dotenvPath?: string;
}

/**
 * Loads the configuration in layers, each overriding the one before:
 * `config.yaml` → `config.<env>.yaml` → `.env` → environment variables.
 * The environment name comes from `APP_ENV`, else `NODE_ENV`, else `development`.
 * Environment variables reach any key as `FOUNDATION_<SECTION>__<KEY>` (camelCase keys
 * in SNAKE_CASE, nesting with `__`, e.g. `FOUNDATION_GATEWAY__PORT=9090`).
 * @throws ConfigError listing every problem, when the result is not valid.
 */
export function loadConfig(options: LoadConfigOptions = {}): Config {
  const configDir = options.configDir ?? path.join(repoRoot, 'config');
  const dotenvPath = options.dotenvPath ?? path.join(repoRoot, '.env');
  const fromDotenv = existsSync(dotenvPath) ? parseEnv(readFileSync(dotenvPath, 'utf8')) : {};
  // Real environment wins over .env, as with every dotenv tool.
  const env: Record<string, string | undefined> = {
    ...fromDotenv,
    ...(options.env ?? process.env),
  };
  const envName = env['APP_ENV'] ?? env['NODE_ENV'] ?? 'development';
  const problems: string[] = [];

  const base = readYaml(path.join(configDir, 'config.yaml'), problems, true);
  const overlay = readYaml(path.join(configDir, `config.${envName}.yaml`), problems, false);
  for (const [file, layer] of [
    ['config.yaml', base],
    [`config.${envName}.yaml`, overlay],
  ] as const) {
    problems.push(...passwordsIn(file, layer));
    if ('secrets' in layer) {
      problems.push(
        `${file}: "secrets" may not be set in a file; use the environment variables ${Object.keys(secretVariables).join(', ')}`,
      );
      delete layer['secrets'];
    }
  }
  const merged = deepMerge(base, overlay);
  merged['env'] = envName;
  applyEnvironment(merged, env, problems);
  merged['secrets'] = readSecrets(env, envName, problems);

  const result = configSchema.safeParse(merged);
  if (!result.success) {
    for (const issue of result.error.issues) {
      const where = issue.path.join('.');
      problems.push(`${where || '(root)'}: ${issue.message}${hintFor(issue.path)}`);
    }
  } else {
    problems.push(...checkSecrets(result.data), ...checkRedis(result.data));
  }
  if (problems.length > 0 || !result.success) throw new ConfigError(problems);
  return result.data;
}

type Tree = Record<string, unknown>;

function readYaml(file: string, problems: string[], required: boolean): Tree {
  if (!existsSync(file)) {
    if (required) problems.push(`${file}: file not found`);
    return {};
  }
  try {
    const value: unknown = parseYaml(readFileSync(file, 'utf8'));
    if (value === null || value === undefined) return {};
    if (!isTree(value)) {
      problems.push(`${file}: expected a mapping at the top level`);
      return {};
    }
    return value;
  } catch (error) {
    problems.push(`${file}: not valid YAML (${(error as Error).message.split('\n')[0]})`);
    return {};
  }
}

/**
 * Database passwords are secrets: a URL in a config file may name the server, never a
 * password. The message names the key, not the value.
 */
function passwordsIn(file: string, layer: Tree): string[] {
  const database = layer['database'];
  if (!isTree(database)) return [];
  const replicas: unknown = database['replicaUrls'];
  const urls: [string, unknown][] = [
    ['database.url', database['url']],
    ...(Array.isArray(replicas) ? (replicas as unknown[]) : [replicas]).map(
      (url): [string, unknown] => ['database.replicaUrls', url],
    ),
  ];
  return urls
    .filter(([, url]) => typeof url === 'string' && /^[a-z]+:\/\/[^/@]*:[^/@]*@/i.test(url))
    .map(
      ([key]) =>
        `${file}: ${key} holds a password; passwords may not be set in a file — set DATABASE_URL (and DATABASE_REPLICA_URLS) in the environment`,
    );
}

function isTree(value: unknown): value is Tree {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function deepMerge(base: Tree, overlay: Tree): Tree {
  const out: Tree = { ...base };
  for (const [key, value] of Object.entries(overlay)) {
    const prior = out[key];
    out[key] = isTree(prior) && isTree(value) ? deepMerge(prior, value) : value;
  }
  return out;
}

const toSnake = (key: string) => key.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toUpperCase();

/** The variable that overrides a config path, e.g. gateway.port → FOUNDATION_GATEWAY__PORT. */
export function variableFor(configPath: readonly (string | number | symbol)[]): string {
  return `FOUNDATION_${configPath.map((p) => toSnake(String(p))).join('__')}`;
}

function applyEnvironment(tree: Tree, env: Record<string, string | undefined>, problems: string[]) {
  const overrides = new Map<string, string[]>();
  for (const leaf of leaves(tree)) overrides.set(variableFor(leaf), leaf);
  for (const [name, target] of Object.entries(aliasVariables)) overrides.set(name, target);
  for (const [name, target] of overrides) {
    const raw = env[name];
    if (raw === undefined || raw === '') continue;
    setPath(tree, target, coerce(getPath(tree, target), raw));
  }
  for (const name of Object.keys(env)) {
    if (name.startsWith('FOUNDATION_') && !overrides.has(name)) {
      problems.push(`${name}: no such setting (see config/config.yaml for the keys)`);
    }
  }
}

function* leaves(tree: Tree, prefix: string[] = []): Generator<string[]> {
  for (const [key, value] of Object.entries(tree)) {
    if (isTree(value)) yield* leaves(value, [...prefix, key]);
    else yield [...prefix, key];
  }
}

function getPath(tree: Tree, keys: string[]): unknown {
  let node: unknown = tree;
  for (const key of keys) node = isTree(node) ? node[key] : undefined;
  return node;
}

function setPath(tree: Tree, keys: string[], value: unknown) {
  let node = tree;
  for (const key of keys.slice(0, -1)) {
    const next = node[key];
    node = isTree(next) ? next : (node[key] = {});
  }
  node[keys[keys.length - 1] as string] = value;
}

/** Environment values are strings; give them the type of the default they replace. */
function coerce(prior: unknown, raw: string): unknown {
  if (typeof prior === 'number')
    return raw.trim() !== '' && !isNaN(Number(raw)) ? Number(raw) : raw;
  if (typeof prior === 'boolean') return raw === 'true' ? true : raw === 'false' ? false : raw;
  return raw;
}

function readSecrets(
  env: Record<string, string | undefined>,
  envName: string,
  problems: string[],
): Tree {
  const secrets: Tree = {
    jwtKeyId: env['JWT_KEY_ID'] || defaultKeyId,
    // Outside production a local redis-server is the default; production must say.
    redisUrl: env['REDIS_URL'] || (envName === 'production' ? '' : defaultRedisUrl),
    redisPassword: env['REDIS_PASSWORD'] ?? '',
    jwtVerificationKeys: parseVerificationKeys(env['JWT_VERIFICATION_KEYS'] ?? '', problems),
  };
  for (const [variable, key] of Object.entries(secretVariables)) {
    const value = env[variable];
    secrets[key] =
      value !== undefined && value !== ''
        ? value
        : envName === 'production'
          ? ''
          : developmentSecrets[key];
  }
  return secrets;
}

/**
 * `kid1:secret1,kid2:secret2` → keys. Only the first `:` of an entry splits, so a secret
 * may contain `:` (not `,`). Problems name an entry by position, never by its secret.
 */
function parseVerificationKeys(raw: string, problems: string[]): { id: string; secret: string }[] {
  const keys: { id: string; secret: string }[] = [];
  raw
    .split(',')
    .map((entry) => entry.trim())
    .forEach((entry, index) => {
      if (entry === '') return;
      const colon = entry.indexOf(':');
      const id = colon > 0 ? entry.slice(0, colon) : '';
      const secret = colon > 0 ? entry.slice(colon + 1) : '';
      if (!keyIdPattern.test(id) || secret === '') {
        problems.push(
          `JWT_VERIFICATION_KEYS: entry ${index + 1} is not "kid:secret" (kid of A–Z, a–z, 0–9, _ . -)`,
        );
        return;
      }
      keys.push({ id, secret });
    });
  return keys;
}

/** Problems with the key set that hold in every environment (they would break verify). */
function checkKeyIds(config: Config): string[] {
  const problems: string[] = [];
  const seen = new Set([config.secrets.jwtKeyId]);
  for (const key of config.secrets.jwtVerificationKeys) {
    if (seen.has(key.id)) {
      problems.push(
        `JWT_VERIFICATION_KEYS: key id "${key.id}" appears twice (or is JWT_KEY_ID); each kid names one key`,
      );
    }
    seen.add(key.id);
  }
  return problems;
}

/**
 * Production must run on real secrets: present, long, not the development ones, distinct.
 * Every verification key is held to the same rules as the signing key.
 */
function checkSecrets(config: Config): string[] {
  const problems = checkKeyIds(config);
  if (config.env !== 'production') return problems;
  for (const [variable, key] of Object.entries(secretVariables)) {
    const value = config.secrets[key];
    const advice = `set ${variable} to a random value of at least ${minimumSecretLength} characters, e.g. \`openssl rand -base64 48\``;
    if (value === '') problems.push(`${variable}: missing; production needs it — ${advice}`);
    else if (value === developmentSecrets[key])
      problems.push(`${variable}: is the public development default — ${advice}`);
    else if (value.length < minimumSecretLength)
      problems.push(`${variable}: too short (${value.length} characters) — ${advice}`);
    else if (new Set(value).size < 8)
      problems.push(`${variable}: too little variety to be random — ${advice}`);
  }
  for (const { id, secret } of config.secrets.jwtVerificationKeys) {
    const advice = `give it a random secret of at least ${minimumSecretLength} characters`;
    if (secret === developmentSecrets.jwtSecret)
      problems.push(
        `JWT_VERIFICATION_KEYS: key "${id}" is the public development default — ${advice}`,
      );
    else if (secret.length < minimumSecretLength)
      problems.push(
        `JWT_VERIFICATION_KEYS: key "${id}" is too short (${secret.length} characters) — ${advice}`,
      );
    else if (new Set(secret).size < 8)
      problems.push(
        `JWT_VERIFICATION_KEYS: key "${id}" has too little variety to be random — ${advice}`,
      );
  }
  const userKeys = [
    config.secrets.jwtSecret,
    ...config.secrets.jwtVerificationKeys.map((k) => k.secret),
  ];
  if (
    config.secrets.internalTokenSecret !== '' &&
    userKeys.includes(config.secrets.internalTokenSecret)
  ) {
    problems.push(
      'INTERNAL_TOKEN_SECRET: must differ from JWT_SECRET and every JWT_VERIFICATION_KEYS secret, so a user token can never pass as a router assertion',
    );
  }
  return problems;
}

/**
 * With the Redis backend, the chosen topology must be complete. Problems never quote
 * REDIS_URL, which may carry a password.
 */
function checkRedis(config: Config): string[] {
  if (config.stores.backend !== 'redis') return [];
  const { redis, secrets } = config;
  switch (redis.mode) {
    case 'standalone':
      if (secrets.redisUrl === '') {
        return ['REDIS_URL: missing; stores.backend is redis (e.g. redis://10.0.0.5:6379)'];
      }
      return /^rediss?:\/\/[^\s]+$/.test(secrets.redisUrl)
        ? []
        : ['REDIS_URL: must be redis://[:password@]host:port[/db] or rediss://…'];
    case 'sentinel':
      return [
        ...(redis.sentinels.length === 0
          ? [
              `redis.sentinels: list at least one host:port (env ${variableFor(['redis', 'sentinels'])})`,
            ]
          : []),
        ...(redis.sentinelMasterName === ''
          ? [
              `redis.sentinelMasterName: required in sentinel mode (env ${variableFor(['redis', 'sentinelMasterName'])})`,
            ]
          : []),
      ];
    case 'cluster':
      return redis.clusterNodes.length === 0
        ? [
            `redis.clusterNodes: list at least one host:port (env ${variableFor(['redis', 'clusterNodes'])})`,
          ]
        : [];
  }
}

function hintFor(configPath: readonly PropertyKey[]): string {
  if (configPath[0] === 'secrets') return '';
  return configPath.length > 0 ? ` (env ${variableFor(configPath)})` : '';
}

/** Names of the subgraphs in config order. */
export const subgraphNamesInOrder: readonly SubgraphName[] = subgraphNames;
