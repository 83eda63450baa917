/**
 * Prisma's schema engine, run as WebAssembly (@prisma/schema-engine-wasm) over a driver
 * adapter. The native engine that `prisma migrate` uses cannot be downloaded on offline
 * machines; this build is published on npm and does the same work for SQLite.
 * The package version is pinned to the engine commit of our `prisma` version.
 */
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import { PrismaBetterSqlite3 } from '@prisma/adapter-better-sqlite3';
import {
  bindMigrationAwareSqlAdapterFactory,
  type SqlDriverAdapter,
  type SqlMigrationAwareDriverAdapterFactory,
} from '@prisma/driver-adapter-utils';
import * as bindings from '@prisma/schema-engine-wasm/schema_engine_bg';
import type { SchemaEngine } from '@prisma/schema-engine-wasm';

export type { SchemaEngine };

let instantiated: Promise<void> | undefined;

// Node has WebAssembly; the `lib` we compile with (no DOM) does not declare it.
const wasm = (
  globalThis as unknown as {
    WebAssembly: {
      instantiate(bytes: Uint8Array, imports: object): Promise<{ instance: { exports: object } }>;
    };
  }
).WebAssembly;

/**
 * Node 20 cannot `import` a .wasm file, which the package's entry does; so instantiate
 * the module by hand and give its JS glue the exports, as that entry would.
 */
function instantiate(): Promise<void> {
  instantiated ??= (async () => {
    // The engine reports Rust panics through this global; without it a panic is a crash.
    const registry = globalThis as { PRISMA_WASM_PANIC_REGISTRY?: unknown };
    let panic = '';
    registry.PRISMA_WASM_PANIC_REGISTRY ??= {
      get: () => panic,
      set_message: (message: string) => (panic = `RuntimeError: ${message}`),
    };
    const require = createRequire(import.meta.url);
    const dir = path.dirname(require.resolve('@prisma/schema-engine-wasm/schema_engine_bg'));
    const bytes = await readFile(path.join(dir, 'schema_engine_bg.wasm'));
    const { instance } = await wasm.instantiate(bytes, { './schema_engine_bg.js': bindings });
    const exports = instance.exports as { __wbindgen_start: () => void };
    bindings.__wbg_set_wasm(exports);
    exports.__wbindgen_start();
  })();
  return instantiated;
}

/**
 * Runs `use` with a schema engine bound to one SQLite file, then releases it. `unixepoch-ms` timestamps make the
 * `_prisma_migrations` rows identical to those `prisma migrate deploy` writes.
 */
export async function withSqliteSchemaEngine<T>(
  file: string,
  datamodels: [path: string, content: string][],
  use: (engine: SchemaEngine) => Promise<T>,
): Promise<T> {
  await instantiate();
  const connections: SqlDriverAdapter[] = [];
  const factory = withScriptReplay(
    new PrismaBetterSqlite3({ url: `file:${file}` }, { timestampFormat: 'unixepoch-ms' }),
    connections,
  );
  // The engine wants the adapter *factory*, wrapped so errors cross the wasm boundary.
  const adapter = bindMigrationAwareSqlAdapterFactory(factory);
  const { SchemaEngine: Engine } = bindings as unknown as { SchemaEngine: typeof SchemaEngine };
  const engine = await Engine.new({ datamodels }, () => {}, adapter);
  try {
    return await use(engine);
  } finally {
    engine.free();
    // free() does not close what the engine opened; an open handle would keep SQLite
    // locked against the application's own connection.
    await Promise.all(connections.map((connection) => connection.dispose()));
  }
}

/**
 * To diff against the migrations folder, the engine replays each migration.sql on a
 * shadow database as one raw statement; better-sqlite3 runs only the first statement of
 * such a string, so hand multi-statement SQL to `executeScript` instead.
 */
function withScriptReplay(
  factory: SqlMigrationAwareDriverAdapterFactory,
  connections: SqlDriverAdapter[],
): SqlMigrationAwareDriverAdapterFactory {
  const wrap = (adapter: SqlDriverAdapter): SqlDriverAdapter =>
    new Proxy(adapter, {
      get(target, property, receiver) {
        if (property === 'executeRaw') {
          return async (query: Parameters<SqlDriverAdapter['executeRaw']>[0]) => {
            if (query.args.length > 0 || !query.sql.includes(';')) return target.executeRaw(query);
            await target.executeScript(query.sql);
            return 0;
          };
        }
        const value: unknown = Reflect.get(target, property, receiver);
        return typeof value === 'function'
          ? (value as (...a: unknown[]) => unknown).bind(target)
          : value;
      },
    });
  return {
    provider: factory.provider,
    adapterName: factory.adapterName,
    connect: async () => {
      const connection = await factory.connect();
      connections.push(connection);
      return connection;
    },
    connectToShadowDb: async () => {
      const connection = await factory.connectToShadowDb();
      connections.push(connection);
      return wrap(connection);
    },
  };
}
