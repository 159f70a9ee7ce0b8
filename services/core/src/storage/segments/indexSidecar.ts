import { crc32c } from '@node-rs/crc32';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { EventIndex } from '../index/eventIndex';

/**
 * The index sidecar of a segment: `<segment file>.idx`, the segment's index columns in a compact
 * binary form, so that start-up does not decode Parquet to rebuild the index. It is a cache,
 * never a source of truth:
 *
 * - written by recovery after it indexed a segment from its Parquet (lazily: a segment gets one
 *   the first time the store opens after it was written), through a temp file and a rename;
 * - used only when its own CRC-32C is right and it names the CRC-32C of the segment file next to
 *   it (which recovery still reads and checks against the manifest, as without a sidecar);
 * - missing, stale, corrupt or of another format version: ignored, and written again.
 *
 * Layout, little-endian: a header of 8 u32 (magic, version, segment CRC-32C, rows, distinct
 * entities, types, tenants, string bytes), the highest LSN (f64), then per row: timestamp µs
 * (f64), version (f64), id key high and low (u32, u32; both 0 with `hasId` 0: no UUID id),
 * entity, type, tenant (u32 numbers into the sidecar's own string table), hasId (u8); the
 * string table (u32 end offsets, then UTF-8), padded to 8 bytes; last, the CRC-32C (u32) of
 * everything before it.
 */

export const SIDECAR_SUFFIX = '.idx';
/** A sidecar being written; removed at start-up if a crash left one. */
export const SIDECAR_TEMP_SUFFIX = '.idx-tmp';

const MAGIC = 0x58495341; // 'ASIX'
const VERSION = 1;
const HEADER_BYTES = 8 * 4 + 8;

/** Per-row values recovery collects while indexing a segment from Parquet, for its sidecar. */
export class SidecarRows {
  readonly timestampUs: Float64Array;
  readonly version: Float64Array;
  readonly idHi: Uint32Array;
  readonly idLo: Uint32Array;
  readonly hasId: Uint8Array;
  readonly entity: Uint32Array;
  readonly type: Uint32Array;
  readonly tenant: Uint32Array;

  constructor(readonly rows: number) {
    this.timestampUs = new Float64Array(rows);
    this.version = new Float64Array(rows);
    this.idHi = new Uint32Array(rows);
    this.idLo = new Uint32Array(rows);
    this.hasId = new Uint8Array(rows);
    this.entity = new Uint32Array(rows);
    this.type = new Uint32Array(rows);
    this.tenant = new Uint32Array(rows);
  }
}

const align8 = (n: number): number => (n + 7) & ~7;

function layout(rows: number, strings: number, stringBytes: number) {
  let at = HEADER_BYTES;
  const f64 = (): number => {
    const o = at;
    at += rows * 8;
    return o;
  };
  const u32 = (count: number): number => {
    const o = at;
    at = align8(at + count * 4);
    return o;
  };
  const timestampUs = f64();
  const version = f64();
  const idHi = u32(rows);
  const idLo = u32(rows);
  const entity = u32(rows);
  const type = u32(rows);
  const tenant = u32(rows);
  const hasId = at;
  at = align8(at + rows);
  const stringEnds = u32(strings);
  const stringData = at;
  at = align8(at + stringBytes);
  return { timestampUs, version, idHi, idLo, entity, type, tenant, hasId, stringEnds, stringData, crc: at, total: at + 4 };
}

/**
 * The sidecar of a segment whose rows are `rows` (entity/type/tenant as the index's numbers),
 * whose file has CRC-32C `segmentCrc32c` and whose highest LSN is `maxLsn`.
 */
export function encodeSidecar(index: EventIndex, rows: SidecarRows, segmentCrc32c: number, maxLsn: number): Buffer {
  const n = rows.rows;
  // The segment's own string tables: index numbers → sidecar numbers, in order of first use.
  const remap = (dict: { valueOf(id: number): string }, column: Uint32Array): { numbers: Uint32Array; values: string[] } => {
    const numbers = new Uint32Array(n);
    const seen = new Map<number, number>();
    const values: string[] = [];
    for (let i = 0; i < n; i++) {
      let id = seen.get(column[i]!);
      if (id === undefined) {
        id = values.push(dict.valueOf(column[i]!)) - 1;
        seen.set(column[i]!, id);
      }
      numbers[i] = id;
    }
    return { numbers, values };
  };
  const { numbers: entity, values: entities } = remap(index.entities, rows.entity);
  const { numbers: type, values: types } = remap(index.types, rows.type);
  const { numbers: tenant, values: tenants } = remap(index.tenants, rows.tenant);
  const strings = [...entities, ...types, ...tenants];
  const counts = [entities.length, types.length, tenants.length];
  const encoded = strings.map((s) => Buffer.from(s, 'utf8'));
  const stringBytes = encoded.reduce((sum, b) => sum + b.length, 0);
  const l = layout(n, strings.length, stringBytes);
  const buf = Buffer.alloc(l.total);
  const ab = buf.buffer;
  const base = buf.byteOffset;
  new Uint32Array(ab, base, 8).set([MAGIC, VERSION, segmentCrc32c >>> 0, n, counts[0]!, counts[1]!, counts[2]!, stringBytes]);
  new Float64Array(ab, base + 32, 1)[0] = maxLsn;
  new Float64Array(ab, base + l.timestampUs, n).set(rows.timestampUs);
  new Float64Array(ab, base + l.version, n).set(rows.version);
  new Uint32Array(ab, base + l.idHi, n).set(rows.idHi);
  new Uint32Array(ab, base + l.idLo, n).set(rows.idLo);
  new Uint32Array(ab, base + l.entity, n).set(entity);
  new Uint32Array(ab, base + l.type, n).set(type);
  new Uint32Array(ab, base + l.tenant, n).set(tenant);
  new Uint8Array(ab, base + l.hasId, n).set(rows.hasId);
  const ends = new Uint32Array(ab, base + l.stringEnds, strings.length);
  let at = 0;
  encoded.forEach((b, i) => {
    buf.set(b, l.stringData + at);
    at += b.length;
    ends[i] = at;
  });
  buf.writeUInt32LE(crc32c(buf.subarray(0, l.crc)), l.crc);
  return buf;
}

