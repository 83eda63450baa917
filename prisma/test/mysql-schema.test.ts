/**
 * The MySQL migrations are written by hand (no engine here can generate them), so this
 * proves them: it applies them to a real MariaDB and compares what they built with what
 * the Prisma schema says (Prisma's own DMMF, from its schema parser): tables, columns,
 * types, nullability, primary keys, unique and plain indexes, foreign keys.
 */
import { createRequire } from 'node:module';
import { startMariaDb, skipUnlessInstalled, type MariaDbServer } from '@foundation/test-servers';
import { createConnection } from 'mariadb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrateDatabase } from '../src/index.js';
import { schemaFiles } from '../src/migrate.js';

const skip = skipUnlessInstalled('mariadbd', 'mariadb-server');

interface DmmfField {
  name: string;
  dbName?: string;
  kind: 'scalar' | 'object' | 'enum';
  type: string;
  isRequired: boolean;
  isList: boolean;
  nativeType: [string, string[]] | null;
  relationFromFields?: string[];
  relationToFields?: string[];
  relationOnDelete?: string;
}
interface DmmfModel {
  name: string;
  dbName: string | null;
  fields: DmmfField[];
}
interface DmmfIndex {
  model: string;
  type: 'id' | 'unique' | 'normal' | 'fulltext';
  dbName?: string | null;
  fields: { name: string }[];
}
interface Dmmf {
  datamodel: { models: DmmfModel[]; indexes: DmmfIndex[] };
}

/** The DMMF of the MySQL schema, from Prisma's schema parser (WebAssembly). */
async function mysqlDmmf(): Promise<Dmmf> {
  const require = createRequire(import.meta.url);
  const wasm = require('@prisma/prisma-schema-wasm') as { get_dmmf(params: string): string };
  const files = await schemaFiles('mysql');
  return JSON.parse(
    wasm.get_dmmf(JSON.stringify({ prismaSchema: files.map((f) => [f.path, f.content]) })),
  ) as Dmmf;
}

/** The column type Prisma's MySQL connector gives each scalar without a native type. */
const defaultColumnType: Record<string, string> = {
  String: 'varchar(191)',
  DateTime: 'datetime(3)',
  Int: 'int(11)',
  BigInt: 'bigint(20)',
  Boolean: 'tinyint(1)',
  Float: 'double',
  Decimal: 'decimal(65,30)',
  Json: 'longtext', // MariaDB's JSON is an alias of LONGTEXT
  Bytes: 'longblob',
};

/** One line per fact, so a difference reads as a diff. */
function expectedFacts(dmmf: Dmmf): string[] {
  const facts: string[] = [];
  const tableOf = new Map(dmmf.datamodel.models.map((m) => [m.name, m.dbName ?? m.name]));
  const columnOf = (model: string, field: string) => {
    const f = dmmf.datamodel.models
      .find((m) => m.name === model)
      ?.fields.find((x) => x.name === field);
    return f?.dbName ?? field;
  };
  for (const model of dmmf.datamodel.models) {
    const table = tableOf.get(model.name) ?? model.name;
    facts.push(`table ${table}`);
    for (const field of model.fields) {
      if (field.kind === 'object') {
        if (field.relationFromFields?.length) {
          const from = field.relationFromFields.map((f) => columnOf(model.name, f)).join(',');
          const to = (field.relationToFields ?? []).map((f) => columnOf(field.type, f)).join(',');
          const onDelete = (field.relationOnDelete ?? 'Restrict')
            .replace(/([a-z])([A-Z])/g, '$1 $2')
            .toUpperCase();
          facts.push(
            `foreign key ${table}(${from}) -> ${tableOf.get(field.type)}(${to}) on delete ${onDelete}`,
          );
        }
        continue;
      }
      const type = field.nativeType
        ? `${field.nativeType[0]}(${field.nativeType[1].join(',')})`.toLowerCase()
        : (defaultColumnType[field.type] ?? `unknown Prisma type ${field.type}`);
      const column = field.dbName ?? field.name;
      facts.push(`column ${table}.${column} ${type} ${field.isRequired ? 'NOT NULL' : 'NULL'}`);
    }
  }
  for (const index of dmmf.datamodel.indexes) {
    const table = tableOf.get(index.model) ?? index.model;
    const columns = index.fields.map((f) => columnOf(index.model, f.name)).join(',');
    const kind =
      index.type === 'id' ? 'primary key' : index.type === 'unique' ? 'unique index' : 'index';
    facts.push(`${kind} ${table}(${columns})`);
  }
  return facts.sort();
}

