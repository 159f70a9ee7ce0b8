import { startControlPlane } from './app/createControlPlane';
import { ConfigError, loadConfig } from './config';
import { createLogger } from './logging/logger';

/** Entry point: `node dist/main.js`. Settings come from the environment (see config.ts). */
async function main(): Promise<void> {
  let config;
  try {
    config = loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`allsource-control-plane: invalid configuration: ${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }
  const logger = createLogger(config.logLevel, 'allsource-control-plane');
  const controlPlane = await startControlPlane(config, { logger });
  let signalled = false;
  const stop = (signal: string): void => {
    if (signalled) return;
    signalled = true;
    logger.info({ signal }, 'signal received');
    controlPlane.close().then(
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
  process.stderr.write(`allsource-control-plane: failed to start: ${(err as Error)?.stack ?? String(err)}\n`);
  process.exit(1);
});
