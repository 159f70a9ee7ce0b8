import type { StoredEvent } from '../events/storedEvent';
import type { EventIndex } from './index/eventIndex';
import { stringAt, type RowGroupColumns } from './segments/segmentReader';

/**
 * What `EventStore.visitPositions` hands each event to, in the order asked. An event still in
 * the write buffer comes as the object it is; a flushed one as its row in a cached row group,
 * with event type, entity, tenant and timestamp in the index at `position`. Reading the columns
 * instead of building an object lets an answer copy the stored bytes as they are.
 */
export interface EventVisitor {
  buffered(event: StoredEvent, position: number): void;
  stored(columns: RowGroupColumns, row: number, position: number): void;
}

/** A flushed event as an object: its row's columns, and what the index holds at its position. */
export function storedEventAt(columns: RowGroupColumns, row: number, index: EventIndex, position: number): StoredEvent {
  return {
    lsn: columns.lsn[row]!,
    id: stringAt(columns.id, row)!,
    eventType: index.types.values[index.typeOf[position]!]!,
    entityId: index.entities.values[index.entityOf[position]!]!,
    tenantId: index.tenants.values[index.tenantOf[position]!]!,
    timestampUs: index.timestampUs[position]!,
    version: columns.version[row]!,
    payloadJson: stringAt(columns.payload, row)!,
    metadataJson: stringAt(columns.metadata, row),
  };
}
