import { AllSourceError } from '@allsource/errors';
import { jsonBody } from '@allsource/service-kit';
import type { Express, NextFunction, Request, Response } from 'express';
import type { CoreConfig } from '../config';
import { isRebuildable, type Projection } from '../projections/projection';
import type { ReplayManager } from './replayManager';
import { parseReplayRequest } from './replayRequest';

/** The replay endpoints (see docs): start, list, get, cancel, delete. */
export function replayRoutes(
  app: Express,
  replays: ReplayManager,
  projections: { get(name: string): Projection | undefined },
  config: CoreConfig,
): void {
  const body = jsonBody(config.maxBodyBytes);
  // A POST without any body (e.g. `curl -X POST …/replay`) means "all defaults".
  const optionalBody = (req: Request, res: Response, next: NextFunction): void => {
    const length = req.headers['content-length'];
    if (req.headers['transfer-encoding'] === undefined && (length === undefined || length === '0')) {
      req.body = undefined;
      next();
      return;
    }
    body(req, res, next);
  };

  app.post('/api/v1/replay', optionalBody, (req, res) => {
    const request = parseReplayRequest(req.body, { defaultBatchSize: config.replayBatchSize, maxBatchSize: config.replayMaxBatchSize });
    const target = projections.get(request.projectionName);
    if (!target) throw new AllSourceError('NOT_FOUND', `projection '${request.projectionName}' is not registered`);
    if (!isRebuildable(target)) {
      throw new AllSourceError('INVALID_INPUT', `projection '${request.projectionName}' cannot be rebuilt by a replay (it has no fork/adopt)`);
    }
    const p = replays.start(request, target);
    res.json({ replay_id: p.replay_id, status: p.status, started_at: p.started_at, total_events: p.total_events, projection_name: p.projection_name });
  });

  app.get('/api/v1/replay', (_req, res) => {
    const replays_ = replays.list();
    res.json({ replays: replays_, total: replays_.length });
  });

  app.get('/api/v1/replay/:id', (req, res) => {
    res.json(replays.get(req.params.id));
  });

  app.post('/api/v1/replay/:id/cancel', (req, res) => {
    res.json(replays.cancel(req.params.id));
  });

  app.delete('/api/v1/replay/:id', (req, res) => {
    const p = replays.delete(req.params.id);
    res.json({ replay_id: p.replay_id, deleted: true, status: p.status });
  });
}
