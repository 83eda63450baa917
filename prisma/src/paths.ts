import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The prisma/ folder of the repository. */
export const prismaDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
/** The repository root; relative database paths are resolved against it, never cwd. */
export const repoRoot = path.resolve(prismaDir, '..');

/** The database providers Foundation ships a client and migrations for. */
export type Provider = 'sqlite' | 'mysql';

const supportedSchemes =
  'file: (SQLite, e.g. file:./.data/foundation.db), mysql: or mariadb: (MySQL/MariaDB, e.g. mysql://app@db.internal:3306/foundation)';

/**
 * The provider a database URL is for, from its scheme. Other schemes are refused with the
 * list of supported ones, so a typo in DATABASE_URL fails at start with a clear message.
 * The message names only the scheme: the rest of the URL may hold a password.
 */
export function providerOf(url: string): Provider {
  if (url.startsWith('file:')) return 'sqlite';
  if (url.startsWith('mysql://') || url.startsWith('mariadb://')) return 'mysql';
  const scheme = /^[a-z][a-z0-9+.-]*:/i.exec(url)?.[0] ?? '(none)';
  throw new Error(
    `Unsupported database URL scheme "${scheme}" in DATABASE_URL; supported: ${supportedSchemes}.`,
  );
}

/** The file of a `file:` database URL, absolute. */
export function sqliteFileOf(url: string): string {
  if (providerOf(url) !== 'sqlite') throw new Error('Not a SQLite (file:) database URL');
  const file = url.slice('file:'.length).split('?')[0] ?? '';
  if (file === '' || file === ':memory:') {
    throw new Error('DATABASE_URL must name a file, e.g. file:./.data/foundation.db');
  }
  return path.resolve(repoRoot, file);
}