/** The same facts, read from the database's information_schema. */
async function actualFacts(url: string): Promise<string[]> {
  const database = new URL(url).pathname.slice(1);
  const connection = await createConnection({
    host: '127.0.0.1',
    port: Number(new URL(url).port),
    user: 'root',
    database,
  });
  try {
    const facts: string[] = [];
    const tables = await connection.query<{ name: string }[]>(
      "SELECT TABLE_NAME AS name FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_NAME <> '_prisma_migrations'",
      [database],
    );
    for (const { name } of tables) facts.push(`table ${name}`);
    const columns = await connection.query<
      { tableName: string; columnName: string; type: string; nullable: string }[]
    >(
      `SELECT TABLE_NAME AS tableName, COLUMN_NAME AS columnName, COLUMN_TYPE AS type, IS_NULLABLE AS nullable
         FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = ? AND TABLE_NAME <> '_prisma_migrations'`,
      [database],
    );
    for (const c of columns) {
      facts.push(
        `column ${c.tableName}.${c.columnName} ${c.type.toLowerCase()} ${c.nullable === 'YES' ? 'NULL' : 'NOT NULL'}`,
      );
    }
    const indexes = await connection.query<
      { tableName: string; indexName: string; nonUnique: number | bigint; columns: string }[]
    >(
      `SELECT TABLE_NAME AS tableName, INDEX_NAME AS indexName, NON_UNIQUE AS nonUnique,
              GROUP_CONCAT(COLUMN_NAME ORDER BY SEQ_IN_INDEX) AS columns
         FROM information_schema.STATISTICS
        WHERE TABLE_SCHEMA = ? AND TABLE_NAME <> '_prisma_migrations'
        GROUP BY TABLE_NAME, INDEX_NAME, NON_UNIQUE`,
      [database],
    );
    const foreignKeys = await connection.query<
      {
        tableName: string;
        columns: string;
        refTable: string;
        refColumns: string;
        onDelete: string;
      }[]
    >(
      `SELECT k.TABLE_NAME AS tableName, GROUP_CONCAT(k.COLUMN_NAME ORDER BY k.ORDINAL_POSITION) AS columns,
              k.REFERENCED_TABLE_NAME AS refTable,
              GROUP_CONCAT(k.REFERENCED_COLUMN_NAME ORDER BY k.ORDINAL_POSITION) AS refColumns,
              r.DELETE_RULE AS onDelete
         FROM information_schema.KEY_COLUMN_USAGE k
         JOIN information_schema.REFERENTIAL_CONSTRAINTS r
           ON r.CONSTRAINT_SCHEMA = k.CONSTRAINT_SCHEMA AND r.CONSTRAINT_NAME = k.CONSTRAINT_NAME
        WHERE k.TABLE_SCHEMA = ? AND k.REFERENCED_TABLE_NAME IS NOT NULL
        GROUP BY k.TABLE_NAME, k.CONSTRAINT_NAME, k.REFERENCED_TABLE_NAME, r.DELETE_RULE`,
      [database],
    );
    // InnoDB indexes every foreign key; Prisma declares that index itself only when the
    // schema asks for one, so an index serving only a foreign key is not a fact of its own.
    for (const i of indexes) {
      const kind =
        i.indexName === 'PRIMARY'
          ? 'primary key'
          : Number(i.nonUnique) === 0
            ? 'unique index'
            : 'index';
      const onlyForForeignKey =
        kind === 'index' &&
        foreignKeys.some((fk) => fk.tableName === i.tableName && fk.columns === i.columns) &&
        !i.indexName.endsWith('_idx');
      if (!onlyForForeignKey) facts.push(`${kind} ${i.tableName}(${i.columns})`);
    }
    for (const fk of foreignKeys) {
      facts.push(
        `foreign key ${fk.tableName}(${fk.columns}) -> ${fk.refTable}(${fk.refColumns}) on delete ${fk.onDelete}`,
      );
    }
    return facts.sort();
  } finally {
    await connection.end();
  }
}

/** A readable diff: what the schema wants and the migrations lack, and the reverse. */
function describeDifference(expected: string[], actual: string[]): string {
  const missing = expected.filter((f) => !actual.includes(f));
  const extra = actual.filter((f) => !expected.includes(f));
  return [
    ...missing.map((f) => `- ${f}   (in the Prisma schema, not built by the migrations)`),
    ...extra.map((f) => `+ ${f}   (built by the migrations, not in the Prisma schema)`),
  ].join('\n');
}

describe.skipIf(skip)('MySQL migrations against the Prisma schema (real MariaDB)', () => {
  let server: MariaDbServer;
  beforeAll(async () => {
    server = await startMariaDb();
  });
  afterAll(() => server?.dispose());

  it('build exactly the tables, columns, types, nullability, keys and indexes of the schema', async () => {
    await migrateDatabase(server.url);
    const expected = expectedFacts(await mysqlDmmf());
    const actual = await actualFacts(server.url);
    // The facts come from both sides, so an empty list on either would prove nothing.
    expect(expected.filter((f) => f.startsWith('table '))).toEqual([
      'table api_keys',
      'table credentials',
      'table users',
    ]);
    expect(describeDifference(expected, actual)).toBe('');
  });

  it('would catch a drift: a column the schema does not have shows up in the diff', async () => {
    const url = await server.createDatabase('drifted');
    await migrateDatabase(url);
    const connection = await createConnection({
      host: '127.0.0.1',
      port: server.port,
      user: 'root',
      database: 'drifted',
    });
    await connection.query('ALTER TABLE users ADD COLUMN nickname VARCHAR(50) NULL');
    await connection.query('ALTER TABLE users MODIFY display_name VARCHAR(191) NULL');
    await connection.end();
    const diff = describeDifference(expectedFacts(await mysqlDmmf()), await actualFacts(url));
    expect(diff).toContain('+ column users.nickname varchar(50) NULL');
    expect(diff).toContain('- column users.display_name varchar(191) NOT NULL');
  });
});
