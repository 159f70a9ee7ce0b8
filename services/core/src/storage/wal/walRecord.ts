import { crc32c } from '@node-rs/crc32';

/**
 * WAL record: `[u32 LE payload length][u32 LE crc32c][payload]`. The checksum covers the
 * length field and the payload, so a flipped bit anywhere in the record, a torn write or a
 * garbage length is detected.
 */
export const RECORD_HEADER_BYTES = 8;
/** A length beyond this is treated as corruption rather than an allocation request. */
export const MAX_RECORD_BYTES = 256 * 1024 * 1024;

/** CRC-32C (Castagnoli, reflected) byte table, for the record's 4-byte length field. */
const CRC32C_TABLE = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0x82f63b78 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

/** CRC-32C of the little-endian bytes of `length`, as `crc32c` would give for those 4 bytes. */
function crc32cOfLength(length: number): number {
  let crc = 0xffffffff;
  for (let shift = 0; shift < 32; shift += 8) crc = CRC32C_TABLE[(crc ^ (length >>> shift)) & 0xff]! ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}

/**
 * The record's checksum: CRC-32C of its length field followed by its payload. The length's four
 * bytes are done here, so each record costs one native call (a call is ~0.2 µs, more than a
 * small record's bytes).
 */
function recordChecksum(length: number, payload: Buffer): number {
  return crc32c(payload, crc32cOfLength(length));
}

export function encodeRecord(payload: Buffer): Buffer {
  checkPayloadLength(payload.length);
  const record = Buffer.allocUnsafe(RECORD_HEADER_BYTES + payload.length);
  payload.copy(record, RECORD_HEADER_BYTES);
  return frameRecord(record);
}

/**
 * Fill in the header of a record whose payload already follows `RECORD_HEADER_BYTES` reserved
 * bytes (see `encodeWalPayload`'s headroom): the same record as `encodeRecord`, without a copy.
 */
export function frameRecord(record: Buffer): Buffer {
  const length = record.length - RECORD_HEADER_BYTES;
  checkPayloadLength(length);
  record.writeUInt32LE(length, 0);
  record.writeUInt32LE(recordChecksum(length, record.subarray(RECORD_HEADER_BYTES)), 4);
  return record;
}

function checkPayloadLength(length: number): void {
  // A zero length reads back as a zero-filled tail and a longer one as garbage: refuse both
  // rather than write a record that recovery would cut.
  if (length <= 0 || length > MAX_RECORD_BYTES) {
    throw new RangeError(`WAL record payload must be 1-${MAX_RECORD_BYTES} bytes, got ${Math.max(0, length)}`);
  }
}

export type DecodeStop =
  | { kind: 'end' }
  /** The file ends inside a record: a write that never completed. */
  | { kind: 'torn_tail'; offset: number }
  /** A complete record whose checksum does not match, or an impossible length. */
  | { kind: 'checksum'; offset: number }
  | { kind: 'garbage'; offset: number };

export interface DecodedRecords {
  records: Buffer[];
  /** Byte offset just after the last valid record: where the file must be cut. */
  validLength: number;
  stop: DecodeStop;
}

/** Decode every valid record of a WAL file up to the first bad one. */
export function decodeRecords(file: Buffer): DecodedRecords {
  const records: Buffer[] = [];
  let offset = 0;
  while (offset < file.length) {
    if (file.length - offset < RECORD_HEADER_BYTES) {
      return { records, validLength: offset, stop: { kind: 'torn_tail', offset } };
    }
    const length = file.readUInt32LE(offset);
    if (length === 0 || length > MAX_RECORD_BYTES) {
      // A zero run is what a pre-allocated or torn page looks like; anything else is garbage.
      const zeros = file.subarray(offset, Math.min(file.length, offset + 64)).every((b) => b === 0);
      return { records, validLength: offset, stop: { kind: zeros ? 'torn_tail' : 'garbage', offset } };
    }
    const end = offset + RECORD_HEADER_BYTES + length;
    if (end > file.length) {
      return { records, validLength: offset, stop: { kind: 'torn_tail', offset } };
    }
    const payload = file.subarray(offset + RECORD_HEADER_BYTES, end);
    if (recordChecksum(length, payload) !== file.readUInt32LE(offset + 4)) {
      return { records, validLength: offset, stop: { kind: 'checksum', offset } };
    }
    records.push(payload);
    offset = end;
  }
  return { records, validLength: offset, stop: { kind: 'end' } };
}
