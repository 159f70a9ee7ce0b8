import type { CoreModule, CoreModuleDeps } from '../app/coreModule';
import { ReplayManager } from '../replay/replayManager';
import { replayRoutes } from '../replay/replayRoutes';
import { projectionRoutes } from './projectionRoutes';

/**
 * Projections API (GET /api/v1/projections, …/:name/state) and replay (/api/v1/replay…): replays
 * rebuild the projections that the ProjectionManager feeds, so both live in one module.
 */
export function projectionsModule(deps: CoreModuleDeps): CoreModule {
  const { config, store, metrics, projections, logger } = deps;
  const started = metrics.m.counter('allsource_replays_started_total');
  const completed = metrics.m.counter('allsource_replays_completed_total');
  const failed = metrics.m.counter('allsource_replays_failed_total');
  const events = metrics.m.counter('allsource_replay_events_processed');
  const duration = metrics.m.histogram('allsource_replay_duration_seconds');
  const replays = new ReplayManager(
    store,
    projections,
    { maxConcurrent: config.replayMaxConcurrent, maxRecords: config.replayMaxRecords, tailMaxEvents: 2 * config.maxBatchEvents },
    {
      onStarted: () => started.inc(),
      onEvents: (n) => events.inc(n),
      onFinished: (status, seconds) => {
        // The catalogue's allsource_replays_failed_total counts failed and cancelled replays.
        if (status === 'completed') completed.inc();
        else failed.inc();
        duration.observe(seconds);
      },
    },
    logger.child({ component: 'replay' }),
  );
  return {
    name: 'projections',
    routes(app) {
      projectionRoutes(app, projections, config);
      replayRoutes(app, replays, projections, config);
    },
    close: () => replays.close(),
  };
}
