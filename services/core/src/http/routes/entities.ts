import { AllSourceError } from '@allsource/errors';
import type { Express } from 'express';
import { jsonString } from '../../events/jsonText';
import { formatTimestamp } from '../../events/timestamps';
import { foldEntity } from '../../query/entityState';
import { topEntities } from '../../query/topEntities';
import type { HttpContext } from '../context';
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
    const fold = await foldEntity(ctx.store, entityId, asOf, ctx.config.maxEntityHistory, ctx.entitySnapshots.snapshotLookup);
    ctx.metrics.recordQuery('state', (performance.now() - started) / 1000, fold?.eventCount ?? 0);
    if (!fold || fold.eventCount === 0 || !fold.last) {
      throw new AllSourceError('ENTITY_NOT_FOUND', `no events for entity '${entityId}'${asOf !== undefined ? ' up to as_of' : ''}`);
    }
    // Built as text: stored payloads are JSON.stringify output already, so they are spliced
    // into the history as they are instead of being parsed and serialised again.
    let text =
      `{"entity_id":${jsonString(entityId)},"last_updated":"${formatTimestamp(fold.last.timestampUs)}","event_count":${fold.eventCount},` +
      `"as_of":${asOf === undefined ? 'null' : `"${formatTimestamp(asOf)}"`},"current_state":${JSON.stringify(fold.state)},"history":[`;
    for (let i = 0; i < fold.history.length; i++) {
      const e = fold.history[i]!;
      text += `${i > 0 ? ',' : ''}{"event_id":"${e.id}","type":${jsonString(e.eventType)},"timestamp":"${formatTimestamp(e.timestampUs)}","payload":${e.payloadJson}}`;
    }
    text += fold.history.length < fold.eventCount ? '],"history_truncated":true}' : ']}';
    res.setHeader('Content-Type', 'application/json; charset=utf-8');
    res.send(text);
  });

  app.get('/api/v1/entities/:entity_id/snapshot', async (req, res) => {
    const entityId = req.params.entity_id;
    const snapshot = await ctx.entitySnapshots.snapshot(entityId);
    if (!snapshot) throw new AllSourceError('ENTITY_NOT_FOUND', `no events for entity '${entityId}'`);
    res.json({ entity_id: entityId, snapshot, from_projection: 'entity_snapshots' });
  });
}
