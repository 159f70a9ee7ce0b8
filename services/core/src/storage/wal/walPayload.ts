import { EVENT_ID_BYTES, idsToText } from '../../events/eventIds';
import { jsonString } from '../../events/jsonText';
import type { StoredEvent } from '../../events/storedEvent';

/**
 * What one WAL record holds: the events of one append.
 *
 * Binary layout (first byte 0xA2), little-endian:
 *
 * | offset    | what                                                                    |
 * |-----------|-------------------------------------------------------------------------|
 * | 0         | u8 0xA2, then 3 zero bytes                                              |
 * | 4         | u32 event count n                                                       |
 * | 8         | u32 byte length of the text block                                       |
 * | 12        | u32 zero                                                                |
 * | 16        | f64 × 3n: LSN, timestamp (µs), version of each event                    |
 * | 16 + 24n  | 16 bytes × n: event ids (UUID bytes)                                    |
 * | 16 + 40n  | u32 × 5n: UTF-16 lengths of event type, entity, tenant, payload, metadata (0xFFFFFFFF: no metadata) |
 * | 16 + 60n  | text block: those strings back to back, UTF-8                           |
 *
 * Numbers and ids need no formatting and the strings are encoded once per record, not once a
 * field; reading a record back is a slice per string instead of `JSON.parse` plus a
 * re-serialisation of every payload. The strings are cut back out by their UTF-16 lengths,
 * which a UTF-8 round trip keeps exactly when the text is well formed; a record whose text is
 * not (a lone surrogate, which validated input never holds) is written in the older JSON form.
 *
 * JSON layout (first byte `[`): an array of `{l,i,t,y,e,n,v,p,m}` objects with the payload
 * embedded as JSON. Written by earlier versions and for ill-formed text; always readable.
 */
export const BINARY_MAGIC = 0xa2;
const HEADER_BYTES = 16;
const FIXED_BYTES_PER_EVENT = 24 + EVENT_ID_BYTES + 20;
const NO_METADATA = 0xffffffff;

/**
 * Encode events whose ids are the `EVENT_ID_BYTES`-byte runs of `idBytes`, in order. With
 * `headroom`, the payload starts that many bytes into the returned buffer (room for the WAL
 * record's header, so the record is not copied again), and the buffer is exactly as long as
 * needed: it may be kept as is until the events are flushed.
 */
export function encodeWalPayload(events: readonly StoredEvent[], idBytes: Uint8Array, headroom = 0): Buffer {
  const n = events.length;
  const numbers = new Float64Array(n * 3);
  const lengths = new Uint32Array(n * 5);
  let text = '';
  for (let i = 0; i < n; i++) {
    const e = events[i]!;
    numbers[i * 3] = e.lsn;
    numbers[i * 3 + 1] = e.timestampUs;
    numbers[i * 3 + 2] = e.version;
    lengths[i * 5] = e.eventType.length;
    lengths[i * 5 + 1] = e.entityId.length;
    lengths[i * 5 + 2] = e.tenantId.length;
    lengths[i * 5 + 3] = e.payloadJson.length;
    text += e.eventType + e.entityId + e.tenantId + e.payloadJson;
    if (e.metadataJson === null) {
      lengths[i * 5 + 4] = NO_METADATA;
    } else {
      lengths[i * 5 + 4] = e.metadataJson.length;
      text += e.metadataJson;
    }
  }
  if (!(text as unknown as { isWellFormed(): boolean }).isWellFormed()) {
    const json = encodeJsonPayload(events);
    if (headroom === 0) return json;
    const framed = Buffer.allocUnsafe(headroom + json.length);
    json.copy(framed, headroom);
    return framed;
  }

  // The exact size: an estimate of 3 bytes a character allocated ~3× the record for ASCII text,
  // memory outside the heap whose churn started a scavenge every few batches.
  const textBytes = Buffer.byteLength(text, 'utf8');
  const fixed = headroom + HEADER_BYTES + n * FIXED_BYTES_PER_EVENT;
  const out = Buffer.allocUnsafe(fixed + textBytes);
  out.writeUInt32LE(BINARY_MAGIC, headroom);
  out.writeUInt32LE(n, headroom + 4);
  out.writeUInt32LE(textBytes, headroom + 8);
  out.writeUInt32LE(0, headroom + 12);
  out.set(new Uint8Array(numbers.buffer), headroom + HEADER_BYTES);
  out.set(idBytes.subarray(0, n * EVENT_ID_BYTES), headroom + HEADER_BYTES + n * 24);
  out.set(new Uint8Array(lengths.buffer), headroom + HEADER_BYTES + n * (24 + EVENT_ID_BYTES));
  out.write(text, fixed, 'utf8');
  return out;
}

