import { startCore } from './app/createCore';
import { ConfigError, loadConfig } from './config';
import { createLogger } from './logging/logger';

/** Entry point: `node dist/main.js`. Settings come from the environment (see config.ts). */
async function main(): Promise<void> {
  let config;
  try {
    config = loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`allsource-core: invalid configuration: ${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }
  const logger = createLogger(config.logLevel, 'allsource-core');
  const core = await startCore(config, { logger });
  let signalled = false;
  const stop = (signal: string): void => {
    if (signalled) return;
    signalled = true;
    logger.info({ signal }, 'signal received');
    core.close().then(
      () => process.exit(0),
      (err: unknown) => {
        logger.error({ err }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

main().catch((err: unknown) => {
  process.stderr.write(`allsource-core: failed to start: ${(err as Error)?.stack ?? String(err)}\n`);
  process.exit(1);
});
