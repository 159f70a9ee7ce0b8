import { AllSourceError } from '@allsource/errors';
import type { Express } from 'express';
import { formatTimestamp } from '../../events/timestamps';
import { entityStateAnswer } from '../../query/entityStateAnswer';
import { topEntities } from '../../query/topEntities';
import type { HttpContext } from '../context';
import { sendJsonOutput } from '../jsonAnswer';
import { optionalEnum, optionalInt, optionalTimestamp } from '../params';

export function entityRoutes(app: Express, ctx: HttpContext): void {
  // Registered before /:entity_id so that "top" is not taken for an entity id.
  app.get('/api/v1/entities/top', (req, res) => {
    const q = req.query as Record<string, unknown>;
    const limit = optionalInt(q, 'limit', 1, 1000) ?? 10;
    const by = optionalEnum(q, 'by', ['events', 'recent'] as const) ?? 'events';
    const rows = topEntities(ctx.store.index, limit, by);
    res.json({
      entities: rows.map((r) => ({ entity_id: r.entityId, event_count: r.eventCount, last_event_at: formatTimestamp(r.lastEventUs) })),
      total_entities: ctx.store.index.entities.size,
    });
  });

  app.get('/api/v1/entities/:entity_id/state', async (req, res) => {
    const entityId = req.params.entity_id;
    const asOf = optionalTimestamp(req.query as Record<string, unknown>, 'as_of');
    const started = performance.now();
    const answer = await entityStateAnswer(ctx.store, entityId, asOf, ctx.config.maxEntityHistory, ctx.entitySnapshots.snapshotLookup, ctx.config.maxAnswerBytes);
    ctx.metrics.recordQuery('state', (performance.now() - started) / 1000, answer?.eventCount ?? 0);
    if (!answer) {
      throw new AllSourceError('ENTITY_NOT_FOUND', `no events for entity '${entityId}'${asOf !== undefined ? ' up to as_of' : ''}`);
    }
    sendJsonOutput(res, answer.out);
  });

  app.get('/api/v1/entities/:entity_id/snapshot', async (req, res) => {
    const entityId = req.params.entity_id;
    const snapshot = await ctx.entitySnapshots.snapshot(entityId);
    if (!snapshot) throw new AllSourceError('ENTITY_NOT_FOUND', `no events for entity '${entityId}'`);
    res.json({ entity_id: entityId, snapshot, from_projection: 'entity_snapshots' });
  });
}
