import { crc32c } from '@node-rs/crc32';

/**
 * WAL record: `[u32 LE payload length][u32 LE crc32c][payload]`. The checksum covers the
 * length field and the payload, so a flipped bit anywhere in the record, a torn write or a
 * garbage length is detected.
 */
export const RECORD_HEADER_BYTES = 8;
/** A length beyond this is treated as corruption rather than an allocation request. */
export const MAX_RECORD_BYTES = 256 * 1024 * 1024;

function checksum(header: Buffer, payload: Uint8Array): number {
  return crc32c(Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength), crc32c(header.subarray(0, 4)));
}

export function encodeRecord(payload: Buffer): Buffer {
  // A zero length reads back as a zero-filled tail and a longer one as garbage: refuse both
  // rather than write a record that recovery would cut.
  if (payload.length === 0 || payload.length > MAX_RECORD_BYTES) {
    throw new RangeError(`WAL record payload must be 1-${MAX_RECORD_BYTES} bytes, got ${payload.length}`);
  }
  const record = Buffer.allocUnsafe(RECORD_HEADER_BYTES + payload.length);
  record.writeUInt32LE(payload.length, 0);
  record.writeUInt32LE(checksum(record, payload), 4);
  payload.copy(record, RECORD_HEADER_BYTES);
  return record;
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
    if (checksum(file.subarray(offset, offset + 4), payload) !== file.readUInt32LE(offset + 4)) {
      return { records, validLength: offset, stop: { kind: 'checksum', offset } };
    }
    records.push(payload);
    offset = end;
  }
  return { records, validLength: offset, stop: { kind: 'end' } };
}
