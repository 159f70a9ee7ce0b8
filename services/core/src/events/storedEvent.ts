/**
 * An event as the engine keeps it. Payload and metadata stay JSON text: they are written to the
 * WAL and to Parquet as text and spliced into answers without being parsed again.
 */
export interface StoredEvent {
  /** Log sequence number: global ingest order, strictly increasing (gaps allowed). */
  lsn: number;
  id: string;
  eventType: string;
  entityId: string;
  tenantId: string;
  /** Microseconds since the Unix epoch. Non-decreasing in LSN order. */
  timestampUs: number;
  version: number;
  payloadJson: string;
  /** `null` when the event has no metadata. */
  metadataJson: string | null;
}

/** What a writer hands to the engine: the engine assigns id, LSN, timestamp and version. */
export interface NewEvent {
  eventType: string;
  entityId: string;
  tenantId: string;
  payloadJson: string;
  metadataJson: string | null;
  /** The entity's version the writer expects (0: no events yet). */
  expectedVersion?: number | undefined;
}

/** Approximate in-memory/on-disk cost of an event, used for flush and cache bounds. */
export function eventBytes(e: StoredEvent): number {
  return 120 + e.eventType.length + e.entityId.length + e.tenantId.length + e.payloadJson.length + (e.metadataJson?.length ?? 0);
}
