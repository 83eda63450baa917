import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The prisma/ folder of the repository. */
export const prismaDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
/** The repository root; relative database paths are resolved against it, never cwd. */
export const repoRoot = path.resolve(prismaDir, '..');

/**
 * The file of a `file:` database URL, absolute. Other schemes are refused with the list of
 * supported ones, so a typo in DATABASE_URL fails at start with a clear message.
 */
export function sqliteFileOf(url: string): string {
  if (!url.startsWith('file:')) {
    const scheme = url.split(':')[0] ?? '';
    throw new Error(
      `Unsupported database URL scheme "${scheme}:" in DATABASE_URL; supported: file: (SQLite, e.g. file:./.data/foundation.db).`,
    );
  }
  const file = url.slice('file:'.length).split('?')[0] ?? '';
  if (file === '' || file === ':memory:') {
    throw new Error('DATABASE_URL must name a file, e.g. file:./.data/foundation.db');
  }
  return path.resolve(repoRoot, file);
}
