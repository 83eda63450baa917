import { ConfigError, loadConfig, type Config } from './config.js';
import { createLogger, type Logger } from './logger.js';

/** Something `runService` stops on shutdown. */
export interface Stoppable {
  close(): Promise<void>;
}

/**
 * The `main` of every service: loads config (a bad one ends the process with the list of
 * problems), builds the logger, starts the service, and stops it gracefully on SIGINT or
 * SIGTERM (a second signal, a second or more later, forces the exit).
 */
export async function runService(
  name: string,
  start: (deps: { config: Config; logger: Logger }) => Promise<Stoppable>,
): Promise<void> {
  let config: Config;
  try {
    config = loadConfig();
  } catch (error) {
    if (error instanceof ConfigError) {
      console.error(`${name}: ${error.message}\nFix these and start again.`);
      process.exit(1);
    }
    throw error;
  }
  const logger = createLogger(config.log, { service: name });
  let running: Stoppable;
  try {
    running = await start({ config, logger });
  } catch (error) {
    logger.fatal({ err: error }, `${name} failed to start: ${(error as Error).message}`);
    process.exit(1);
  }
  let stoppingSince: number | undefined;
  const stop = (signal: string) => {
    if (stoppingSince !== undefined) {
      // One Ctrl-C can arrive twice (the terminal signals the whole process group, and
      // wrappers such as pnpm relay it too): only a later, deliberate one forces the exit.
      if (Date.now() - stoppingSince < 1_000) return;
      logger.warn(`${signal} again: exiting without waiting`);
      process.exit(1);
    }
    stoppingSince = Date.now();
    logger.info(`${signal}: finishing in-flight requests, then stopping`);
    running.close().then(
      () => {
        logger.info('stopped');
        process.exit(0);
      },
      (err: unknown) => {
        logger.error({ err }, 'error while stopping');
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
}
