import { AllSourceError } from '@allsource/errors';
import { jsonBody } from '@allsource/service-kit';
import type { Express } from 'express';
import { formatTimestamp } from '../events/timestamps';
import { optionalInt, optionalString } from '../http/params';
import type { Snapshot, SnapshotRepository } from './snapshotRepository';
import type { SnapshotService } from './snapshotService';

export interface SnapshotRoutesDeps {
  service: SnapshotService;
  repository: SnapshotRepository;
  maxBodyBytes: number;
  maxQueryLimit: number;
}

/** Default page size of `GET /api/v1/snapshots`. */
export const DEFAULT_LIST_LIMIT = 100;

function info(s: Snapshot): Record<string, unknown> {
  return {
    id: s.id,
    entity_id: s.entityId,
    created_at: formatTimestamp(s.createdAtUs),
    as_of: formatTimestamp(s.asOfUs),
    event_count: s.eventCount,
    size_bytes: s.sizeBytes,
    snapshot_type: s.type,
  };
}

function entityIdOf(body: unknown): string {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new AllSourceError('INVALID_INPUT', 'the body must be a JSON object {"entity_id": "<id>"}');
  }
  const entityId = (body as Record<string, unknown>).entity_id;
  if (typeof entityId !== 'string' || entityId.length === 0) {
    throw new AllSourceError('INVALID_INPUT', 'entity_id is required and must be a non-empty string');
  }
  return entityId;
}

/** Thin HTTP layer of the snapshots module. */
export function snapshotRoutes(app: Express, deps: SnapshotRoutesDeps): void {
  const { service, repository } = deps;

  app.post('/api/v1/snapshots', jsonBody(deps.maxBodyBytes), async (req, res) => {
    const s = await service.createManual(entityIdOf(req.body as unknown));
    res.json({
      snapshot_id: s.id,
      entity_id: s.entityId,
      created_at: formatTimestamp(s.createdAtUs),
      as_of: formatTimestamp(s.asOfUs),
      event_count: s.eventCount,
      size_bytes: s.sizeBytes,
      snapshot_type: s.type,
    });
  });

  app.get('/api/v1/snapshots', (req, res) => {
    const q = req.query as Record<string, unknown>;
    const entityId = optionalString(q, 'entity_id');
    const limit = optionalInt(q, 'limit', 1, deps.maxQueryLimit) ?? DEFAULT_LIST_LIMIT;
    const offset = optionalInt(q, 'offset', 0, Number.MAX_SAFE_INTEGER) ?? 0;
    // An entity's snapshots newest (most events) first; all of them most recently created first.
    const all = entityId !== undefined ? [...repository.ofEntity(entityId)].reverse() : repository.newestFirst();
    res.json({ snapshots: all.slice(offset, offset + limit).map(info), total: all.length });
  });

  app.get('/api/v1/snapshots/:entity_id/latest', (req, res) => {
    const entityId = req.params.entity_id;
    const s = repository.latestOf(entityId);
    if (!s) throw new AllSourceError('NOT_FOUND', `no snapshot of entity '${entityId}'`);
    res.json({ ...info(s), state: JSON.parse(s.stateJson) as unknown });
  });
}
