/**
 * Composes schema/<subgraph>.graphql into schema/supergraph.graphql.
 *   pnpm compose          write the supergraph
 *   pnpm compose:check    fail if composition fails or the checked-in file is stale
 * The supergraph is checked in so the router starts without the subgraphs running.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { composeServices } from '@apollo/composition';
import { parse, Source, type GraphQLError } from 'graphql';
import { loadConfig, repoRoot, subgraphNamesInOrder } from '@foundation/platform';

const supergraphFile = path.join(repoRoot, 'schema', 'supergraph.graphql');
const check = process.argv.includes('--check');

// The URLs written into the supergraph are the defaults of config/config.yaml; the router
// always uses the URLs of its own config at run time.
const config = loadConfig({ env: { APP_ENV: 'development' }, dotenvPath: '/nonexistent' });

const subgraphs = subgraphNamesInOrder.map((name) => {
  const file = `schema/${name}.graphql`;
  const sdl = readFileSync(path.join(repoRoot, file), 'utf8');
  try {
    return { name, url: config.subgraphs[name].url, typeDefs: parse(new Source(sdl, file)) };
  } catch (error) {
    fail([error as GraphQLError]);
  }
});

const result = composeServices(subgraphs);
for (const hint of result.hints ?? []) {
  console.warn(`hint ${hint.definition.code}: ${hint.message}${where(hint.nodes ?? [])}`);
}
if (result.errors) fail(result.errors);

const supergraph = `${result.supergraphSdl.trimEnd()}\n`;
if (check) {
  const current = readFileSync(supergraphFile, 'utf8');
  if (current !== supergraph) {
    console.error('schema/supergraph.graphql is stale: run `pnpm compose` and commit the result.');
    process.exit(1);
  }
  console.log(`supergraph is up to date (${subgraphs.length} subgraphs)`);
} else {
  writeFileSync(supergraphFile, supergraph);
  console.log(`wrote schema/supergraph.graphql from ${subgraphs.map((s) => s.name).join(', ')}`);
}

function fail(errors: readonly GraphQLError[]): never {
  console.error(`composition failed with ${errors.length} error(s):`);
  for (const error of errors) {
    const code = error.extensions?.['code'];
    console.error(
      `- ${typeof code === 'string' ? `[${code}] ` : ''}${error.message}${where(error.nodes ?? [])}`,
    );
  }
  process.exit(1);
}

function where(nodes: readonly { loc?: { source: Source; start: number } | undefined }[]): string {
  const places = nodes.flatMap((node) => {
    if (!node.loc) return [];
    const before = node.loc.source.body.slice(0, node.loc.start).split('\n');
    return [`${node.loc.source.name}:${before.length}:${(before.at(-1)?.length ?? 0) + 1}`];
  });
  return places.length > 0 ? `\n    at ${places.join(', ')}` : '';
}
