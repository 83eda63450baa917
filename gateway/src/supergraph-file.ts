import { readFileSync, watch } from 'node:fs';
import path from 'node:path';
import type { SupergraphSdlHook } from '@apollo/gateway';
import type { Logger } from '@foundation/platform';

/**
 * Serves the supergraph from a file and hands every change to the gateway, which swaps
 * schemas without dropping requests. The folder is watched rather than the file, so
 * editors and `pnpm compose` that replace the file are seen too. A broken file is
 * reported and the running schema kept.
 */
export function supergraphFromFile(file: string, logger: Logger): SupergraphSdlHook {
  return async ({ update }) => {
    let current = delegateAuthorization(readFileSync(file, 'utf8'));
    let timer: NodeJS.Timeout | undefined;
    const reload = () => {
      try {
        const next = delegateAuthorization(readFileSync(file, 'utf8'));
        if (next === current || next.trim() === '') return;
        update(next);
        current = next;
        logger.info({ file }, 'supergraph reloaded');
      } catch (err) {
        logger.error({ err, file }, 'supergraph change rejected; still serving the previous one');
      }
    };
    const watcher = watch(path.dirname(file), (_event, changed) => {
      if (changed !== path.basename(file)) return;
      clearTimeout(timer);
      timer = setTimeout(reload, 100); // writes often come in bursts
    });
    return {
      supergraphSdl: current,
      async cleanup() {
        clearTimeout(timer);
        watcher.close();
      },
    };
  };
}

const authorizationLinks =
  /(@link\(url: "https:\/\/specs\.apollo\.dev\/(?:authenticated|requiresScopes)\/v[\d.]+"), for: SECURITY\)/g;

/**
 * `@authenticated` and `@requiresScopes` are enforced by each subgraph on its own fields
 * (platform's `enforceAuthorization`), where the data is. Composition links them
 * `for: SECURITY`, which `@apollo/gateway` rightly refuses to load since it cannot enforce
 * them itself; dropping that purpose tells it they are not its job. Nothing else changes.
 */
export function delegateAuthorization(supergraphSdl: string): string {
  return supergraphSdl.replace(authorizationLinks, '$1)');
}
