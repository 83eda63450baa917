/**
 * `pnpm apikey:create --name <name> [--scopes a,b] [--expires-in-days N] [--owner <username>]`
 * mints an API key straight in the database at DATABASE_URL (from config, like the
 * services), for bootstrapping before any admin can sign in. The key goes to stdout, once;
 * only its hash is stored.
 */
import { parseArgs } from 'node:util';
import { openDatabase } from '@foundation/db';
import { ConfigError, loadConfig } from '@foundation/platform';
import { GraphQLError } from 'graphql';
import { createApiKey } from '../src/api-keys.js';

const usage =
  'usage: pnpm apikey:create --name <name> [--scopes a,b] [--expires-in-days N] [--owner <username>]';

function fail(message: string): never {
  console.error(`apikey:create: ${message}`);
  process.exit(1);
}

let args;
try {
  args = parseArgs({
    options: {
      name: { type: 'string' },
      scopes: { type: 'string', default: '' },
      'expires-in-days': { type: 'string' },
      owner: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  }).values;
} catch (error) {
  fail(`${(error as Error).message}\n${usage}`);
}
if (args.help) {
  console.log(usage);
  process.exit(0);
}
if (!args.name) fail(`--name is required\n${usage}`);
const days = args['expires-in-days'];
if (days !== undefined && !/^\d+$/.test(days)) fail('--expires-in-days must be a whole number');

let config;
try {
  config = loadConfig();
} catch (error) {
  if (error instanceof ConfigError) fail(error.message);
  throw error;
}
const db = await openDatabase({ ...config.database, migrate: true });
try {
  let ownerId: string | null = null;
  if (args.owner) {
    const owner = await db.prisma.user.findUnique({
      where: { username: args.owner.toLowerCase() },
    });
    if (!owner) fail(`no user named "${args.owner}"`);
    ownerId = owner.id;
  }
  const { key, apiKey } = await createApiKey(db.prisma, {
    name: args.name,
    scopes: args.scopes.split(',').filter((s) => s.trim() !== ''),
    expiresAt: days === undefined ? null : new Date(Date.now() + Number(days) * 86_400_000),
    ownerId,
  });
  const scopes = apiKey.scopes === '' ? 'no scopes' : `scopes ${apiKey.scopes}`;
  const expiry = apiKey.expiresAt ? `expires ${apiKey.expiresAt.toISOString()}` : 'never expires';
  console.error(
    `API key ${apiKey.id} "${apiKey.name}" (${scopes}; ${expiry}). It is shown only now:`,
  );
  console.log(key);
} catch (error) {
  if (error instanceof GraphQLError) fail(error.message);
  throw error;
} finally {
  await db.close();
}