/** The JSON form (see above). */
export function encodeJsonPayload(events: readonly StoredEvent[]): Buffer {
  let json = '[';
  for (let i = 0; i < events.length; i++) {
    const e = events[i]!;
    if (i > 0) json += ',';
    json +=
      `{"l":${e.lsn},"i":"${e.id}","t":${e.timestampUs},"y":${jsonString(e.eventType)},` +
      `"e":${jsonString(e.entityId)},"n":${jsonString(e.tenantId)},"v":${e.version},` +
      `"p":${e.payloadJson},"m":${e.metadataJson ?? 'null'}}`;
  }
  json += ']';
  return Buffer.from(json, 'utf8');
}

export interface DecodedWalPayload {
  events: StoredEvent[];
  /** Id bytes of the events (binary records), for the index's id keys; absent for JSON records. */
  idBytes?: Uint8Array;
}

/** Decode a record of either layout. Throws on a record that is not one (it passed its checksum). */
export function decodeWalPayload(payload: Buffer): DecodedWalPayload {
  if (payload[0] !== BINARY_MAGIC) return { events: decodeJsonPayload(payload) };
  const malformed = (why: string): never => {
    throw new Error(`malformed WAL record: ${why}`);
  };
  if (payload.length < HEADER_BYTES) malformed('shorter than its header');
  const n = payload.readUInt32LE(4);
  const textBytes = payload.readUInt32LE(8);
  const fixed = HEADER_BYTES + n * FIXED_BYTES_PER_EVENT;
  if (fixed + textBytes !== payload.length) malformed(`${n} events and ${textBytes} text bytes do not fill ${payload.length} bytes`);
  const text = payload.toString('utf8', fixed, payload.length);
  const idsAt = HEADER_BYTES + n * 24;
  const ids = idsToText(payload, n, idsAt);
  const events = new Array<StoredEvent>(n);
  let at = 0;
  const cut = (length: number): string => {
    const end = at + length;
    if (end > text.length) malformed('string lengths run past the text');
    const s = text.slice(at, end);
    at = end;
    return s;
  };
  for (let i = 0; i < n; i++) events[i] = eventOf(payload, n, i, ids[i]!, cut);
  if (at !== text.length) malformed('text left over after the last event');
  return { events, idBytes: payload.subarray(idsAt, idsAt + n * EVENT_ID_BYTES) };
}

interface JsonWalEvent {
  l: number;
  i: string;
  t: number;
  y: string;
  e: string;
  n: string;
  v: number;
  p: unknown;
  m: unknown;
}

function decodeJsonPayload(payload: Buffer): StoredEvent[] {
  const raw = JSON.parse(payload.toString('utf8')) as JsonWalEvent[];
  return raw.map((r) => ({
    lsn: r.l,
    id: r.i,
    eventType: r.y,
    entityId: r.e,
    tenantId: r.n,
    timestampUs: r.t,
    version: r.v,
    // Re-serialising parsed JSON.stringify output gives back the same text.
    payloadJson: JSON.stringify(r.p),
    metadataJson: r.m === null ? null : JSON.stringify(r.m),
  }));
}

/**
 * One event of a binary record, decoded on its own (a read of an event still in the buffer, which
 * keeps large appends only as their records). `layout` is that record's `RecordLayout`, made once
 * and kept with it.
 */
