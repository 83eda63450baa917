import cluster, { type Worker } from 'node:cluster';
import type { Logger } from '@foundation/platform';

/** Options of {@link runWorkers}. */
export interface WorkersOptions {
  /** How many router processes to keep running. */
  count: number;
  logger: Logger;
  /** More deaths than this within `crashWindowMs` and the primary gives up. @default 5 */
  maxCrashes?: number;
  /** @default 60_000 // one minute */
  crashWindowMs?: number;
  /** Wait before replacing a dead worker, in ms. @default 1_000 */
  restartDelayMs?: number;
}

/**
 * The primary of `gateway.workers` router processes (node:cluster): it forks `count` copies
 * of this script, which share the listening port, replaces one that dies (giving up on a
 * crash loop), and on SIGINT/SIGTERM has each finish its in-flight requests and stop.
 * One router process uses one core; workers are how it uses more.
 */
export function runWorkers(options: WorkersOptions): Promise<void> {
  const { count, logger } = options;
  const maxCrashes = options.maxCrashes ?? 5;
  const crashWindowMs = options.crashWindowMs ?? 60_000;
  const restartDelayMs = options.restartDelayMs ?? 1_000;
  const crashes: number[] = [];
  let stoppingSince: number | undefined;

  return new Promise<void>((resolve) => {
    const fork = () => {
      const worker: Worker = cluster.fork();
      worker.once('exit', (code, signal) => {
        if (stoppingSince !== undefined) {
          if (Object.keys(cluster.workers ?? {}).length === 0) {
            logger.info('all router workers stopped');
            resolve();
            process.exit(0);
          }
          return;
        }
        const now = Date.now();
        crashes.push(now);
        while (crashes.length > 0 && crashes[0]! < now - crashWindowMs) crashes.shift();
        if (crashes.length > maxCrashes) {
          logger.fatal(
            { code, signal },
            `router workers died ${crashes.length} times in ${crashWindowMs / 1000} s; giving up`,
          );
          for (const w of Object.values(cluster.workers ?? {})) w?.process.kill('SIGTERM');
          process.exit(1);
        }
        logger.error(
          { code, signal, pid: worker.process.pid },
          'router worker died; starting another',
        );
        setTimeout(fork, restartDelayMs);
      });
    };
    for (let i = 0; i < count; i++) fork();
    logger.info(`router primary ${process.pid} started ${count} workers`);

    const stop = (signal: NodeJS.Signals) => {
      if (stoppingSince !== undefined) {
        // One Ctrl-C can arrive twice (process group and pnpm); only a later one forces.
        if (Date.now() - stoppingSince < 1_000) return;
        logger.warn(`${signal} again: killing the workers`);
        for (const w of Object.values(cluster.workers ?? {})) w?.process.kill('SIGKILL');
        process.exit(1);
      }
      stoppingSince = Date.now();
      logger.info(`${signal}: stopping the router workers`);
      for (const w of Object.values(cluster.workers ?? {})) w?.process.kill('SIGTERM');
    };
    process.on('SIGINT', () => stop('SIGINT'));
    process.on('SIGTERM', () => stop('SIGTERM'));
  });
}
