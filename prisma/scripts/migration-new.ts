/**
 * `pnpm db:migration:new <name>`: writes the SQL that takes the committed migrations to the
 * current schema as a new migration folder, or says they are already in sync.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { migrationsDir, pendingSchemaChange } from '../src/migrate.js';

const name = process.argv[2];
if (!name || !/^[a-z0-9_]+$/.test(name)) {
  console.error(
    'usage: pnpm db:migration:new <name>   (lower case, digits and _, e.g. add_user_bio)',
  );
  process.exit(1);
}
const sql = await pendingSchemaChange();
if (sql === '') {
  console.log('schema and migrations are in sync: nothing to write');
} else {
  const stamp = new Date().toISOString().replace(/\D/g, '').slice(0, 14);
  const dir = path.join(migrationsDir('sqlite'), `${stamp}_${name}`);
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, 'migration.sql'), sql);
  // MySQL's cannot be generated here (no engine): a stub to replace, holding the SQLite
  // version for reference. Until it is written, test/mysql-schema.test.ts shows the diff.
  const mysqlDir = path.join(migrationsDir('mysql'), `${stamp}_${name}`);
  mkdirSync(mysqlDir, { recursive: true });
  writeFileSync(
    path.join(mysqlDir, 'migration.sql'),
    [
      '-- TODO: the MySQL version of this change, written by hand (see prisma/README.md).',
      '-- The SQLite migration generated for it, for reference:',
      ...sql
        .trimEnd()
        .split('\n')
        .map((line) => `-- ${line}`),
      '',
    ].join('\n'),
  );
  console.log(
    `wrote ${path.relative(process.cwd(), dir)}/migration.sql — review it, then commit it`,
  );
  console.log(
    `wrote ${path.relative(process.cwd(), mysqlDir)}/migration.sql — a stub: write the MySQL SQL there, then run pnpm vitest run prisma/test`,
  );
}
