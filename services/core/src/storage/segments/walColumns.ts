import type * as Arrow from 'apache-arrow';

/**
 * Segment columns built straight from binary WAL records (walPayload.ts), on the Parquet worker.
 *
 * A flush used to rebuild every string of its events on the event loop (joined, encoded to UTF-8
 * a second time after the WAL record) and build the Arrow columns there. The WAL record already
 * holds the numbers, the id bytes and the text as UTF-8, so the worker can cut the columns out
 * of it with byte copies instead; the event loop only gathers the records' bytes.
 *
 * Both functions run in the worker from their source text (`fn.toString()`, see
 * parquetWriterPool.ts): they must stay self-contained, using only their arguments and globals
 * (no imports, no module constants; the record layout's numbers are restated here for that).
 */

/** Where a flush's events are: `count` events from event `skip` of the record at `offset`, `length` bytes. */
export interface WalSlices {
  /** The records' bytes back to back. */
  bytes: Uint8Array;
  /** Four numbers a record: offset in `bytes`, length, first event used (skip), events used (count). */
  slices: Int32Array;
}

export interface Utf8ColumnData {
  offsets: Int32Array;
  data: Uint8Array;
  /** Validity bitmap, or null when nothing is null. */
  validity: Uint8Array | null;
  nullCount: number;
}

export interface SegmentColumnData {
  rows: number;
  /** int64 columns as little-endian 32-bit halves (BigInt64Array's memory). */
  sequence: Uint32Array;
  timestamp: Uint32Array;
  version: Uint32Array;
  id: Utf8ColumnData;
  eventType: Utf8ColumnData;
  entityId: Utf8ColumnData;
  tenantId: Utf8ColumnData;
  payload: Utf8ColumnData;
  metadata: Utf8ColumnData;
}

/**
 * The segment columns of the events `slices` names. Throws on a record that is not in the binary
 * layout or whose lengths do not fit (a flush then fails, and its events stay where they are).
 */
