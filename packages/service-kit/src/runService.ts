import type { Logger } from 'pino';
import { ConfigError } from './config';
import { createLogger } from './logger';

export interface ServiceDefinition<C extends { logLevel: string }, S extends { close(): Promise<void> }> {
  /** Process name, used in stderr messages and as the logs' `service` field (e.g. `allsource-core`). */
  name: string;
  /** Reads the settings; a ConfigError ends the process with code 2. */
  load(): C;
  /** Starts the service; it runs until SIGTERM/SIGINT, then `close()` ends the process. */
  start(config: C, logger: Logger): Promise<S>;
}

/**
 * A service's `main`: load the configuration (exit 2 when invalid), start, and on the first
 * SIGTERM/SIGINT close and exit 0 (1 when the shutdown fails). A failed start exits 1.
 */
export function runService<C extends { logLevel: string }, S extends { close(): Promise<void> }>(service: ServiceDefinition<C, S>): void {
  const { name } = service;
  const main = async (): Promise<void> => {
    let config: C;
    try {
      config = service.load();
    } catch (err) {
      if (err instanceof ConfigError) {
        process.stderr.write(`${name}: invalid configuration: ${err.message}\n`);
        process.exit(2);
      }
      throw err;
    }
    const logger = createLogger(config.logLevel, name);
    const running = await service.start(config, logger);
    let signalled = false;
    const stop = (signal: string): void => {
      if (signalled) return;
      signalled = true;
      logger.info({ signal }, 'signal received');
      running.close().then(
        () => process.exit(0),
        (err: unknown) => {
          logger.error({ err }, 'shutdown failed');
          process.exit(1);
        },
      );
    };
    process.on('SIGTERM', () => stop('SIGTERM'));
    process.on('SIGINT', () => stop('SIGINT'));
  };
  main().catch((err: unknown) => {
    process.stderr.write(`${name}: failed to start: ${(err as Error)?.stack ?? String(err)}\n`);
    process.exit(1);
  });
}
