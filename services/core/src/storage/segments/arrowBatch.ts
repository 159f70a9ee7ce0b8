import * as arrow from 'apache-arrow';
import type { StoredEvent } from '../../events/storedEvent';

/**
 * Columns of a segment. Every event field is a column; payload and metadata are JSON text, so
 * any Parquet reader (DuckDB, pandas, Spark) gets the events back without a custom decoder.
 */
export const SEGMENT_COLUMNS = [
  'sequence',
  'id',
  'event_type',
  'entity_id',
  'tenant_id',
  'timestamp',
  'version',
  'payload',
  'metadata',
] as const;

/** Build a UTF-8 column straight into one buffer (no per-string Buffer objects). */
function utf8Column(values: (string | null)[]): arrow.Vector<arrow.Utf8> {
  const n = values.length;
  let capacity = 0;
  for (const v of values) if (v !== null) capacity += v.length * 3;
  const data = Buffer.allocUnsafe(Math.max(1, capacity));
  const offsets = new Int32Array(n + 1);
  let nulls = 0;
  const validity = new Uint8Array((n + 7) >> 3);
  let at = 0;
  for (let i = 0; i < n; i++) {
    offsets[i] = at;
    const v = values[i];
    if (v === null || v === undefined) {
      nulls++;
      continue;
    }
    validity[i >> 3]! |= 1 << (i & 7);
    at += data.write(v, at, 'utf8');
  }
  offsets[n] = at;
  const bytes = new Uint8Array(data.buffer, data.byteOffset, at);
  return arrow.makeVector(
    arrow.makeData({
      type: new arrow.Utf8(),
      length: n,
      nullCount: nulls,
      nullBitmap: nulls > 0 ? validity : null,
      valueOffsets: offsets,
      data: bytes,
    }),
  );
}

/** Arrow IPC stream of one record batch holding `events`, ready for the Parquet writer. */
export function eventsToArrowIpc(events: StoredEvent[]): Uint8Array {
  const n = events.length;
  const sequence = new BigInt64Array(n);
  const timestamp = new BigInt64Array(n);
  const version = new BigInt64Array(n);
  for (let i = 0; i < n; i++) {
    const e = events[i]!;
    sequence[i] = BigInt(e.lsn);
    timestamp[i] = BigInt(e.timestampUs);
    version[i] = BigInt(e.version);
  }
  const table = new arrow.Table({
    sequence: arrow.makeVector(sequence),
    id: utf8Column(events.map((e) => e.id)),
    event_type: utf8Column(events.map((e) => e.eventType)),
    entity_id: utf8Column(events.map((e) => e.entityId)),
    tenant_id: utf8Column(events.map((e) => e.tenantId)),
    timestamp: arrow.makeVector({ type: new arrow.TimestampMicrosecond('UTC'), data: timestamp }),
    version: arrow.makeVector(version),
    payload: utf8Column(events.map((e) => e.payloadJson)),
    metadata: utf8Column(events.map((e) => e.metadataJson)),
  });
  return arrow.tableToIPC(table, 'stream');
}

/**
 * Microseconds since the epoch at `row` of a timestamp column. Arrow's `get()` answers a
 * microsecond timestamp in (fractional) milliseconds, so the raw int64 value is read instead.
 */
export function timestampMicrosAt(vector: arrow.Vector, row: number): number {
  const type = vector.type as arrow.Timestamp;
  const perUnit = type.unit === arrow.TimeUnit.SECOND ? 1_000_000n : type.unit === arrow.TimeUnit.MILLISECOND ? 1000n : 1n;
  let r = row;
  for (const chunk of vector.data) {
    if (r < chunk.length) {
      const raw = (chunk.values as unknown as BigInt64Array)[r]!;
      return type.unit === arrow.TimeUnit.NANOSECOND ? Number(raw / 1000n) : Number(raw * perUnit);
    }
    r -= chunk.length;
  }
  throw new RangeError(`row ${row} is outside a column of ${vector.length} rows`);
}

/** Read the rows of a decoded segment table back into StoredEvents. */
export function rowToEvent(table: arrow.Table, row: number): StoredEvent {
  const col = (name: string) => table.getChild(name)!;
  return {
    lsn: Number(col('sequence').get(row)),
    id: col('id').get(row) as string,
    eventType: col('event_type').get(row) as string,
    entityId: col('entity_id').get(row) as string,
    tenantId: col('tenant_id').get(row) as string,
    timestampUs: timestampMicrosAt(col('timestamp'), row),
    version: Number(col('version').get(row)),
    payloadJson: col('payload').get(row) as string,
    metadataJson: (col('metadata').get(row) as string | null) ?? null,
  };
}
