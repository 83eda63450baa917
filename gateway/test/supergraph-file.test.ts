import { readFileSync } from 'node:fs';
import path from 'node:path';
import { repoRoot } from '@foundation/platform';
import { describe, expect, it } from 'vitest';
import { delegateAuthorization } from '../src/supergraph-file.js';

describe('delegateAuthorization', () => {
  it('drops only the SECURITY purpose of the authorization links, keeping the directives', () => {
    const sdl = readFileSync(path.join(repoRoot, 'schema/supergraph.graphql'), 'utf8');
    const loaded = delegateAuthorization(sdl);
    expect(sdl).toContain(
      '@link(url: "https://specs.apollo.dev/authenticated/v0.1", for: SECURITY)',
    );
    expect(loaded).toContain('@link(url: "https://specs.apollo.dev/authenticated/v0.1")');
    expect(loaded).toContain('@link(url: "https://specs.apollo.dev/requiresScopes/v0.1")');
    expect(loaded).not.toContain('for: SECURITY');
    expect(loaded).toContain('@link(url: "https://specs.apollo.dev/join/v0.4", for: EXECUTION)');
    expect(loaded).toContain('@requiresScopes(scopes: [["admin"]])');
    // Everything else is byte for byte the same.
    expect(sdl.length - loaded.length).toBe(2 * ', for: SECURITY'.length);
  });
});
