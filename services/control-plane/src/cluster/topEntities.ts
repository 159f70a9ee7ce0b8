import type { TopEntitiesResult } from '../scrape/scraper';

export interface MergedTopEntity {
  entity_id: string;
  event_count: number;
  node_id: string;
  last_event_at: string | null;
}

/**
 * Merges the per-node top lists (each the node's own top TOP_ENTITIES_LIMIT by event count) into
 * one list of (entity, node) entries ordered by event count, then entity id, then node id. An
 * entity held by two nodes appears once per node: each entry says where its events are. Since
 * every node sent its own top N, the merged top `limit` (≤ N) is exact.
 */
export function mergeTopEntities(perNode: ReadonlyArray<{ nodeId: string; top: TopEntitiesResult | null }>, limit: number): MergedTopEntity[] {
  const all: MergedTopEntity[] = [];
  for (const { nodeId, top } of perNode) {
    if (!top) continue;
    for (const e of top.entities) {
      all.push({
        entity_id: e.entity_id,
        event_count: e.event_count,
        node_id: nodeId,
        last_event_at: typeof e.last_event_at === 'string' ? e.last_event_at : null,
      });
    }
  }
  all.sort(
    (a, b) =>
      b.event_count - a.event_count ||
      (a.entity_id < b.entity_id ? -1 : a.entity_id > b.entity_id ? 1 : 0) ||
      (a.node_id < b.node_id ? -1 : a.node_id > b.node_id ? 1 : 0),
  );
  return all.slice(0, limit);
}