/** A decoded sidecar: views into its bytes. */
export interface Sidecar {
  rows: number;
  maxLsn: number;
  timestampUs: Float64Array;
  version: Float64Array;
  idHi: Uint32Array;
  idLo: Uint32Array;
  hasId: Uint8Array;
  entity: Uint32Array;
  type: Uint32Array;
  tenant: Uint32Array;
  entities: string[];
  types: string[];
  tenants: string[];
}

/**
 * The sidecar in `bytes` if it is whole (its CRC-32C), of this format, and made from the segment
 * file whose CRC-32C is `segmentCrc32c`; otherwise why not (it is then ignored and rewritten).
 */
export function decodeSidecar(bytes: Buffer, segmentCrc32c: number): Sidecar | string {
  if (bytes.length < HEADER_BYTES + 4 || bytes.byteOffset % 8 !== 0) return 'too short or misaligned';
  const header = new Uint32Array(bytes.buffer, bytes.byteOffset, 8);
  if (header[0] !== MAGIC || header[1] !== VERSION) return 'not a sidecar of this format version';
  if (header[2] !== segmentCrc32c >>> 0) return 'made from another version of the segment file';
  const n = header[3]!;
  const strings = header[4]! + header[5]! + header[6]!;
  const l = layout(n, strings, header[7]!);
  if (l.total !== bytes.length) return 'its size does not match its header';
  if (crc32c(bytes.subarray(0, l.crc)) !== bytes.readUInt32LE(l.crc)) return 'checksum mismatch';
  const ab = bytes.buffer;
  const base = bytes.byteOffset;
  const ends = new Uint32Array(ab, base + l.stringEnds, strings);
  const table: string[] = new Array(strings);
  let from = 0;
  for (let i = 0; i < strings; i++) {
    table[i] = bytes.toString('utf8', l.stringData + from, l.stringData + ends[i]!);
    from = ends[i]!;
  }
  const result: Sidecar = {
    rows: n,
    maxLsn: new Float64Array(ab, base + 32, 1)[0]!,
    timestampUs: new Float64Array(ab, base + l.timestampUs, n),
    version: new Float64Array(ab, base + l.version, n),
    idHi: new Uint32Array(ab, base + l.idHi, n),
    idLo: new Uint32Array(ab, base + l.idLo, n),
    hasId: new Uint8Array(ab, base + l.hasId, n),
    entity: new Uint32Array(ab, base + l.entity, n),
    type: new Uint32Array(ab, base + l.type, n),
    tenant: new Uint32Array(ab, base + l.tenant, n),
    entities: table.slice(0, header[4]!),
    types: table.slice(header[4]!, header[4]! + header[5]!),
    tenants: table.slice(header[4]! + header[5]!),
  };
  // Every number must point into its table (a CRC-valid sidecar from a buggy writer must not
  // put undefined strings into the index).
  const check = (column: Uint32Array, size: number): boolean => {
    for (let i = 0; i < n; i++) if (column[i]! >= size) return false;
    return true;
  };
  if (!check(result.entity, result.entities.length) || !check(result.type, result.types.length) || !check(result.tenant, result.tenants.length)) {
    return 'a row names a string outside its table';
  }
  return result;
}

/** Add a sidecar's rows to the index at segment number `segment`; returns its highest LSN. */
export function addSidecarRows(index: EventIndex, sidecar: Sidecar, segment: number): number {
  const entities = Uint32Array.from(sidecar.entities, (s) => index.entities.intern(s));
  const types = Uint32Array.from(sidecar.types, (s) => index.types.intern(s));
  const tenants = Uint32Array.from(sidecar.tenants, (s) => index.tenants.intern(s));
  const { entity, type, tenant, timestampUs, version, hasId, idHi, idLo } = sidecar;
  for (let row = 0; row < sidecar.rows; row++) {
    const pos = index.addInterned(entities[entity[row]!]!, types[type[row]!]!, tenants[tenant[row]!]!, timestampUs[row]!, version[row]!, segment, row);
    if (hasId[row] === 1) index.addIdKey(idHi[row]!, idLo[row]!, pos);
  }
  return sidecar.maxLsn;
}

/** The sidecar file of segment `file` in `dir`, or undefined when there is none. */
export async function readSidecarFile(dir: string, file: string): Promise<Buffer | undefined> {
  try {
    const bytes = await fs.promises.readFile(path.join(dir, file + SIDECAR_SUFFIX));
    // Typed-array views need 8-byte alignment; a small file may sit at any offset of Node's pool.
    if (bytes.byteOffset % 8 === 0) return bytes;
    const copy = Buffer.alloc(bytes.length);
    bytes.copy(copy);
    return copy;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

/**
 * Write the sidecar of segment `file`: a temp file renamed over the old one. Not fsynced: a
 * sidecar torn by a power loss fails its checksum and is rebuilt.
 */
export async function writeSidecarFile(dir: string, file: string, bytes: Uint8Array): Promise<void> {
  const target = path.join(dir, file + SIDECAR_SUFFIX);
  const temp = path.join(dir, file + SIDECAR_TEMP_SUFFIX);
  await fs.promises.writeFile(temp, bytes);
  await fs.promises.rename(temp, target);
}
