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

/**
 * Build a UTF-8 column. The values are joined and encoded in one call; when the text is ASCII
 * (byte length = string length, the usual case: ids, types, JSON of ASCII data) the offsets are
 * the string lengths. Otherwise each value is encoded on its own to learn its byte length.
 */
function utf8Column(values: (string | null)[]): arrow.Vector<arrow.Utf8> {
  const n = values.length;
  const offsets = new Int32Array(n + 1);
  const validity = new Uint8Array((n + 7) >> 3);
  let nulls = 0;
  let text = '';
  for (let i = 0; i < n; i++) {
    offsets[i] = text.length;
    const v = values[i];
    if (v === null || v === undefined) {
      nulls++;
      continue;
    }
    validity[i >> 3]! |= 1 << (i & 7);
    text += v;
  }
  offsets[n] = text.length;
  let data = Buffer.allocUnsafe(Math.max(1, text.length * 3));
  let bytes = data.write(text, 0, 'utf8');
  if (bytes !== text.length) {
    let at = 0;
    for (let i = 0; i < n; i++) {
      offsets[i] = at;
      const v = values[i];
      if (v !== null && v !== undefined) at += data.write(v, at, 'utf8');
    }
    offsets[n] = at;
    bytes = at;
  }
  data = data.subarray(0, bytes);
  return arrow.makeVector(
    arrow.makeData({
      type: new arrow.Utf8(),
      length: n,
      nullCount: nulls,
      nullBitmap: nulls > 0 ? validity : null,
      valueOffsets: offsets,
      data: new Uint8Array(data.buffer, data.byteOffset, bytes),
    }),
  );
}

/**
 * An int64 column of non-negative safe integers, written as two 32-bit halves (no BigInt made
 * per value).
 */
function int64Values(n: number, valueAt: (i: number) => number): BigInt64Array {
  const words = new Uint32Array(n * 2);
  for (let i = 0; i < n; i++) {
    const v = valueAt(i);
    words[i * 2] = v >>> 0;
    words[i * 2 + 1] = Math.floor(v / 0x1_0000_0000);
  }
  return new BigInt64Array(words.buffer);
}

/**
 * Rows per record batch when a flush builds its columns. Building runs on the event loop (about
 * 0.7 µs an event): a 50,000-event flush in one go would stall every request for 30-50 ms, so
 * the columns are built a slice at a time with a turn of the event loop in between. A multiple
 * of the row-group size, so the Parquet row groups come out the same.
 */
export const FLUSH_SLICE_ROWS = 4096;

const nextTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/**
 * Arrow IPC stream of `events`, ready for the Parquet writer: one record batch per
 * `FLUSH_SLICE_ROWS` events, all with the same schema, built with `pause()` awaited between them.
 */
export async function eventsToArrowIpc(events: StoredEvent[], pause: () => Promise<void> = nextTurn): Promise<Uint8Array> {
  const writer = new arrow.RecordBatchStreamWriter();
  let start = 0;
  do {
    if (start > 0) await pause();
    // Batch by batch: writing a whole Table would finish the stream.
    for (const batch of eventsTable(events.slice(start, start + FLUSH_SLICE_ROWS)).batches) writer.write(batch);
    start += FLUSH_SLICE_ROWS;
  } while (start < events.length);
  writer.finish();
  return writer.toUint8Array(true);
}

/** One record batch of `events`; every call gives the same schema (Utf8 columns are nullable). */
function eventsTable(events: StoredEvent[]): arrow.Table {
  const n = events.length;
  return new arrow.Table({
    sequence: arrow.makeVector(int64Values(n, (i) => events[i]!.lsn)),
    id: utf8Column(events.map((e) => e.id)),
    event_type: utf8Column(events.map((e) => e.eventType)),
    entity_id: utf8Column(events.map((e) => e.entityId)),
    tenant_id: utf8Column(events.map((e) => e.tenantId)),
    timestamp: arrow.makeVector({ type: new arrow.TimestampMicrosecond('UTC'), data: int64Values(n, (i) => events[i]!.timestampUs) }),
    version: arrow.makeVector(int64Values(n, (i) => events[i]!.version)),
    payload: utf8Column(events.map((e) => e.payloadJson)),
    metadata: utf8Column(events.map((e) => e.metadataJson)),
  });
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
