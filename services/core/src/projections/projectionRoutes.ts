import { AllSourceError } from '@allsource/errors';
import type { Express } from 'express';
import type { CoreConfig } from '../config';
import { optionalInt, optionalString } from '../http/params';
import type { ProjectionManager } from './projectionManager';
import { readProjectionState } from './projectionState';

/** GET /api/v1/projections and GET /api/v1/projections/:name/state. */
export function projectionRoutes(app: Express, projections: ProjectionManager, config: CoreConfig): void {
  app.get('/api/v1/projections', (_req, res) => {
    res.json({ projections: projections.list() });
  });

  app.get('/api/v1/projections/:name/state', async (req, res) => {
    const name = req.params.name;
    const q = req.query as Record<string, unknown>;
    const key = optionalString(q, 'key');
    const limit = optionalInt(q, 'limit', 1, config.projectionStateMaxKeys) ?? config.projectionStateMaxKeys;
    const offset = optionalInt(q, 'offset', 0, Number.MAX_SAFE_INTEGER) ?? 0;
    const projection = projections.get(name);
    if (!projection) {
      throw new AllSourceError('NOT_FOUND', `projection '${name}' is not registered (registered: ${projections.names().join(', ')})`);
    }
    const body = await readProjectionState(projection, { key, limit, offset, maxBytes: config.projectionStateMaxBytes });
    res.type('application/json').send(body);
  });
}
