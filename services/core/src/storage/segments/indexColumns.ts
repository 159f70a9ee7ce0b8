import * as arrow from 'apache-arrow';
import { ByteInterner } from '../index/byteInterner';
import type { EventIndex } from '../index/eventIndex';
import { uuidKeyOfUtf8 } from '../index/idTable';
import type { SidecarRows } from './indexSidecar';

/** The columns of a segment the index is rebuilt from at start-up (no payloads). */
export const INDEX_COLUMNS = ['sequence', 'id', 'event_type', 'entity_id', 'tenant_id', 'timestamp', 'version'] as const;

const TWO_32 = 4294967296;

/** A UTF-8 column of one record batch: value i is `bytes[offsets[i]..offsets[i + 1])`. */
interface Utf8Part {
  offsets: Int32Array;
  bytes: Uint8Array;
}

/** The index columns of one record batch, as raw Arrow buffers. Int64 values are (low, high) word pairs. */
interface IndexBatch {
  rows: number;
  sequence: Int32Array;
  id: Utf8Part;
  eventType: Utf8Part;
  entityId: Utf8Part;
  tenantId: Utf8Part;
  timestamp: Int32Array;
  /** Multiplier from the timestamp column's unit to microseconds (0: nanoseconds, divided instead). */
  timestampPerUnit: number;
  version: Int32Array;
}

/** Interners for one recovery (see `ByteInterner`): entity ids, event types and tenants repeat. */
export interface IndexInterners {
  entities: ByteInterner;
  types: ByteInterner;
  tenants: ByteInterner;
}

export function indexInterners(index: EventIndex): IndexInterners {
  return { entities: new ByteInterner(index.entities), types: new ByteInterner(index.types), tenants: new ByteInterner(index.tenants) };
}

/**
 * The index columns of a decoded segment, checked in full (types, no nulls) before any row is
 * added, so that a segment is indexed whole or not at all. Throws on anything unexpected.
 */
export function indexColumnsOf(table: arrow.Table): IndexBatch[] {
  const batches: IndexBatch[] = [];
  for (const batch of table.batches) {
    const child = (name: string): arrow.Data => {
      const vector = batch.getChild(name);
      if (!vector) throw new Error(`the segment has no '${name}' column`);
      if (vector.data.length !== 1) throw new Error(`column '${name}' is not one chunk per record batch`);
      const data = vector.data[0]!;
      if (data.nullCount > 0) throw new Error(`column '${name}' holds nulls`);
      return data;
    };
    const int64 = (name: string): Int32Array => {
      const data = child(name);
      if (!arrow.DataType.isInt(data.type) || data.type.bitWidth !== 64) throw new Error(`column '${name}' is ${String(data.type)}, not Int64`);
      return int64Words(data);
    };
    const utf8 = (name: string): Utf8Part => {
      const data = child(name);
      if (!arrow.DataType.isUtf8(data.type)) throw new Error(`column '${name}' is ${String(data.type)}, not Utf8`);
      return { offsets: data.valueOffsets.subarray(data.offset, data.offset + data.length + 1), bytes: data.values as Uint8Array };
    };
    const ts = child('timestamp');
    if (!arrow.DataType.isTimestamp(ts.type)) throw new Error(`column 'timestamp' is ${String(ts.type)}, not a timestamp`);
    const unit = (ts.type as arrow.Timestamp).unit;
    batches.push({
      rows: batch.numRows,
      sequence: int64('sequence'),
      id: utf8('id'),
      eventType: utf8('event_type'),
      entityId: utf8('entity_id'),
      tenantId: utf8('tenant_id'),
      timestamp: int64Words(ts),
      timestampPerUnit: unit === arrow.TimeUnit.SECOND ? 1_000_000 : unit === arrow.TimeUnit.MILLISECOND ? 1000 : unit === arrow.TimeUnit.MICROSECOND ? 1 : 0,
      version: int64('version'),
    });
  }
  return batches;
}

/** An Int64-wide column's values as 32-bit words (little-endian: low word first). */
export function int64Words(data: arrow.Data): Int32Array {
  const values = data.values as unknown as BigInt64Array;
  return new Int32Array(values.buffer, values.byteOffset + data.offset * 8, data.length * 2);
}

/** Value `row` of an Int64 column's words (exact up to 2^53). */
export function int64At(words: Int32Array, row: number): number {
  return words[2 * row + 1]! * TWO_32 + (words[2 * row]! >>> 0);
}

/**
 * Add every row of a segment's index columns to the index, at segment number `segment`, rows
 * numbered from 0 in file order. Values are taken straight from the Arrow buffers: strings are
 * interned from their bytes, ids keyed from their bytes (they were checked when first stored).
 * Returns the highest LSN (0 for an empty segment). With `sidecar`, each row's index values are
 * also put there (for the segment's index sidecar).
 */
export function addSegmentRows(index: EventIndex, batches: IndexBatch[], segment: number, interners: IndexInterners, sidecar?: SidecarRows): number {
  const key = new Uint32Array(2);
  let maxLsn = 0;
  let row = 0;
  for (const b of batches) {
    const { id, eventType, entityId, tenantId } = b;
    for (let i = 0; i < b.rows; i++, row++) {
      const entity = interners.entities.intern(entityId.bytes, entityId.offsets[i]!, entityId.offsets[i + 1]!);
      const type = interners.types.intern(eventType.bytes, eventType.offsets[i]!, eventType.offsets[i + 1]!);
      const tenant = interners.tenants.intern(tenantId.bytes, tenantId.offsets[i]!, tenantId.offsets[i + 1]!);
      const raw = int64At(b.timestamp, i);
      const timestampUs = b.timestampPerUnit === 0 ? nanosToMicros(b.timestamp, i) : raw * b.timestampPerUnit;
      const version = int64At(b.version, i);
      const pos = index.addInterned(entity, type, tenant, timestampUs, version, segment, row);
      const idAt = id.offsets[i]!;
      const hasId = id.offsets[i + 1]! - idAt === 36 && uuidKeyOfUtf8(id.bytes, idAt, key);
      if (hasId) index.addIdKey(key[0]!, key[1]!, pos);
      if (sidecar) {
        sidecar.timestampUs[row] = timestampUs;
        sidecar.version[row] = version;
        sidecar.entity[row] = entity;
        sidecar.type[row] = type;
        sidecar.tenant[row] = tenant;
        if (hasId) {
          sidecar.hasId[row] = 1;
          sidecar.idHi[row] = key[0]!;
          sidecar.idLo[row] = key[1]!;
        }
      }
      const lsn = int64At(b.sequence, i);
      if (lsn > maxLsn) maxLsn = lsn;
    }
  }
  return maxLsn;
}

function nanosToMicros(words: Int32Array, row: number): number {
  const raw = (BigInt(words[2 * row + 1]!) << 32n) | BigInt(words[2 * row]! >>> 0);
  return Number(raw / 1000n);
}
