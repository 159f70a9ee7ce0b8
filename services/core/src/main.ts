import { runService } from '@allsource/service-kit';
import { startCore } from './app/createCore';
import { loadConfig } from './config';

/** Entry point: `node dist/main.js`. Settings come from the environment (see config.ts). */
runService({
  name: 'allsource-core',
  load: () => loadConfig(),
  start: (config, logger) => startCore(config, { logger }),
});