export function decodeWalEvent(payload: Uint8Array, k: number, layout: RecordLayout): StoredEvent {
  const view = Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength);
  const start = layout.textAt + layout.byteOffsets[k]!;
  const end = layout.textAt + layout.byteOffsets[k + 1]!;
  // The event's strings back to back; all-ASCII text decodes the same as latin1, only faster.
  const text = view.toString(layout.ascii ? 'latin1' : 'utf8', start, end);
  let at = 0;
  const cut = (length: number): string => text.slice(at, (at += length));
  return eventOf(view, layout.n, k, idsToText(view, 1, HEADER_BYTES + layout.n * 24 + k * EVENT_ID_BYTES)[0]!, cut);
}

/** Event `k` of a binary record of `n` events: its numbers read here, its strings by `cut` (given each one's UTF-16 length, in order). */
function eventOf(view: Buffer, n: number, k: number, id: string, cut: (length: number) => string): StoredEvent {
  const num = HEADER_BYTES + k * 24;
  const len = HEADER_BYTES + n * (24 + EVENT_ID_BYTES) + k * 20;
  const eventType = cut(view.readUInt32LE(len));
  const entityId = cut(view.readUInt32LE(len + 4));
  const tenantId = cut(view.readUInt32LE(len + 8));
  const payloadJson = cut(view.readUInt32LE(len + 12));
  const metadataLength = view.readUInt32LE(len + 16);
  return {
    lsn: view.readDoubleLE(num),
    id,
    eventType,
    entityId,
    tenantId,
    timestampUs: view.readDoubleLE(num + 8),
    version: view.readDoubleLE(num + 16),
    payloadJson,
    metadataJson: metadataLength === NO_METADATA ? null : cut(metadataLength),
  };
}

/** LSN of event `k` of a binary record (no decoding). */
export function walEventLsn(payload: Uint8Array, k: number): number {
  return Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength).readDoubleLE(HEADER_BYTES + k * 24);
}

/** Where each event's strings lie in a binary record's text block, for decoding one event alone. */
export interface RecordLayout {
  n: number;
  /** Byte offset of the text block in the payload. */
  textAt: number;
  /** Byte offset of each event's first string in the text block, n + 1 of them (4 bytes an event). */
  byteOffsets: Uint32Array;
  /** Whether the text is all ASCII (as many bytes as UTF-16 units). */
  ascii: boolean;
}

export function recordLayout(payload: Uint8Array): RecordLayout {
  const view = Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength);
  const n = view.readUInt32LE(4);
  const textBytes = view.readUInt32LE(8);
  const textAt = HEADER_BYTES + n * FIXED_BYTES_PER_EVENT;
  const lengthsAt = HEADER_BYTES + n * (24 + EVENT_ID_BYTES);
  // UTF-16 units of each event's strings.
  const offsets = new Uint32Array(n + 1);
  let units = 0;
  for (let i = 0; i < n; i++) {
    offsets[i] = units;
    const l = lengthsAt + i * 20;
    units += view.readUInt32LE(l) + view.readUInt32LE(l + 4) + view.readUInt32LE(l + 8) + view.readUInt32LE(l + 12);
    const metadata = view.readUInt32LE(l + 16);
    if (metadata !== NO_METADATA) units += metadata;
  }
  offsets[n] = units;
  // UTF-8 takes one byte for an ASCII character and more for any other (which are 1 or 2 units):
  // then unit offsets are byte offsets.
  if (units === textBytes) return { n, textAt, byteOffsets: offsets, ascii: true };
  // Otherwise each event's bytes are counted once, from the text decoded for the purpose (not kept).
  const text = view.toString('utf8', textAt, textAt + textBytes);
  const byteOffsets = new Uint32Array(n + 1);
  for (let i = 0; i < n; i++) byteOffsets[i + 1] = byteOffsets[i]! + Buffer.byteLength(text.slice(offsets[i], offsets[i + 1]), 'utf8');
  return { n, textAt, byteOffsets, ascii: false };
}
