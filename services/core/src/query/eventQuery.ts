import type { EventIndex } from '../storage/index/eventIndex';
import type { GrowableUint32 } from '../storage/index/growable';

/** A query over the index. Every filter applies in every combination. */
export interface EventQuery {
  entityId?: string | undefined;
  eventType?: string | undefined;
  tenantId?: string | undefined;
  /** Inclusive bounds, microseconds. */
  sinceUs?: number | undefined;
  untilUs?: number | undefined;
  limit: number;
  offset: number;
  order: 'asc' | 'desc';
}

export type EventQueryType = 'entity' | 'type' | 'time_range' | 'full_scan';

export function queryTypeOf(q: EventQuery): EventQueryType {
  if (q.entityId !== undefined) return 'entity';
  if (q.eventType !== undefined) return 'type';
  if (q.sinceUs !== undefined || q.untilUs !== undefined) return 'time_range';
  return 'full_scan';
}

/** First index i in list[from..to) whose event time is ≥ us (lists hold ascending positions). */
function listLowerBound(list: GrowableUint32, ts: Float64Array, us: number, strict: boolean): number {
  let lo = 0;
  let hi = list.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    const t = ts[list.data[mid]!]!;
    if (strict ? t <= us : t < us) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * Positions of the matching events, in the requested order, after offset and limit. Reads only
 * the index (no payloads). The most selective access path is used: an entity's list, then a
 * type's list, then a tenant's list, then the time range of the global order.
 */
export function selectPositions(index: EventIndex, q: EventQuery): number[] {
  const ts = index.timestampUs;
  let entityFilter = -1;
  let typeFilter = -1;
  let tenantFilter = -1;
  if (q.entityId !== undefined) {
    const id = index.entities.idOf(q.entityId);
    if (id === undefined) return [];
    entityFilter = id;
  }
  if (q.eventType !== undefined) {
    const id = index.types.idOf(q.eventType);
    if (id === undefined) return [];
    typeFilter = id;
  }
  if (q.tenantId !== undefined) {
    const id = index.tenants.idOf(q.tenantId);
    if (id === undefined) return [];
    tenantFilter = id;
  }

  // Source: either a list of positions (entity or type) or the global range [lo, hi).
  let list: GrowableUint32 | undefined;
  let lo: number;
  let hi: number;
  if (entityFilter >= 0) list = index.entityPositions[entityFilter];
  else if (typeFilter >= 0) list = index.typePositions[typeFilter];
  else if (tenantFilter >= 0) list = index.tenantPositions[tenantFilter];
  if (list) {
    lo = q.sinceUs === undefined ? 0 : listLowerBound(list, ts, q.sinceUs, false);
    hi = q.untilUs === undefined ? list.length : listLowerBound(list, ts, q.untilUs, true);
  } else {
    lo = q.sinceUs === undefined ? 0 : index.lowerBound(q.sinceUs);
    hi = q.untilUs === undefined ? index.count : index.upperBound(q.untilUs);
  }

  const out: number[] = [];
  if (q.limit <= 0 || lo >= hi) return out;
  let toSkip = q.offset;
  const step = q.order === 'asc' ? 1 : -1;
  const listData = list?.data;
  for (let i = q.order === 'asc' ? lo : hi - 1; i >= lo && i < hi; i += step) {
    const pos = listData ? listData[i]! : i;
    if (typeFilter >= 0 && index.typeOf[pos] !== typeFilter) continue;
    if (entityFilter >= 0 && index.entityOf[pos] !== entityFilter) continue;
    if (tenantFilter >= 0 && index.tenantOf[pos] !== tenantFilter) continue;
    if (toSkip > 0) {
      toSkip--;
      continue;
    }
    out.push(pos);
    if (out.length >= q.limit) break;
  }
  return out;
}
