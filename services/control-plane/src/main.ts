import { runService } from '@allsource/service-kit';
import { startControlPlane } from './app/createControlPlane';
import { loadConfig } from './config';

/** Entry point: `node dist/main.js`. Settings come from the environment (see config.ts). */
runService({
  name: 'allsource-control-plane',
  load: () => loadConfig(),
  start: (config, logger) => startControlPlane(config, { logger }),
});