export function walRecordsToColumns(input: WalSlices): SegmentColumnData {
  const HEADER = 16;
  const ID_BYTES = 16;
  const FIXED_PER_EVENT = 24 + ID_BYTES + 20;
  const NO_METADATA = 0xffffffff;
  const { bytes, slices } = input;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const fail = (why: string): never => {
    throw new Error(`WAL record cannot be turned into segment columns: ${why}`);
  };

  let rows = 0;
  for (let s = 0; s < slices.length; s += 4) rows += slices[s + 3]!;
  const sequence = new Uint32Array(rows * 2);
  const timestamp = new Uint32Array(rows * 2);
  const version = new Uint32Array(rows * 2);
  const idData = new Uint8Array(rows * 36);
  const idOffsets = new Int32Array(rows + 1);
  // Per text column (type, entity, tenant, payload, metadata): offsets, then bytes.
  const offsets = [new Int32Array(rows + 1), new Int32Array(rows + 1), new Int32Array(rows + 1), new Int32Array(rows + 1), new Int32Array(rows + 1)];
  const metadataValidity = new Uint8Array((rows + 7) >> 3);
  let metadataNulls = 0;
  // Where each row's text starts in `bytes` (its event type; the other strings follow it).
  const textAt = new Float64Array(rows);
  const hex = new Uint8Array(512);
  for (let b = 0; b < 256; b++) {
    const s = b.toString(16).padStart(2, '0');
    hex[b * 2] = s.charCodeAt(0);
    hex[b * 2 + 1] = s.charCodeAt(1);
  }

  // UTF-8 bytes of `units` UTF-16 code units of well-formed text starting at byte `at`.
  const utf8Span = (at: number, units: number, end: number): number => {
    let p = at;
    let u = 0;
    while (u < units) {
      if (p >= end) fail('a string runs past the text');
      const lead = bytes[p]!;
      if (lead < 0x80) {
        p += 1;
        u += 1;
      } else if (lead < 0xe0) {
        p += 2;
        u += 1;
      } else if (lead < 0xf0) {
        p += 3;
        u += 1;
      } else {
        p += 4;
        u += 2;
      }
    }
    if (u !== units) fail('a string ends inside a character');
    return p - at;
  };

  // Pass 1: numbers, ids, every string's byte length (offsets), and where each row's text is.
  let row = 0;
  const ends = [0, 0, 0, 0, 0];
  for (let s = 0; s < slices.length; s += 4) {
    const base = slices[s]!;
    const length = slices[s + 1]!;
    const skip = slices[s + 2]!;
    const count = slices[s + 3]!;
    if (length < HEADER || bytes[base] !== 0xa2) fail('not a binary record');
    const n = view.getUint32(base + 4, true);
    const textBytes = view.getUint32(base + 8, true);
    const textStart = base + HEADER + n * FIXED_PER_EVENT;
    const textEnd = textStart + textBytes;
    if (textEnd !== base + length || skip + count > n) fail(`${n} events and ${textBytes} text bytes do not fill ${length} bytes`);
    const lengthsAt = base + HEADER + n * (24 + ID_BYTES);
    // ASCII text (the usual case) has one byte a code unit: no need to walk the bytes.
    let units = 0;
    for (let i = 0; i < n * 5; i++) {
      const v = view.getUint32(lengthsAt + i * 4, true);
      if (v !== NO_METADATA) units += v;
    }
    const ascii = units === textBytes;
    let at = textStart;
    for (let i = 0; i < skip + count; i++) {
      const used = i >= skip;
      if (used) textAt[row] = at;
      for (let c = 0; c < 5; c++) {
        const u = view.getUint32(lengthsAt + (i * 5 + c) * 4, true);
        let b = 0;
        if (u === NO_METADATA) {
          if (c !== 4) fail('only metadata may be absent');
          if (used) metadataNulls++;
        } else {
          b = ascii ? u : utf8Span(at, u, textEnd);
          if (used && c === 4) metadataValidity[row >> 3]! |= 1 << (row & 7);
        }
        at += b;
        if (at > textEnd) fail('string lengths run past the text');
        if (used) {
          ends[c]! += b;
          offsets[c]![row + 1] = ends[c]!;
        }
      }
      if (i === n - 1 && at !== textEnd) fail('text left over after the last event');
      if (!used) continue;
      const num = base + HEADER + i * 24;
      for (let k = 0; k < 3; k++) {
        const v = view.getFloat64(num + k * 8, true);
        const words = k === 0 ? sequence : k === 1 ? timestamp : version;
        words[row * 2] = v >>> 0;
        words[row * 2 + 1] = Math.floor(v / 0x1_0000_0000);
      }
      // UUID text, 8-4-4-4-12 lowercase hex, as the engine writes ids everywhere else.
      const idAt = base + HEADER + n * 24 + i * ID_BYTES;
      let t = row * 36;
      for (let k = 0; k < ID_BYTES; k++) {
        if (k === 4 || k === 6 || k === 8 || k === 10) idData[t++] = 45;
        const v = bytes[idAt + k]!;
        idData[t++] = hex[v * 2]!;
        idData[t++] = hex[v * 2 + 1]!;
      }
      idOffsets[row + 1] = t;
      row++;
    }
  }

  // Pass 2: copy each string's bytes into its column.
  const data = ends.map((total) => new Uint8Array(Math.max(1, total)));
  for (let r = 0; r < rows; r++) {
    let from = textAt[r]!;
    for (let c = 0; c < 5; c++) {
      const o = offsets[c]!;
      const start = o[r]!;
      const len = o[r + 1]! - start;
      const out = data[c]!;
      if (len > 48) {
        out.set(bytes.subarray(from, from + len), start);
      } else {
        for (let k = 0; k < len; k++) out[start + k] = bytes[from + k]!;
      }
      from += len;
    }
  }

  const column = (c: number, validity: Uint8Array | null, nullCount: number): Utf8ColumnData => ({
    offsets: offsets[c]!,
    data: data[c]!.subarray(0, ends[c]!),
    validity: nullCount > 0 ? validity : null,
    nullCount,
  });
  return {
    rows,
    sequence,
    timestamp,
    version,
    id: { offsets: idOffsets, data: idData, validity: null, nullCount: 0 },
    eventType: column(0, null, 0),
    entityId: column(1, null, 0),
    tenantId: column(2, null, 0),
    payload: column(3, null, 0),
    metadata: column(4, metadataValidity, metadataNulls),
  };
}

/**
 * One Arrow table of the columns, with the schema every segment has (see arrowBatch.ts:
 * int64 sequence and version, UTC microsecond timestamp, nullable UTF-8 strings). `arrow` is the
 * apache-arrow module, passed in so the function stays self-contained.
 */
export function segmentColumnsToTable(arrow: typeof Arrow, cols: SegmentColumnData): Arrow.Table {
  const n = cols.rows;
  const utf8 = (c: Utf8ColumnData): Arrow.Vector =>
    arrow.makeVector(
      arrow.makeData({
        type: new arrow.Utf8(),
        length: n,
        nullCount: c.nullCount,
        nullBitmap: c.validity,
        valueOffsets: c.offsets,
        data: c.data,
      }),
    );
  const int64 = (words: Uint32Array): BigInt64Array => new BigInt64Array(words.buffer, words.byteOffset, n);
  return new arrow.Table({
    sequence: arrow.makeVector(int64(cols.sequence)),
    id: utf8(cols.id),
    event_type: utf8(cols.eventType),
    entity_id: utf8(cols.entityId),
    tenant_id: utf8(cols.tenantId),
    timestamp: arrow.makeVector({ type: new arrow.TimestampMicrosecond('UTC'), data: int64(cols.timestamp) }),
    version: arrow.makeVector(int64(cols.version)),
    payload: utf8(cols.payload),
    metadata: utf8(cols.metadata),
  });
}
