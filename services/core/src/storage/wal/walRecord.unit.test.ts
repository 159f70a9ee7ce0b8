import { crc32c } from '@node-rs/crc32';
import { MAX_RECORD_BYTES, RECORD_HEADER_BYTES, decodeRecords, encodeRecord } from './walRecord';
import { mulberry32 } from '../../testing/random';


function randomPayload(rand: () => number, maxLength: number): Buffer {
  const length = 1 + Math.floor(rand() * maxLength);
  const payload = Buffer.alloc(length);
  for (let i = 0; i < length; i++) payload[i] = Math.floor(rand() * 256);
  return payload;
}

function jsonPayload(i: number): Buffer {
  return Buffer.from(JSON.stringify([{ lsn: i, event_type: 'user.created', entity_id: `user-${i}`, payload: { n: i } }]));
}

/** The file, the start offset of each record, and the payloads. */
function buildFile(payloads: Buffer[]): { file: Buffer; starts: number[] } {
  const starts: number[] = [];
  let offset = 0;
  const parts = payloads.map((p) => {
    starts.push(offset);
    const record = encodeRecord(p);
    offset += record.length;
    return record;
  });
  return { file: Buffer.concat(parts), starts };
}

function expectSamePayloads(actual: Buffer[], expected: Buffer[]): void {
  expect(actual.length).toBe(expected.length);
  for (let i = 0; i < expected.length; i++) {
    expect(Buffer.compare(actual[i]!, expected[i]!)).toBe(0);
  }
}

describe('encodeRecord', () => {
  it('lays out [u32 LE length][u32 LE crc32c][payload]', () => {
    const payload = Buffer.from('hello wal');
    const record = encodeRecord(payload);
    expect(record.length).toBe(RECORD_HEADER_BYTES + payload.length);
    expect(record.readUInt32LE(0)).toBe(payload.length);
    expect(record.subarray(RECORD_HEADER_BYTES).toString()).toBe('hello wal');
    // Encoding is deterministic.
    expect(Buffer.compare(encodeRecord(Buffer.from('hello wal')), record)).toBe(0);
  });

  it('checksums the length field and the payload with CRC-32C, as files written before read back', () => {
    const rand = mulberry32(7);
    for (const length of [1, 3, 255, 256, 65_537, 300_000]) {
      const body = Buffer.alloc(length);
      for (let i = 0; i < length; i++) body[i] = Math.floor(rand() * 256);
      const record = encodeRecord(body);
      // The reference: one CRC-32C over the 4 length bytes followed by the payload.
      expect(record.readUInt32LE(4)).toBe(crc32c(Buffer.concat([record.subarray(0, 4), body])));
    }
  });

  it('refuses a payload that could not be decoded again (empty or above the maximum)', () => {
    // A zero length is what the decoder reads as a zero-filled (torn) tail.
    expect(() => encodeRecord(Buffer.alloc(0))).toThrow(RangeError);
    // Not zero-filled: allocUnsafe touches no pages, and the guard runs before any copy.
    expect(() => encodeRecord(Buffer.allocUnsafe(MAX_RECORD_BYTES + 1))).toThrow(RangeError);
  });

  it('accepts a payload that is a view into a larger buffer', () => {
    const backing = Buffer.from('xxxxPAYLOADyyyy');
    const view = backing.subarray(4, 11);
    const decoded = decodeRecords(encodeRecord(view));
    expect(decoded.stop).toEqual({ kind: 'end' });
    expect(decoded.records.map((r) => r.toString())).toEqual(['PAYLOAD']);
  });
});

describe('decodeRecords', () => {
  it('returns end and no records for an empty file', () => {
    expect(decodeRecords(Buffer.alloc(0))).toEqual({ records: [], validLength: 0, stop: { kind: 'end' } });
  });

  it('round-trips many records of random sizes and contents', () => {
    const rand = mulberry32(1);
    const payloads: Buffer[] = [];
    for (let i = 0; i < 2000; i++) payloads.push(randomPayload(rand, i % 100 === 0 ? 20_000 : 300));
    payloads.push(Buffer.from([0])); // a single zero byte is a valid payload
    const { file } = buildFile(payloads);
    const decoded = decodeRecords(file);
    expect(decoded.stop).toEqual({ kind: 'end' });
    expect(decoded.validLength).toBe(file.length);
    expectSamePayloads(decoded.records, payloads);
  });

  it('round-trips JSON payloads byte for byte', () => {
    const payloads = Array.from({ length: 500 }, (_, i) => jsonPayload(i));
    const decoded = decodeRecords(buildFile(payloads).file);
    expect(decoded.stop.kind).toBe('end');
    expect(decoded.records.map((r) => JSON.parse(r.toString()) as unknown)).toEqual(
      payloads.map((p) => JSON.parse(p.toString()) as unknown),
    );
  });

  it('detects a torn tail when the file is cut at every byte offset inside the last record', () => {
    const payloads = Array.from({ length: 6 }, (_, i) => jsonPayload(i));
    const { file, starts } = buildFile(payloads);
    const lastStart = starts[starts.length - 1]!;
    const earlier = payloads.slice(0, -1);

    // Cut exactly at the record boundary: a clean end with the earlier records.
    const atBoundary = decodeRecords(file.subarray(0, lastStart));
    expect(atBoundary.stop).toEqual({ kind: 'end' });
    expect(atBoundary.validLength).toBe(lastStart);
    expectSamePayloads(atBoundary.records, earlier);

    let checked = 0;
    for (let cut = lastStart + 1; cut < file.length; cut++) {
      const decoded = decodeRecords(file.subarray(0, cut));
      expect(decoded.stop).toEqual({ kind: 'torn_tail', offset: lastStart });
      expect(decoded.validLength).toBe(lastStart);
      expectSamePayloads(decoded.records, earlier);
      checked++;
    }
    expect(checked).toBe(file.length - lastStart - 1);
  });

  it('detects a torn tail at every cut of every record of a small file', () => {
    const payloads = [Buffer.from('a'), Buffer.from('bc'), Buffer.from('def'), Buffer.from('0123456789')];
    const { file, starts } = buildFile(payloads);
    for (let cut = 0; cut <= file.length; cut++) {
      // Records wholly before the cut come back; the cut lands either on a boundary or inside one.
      const whole = starts.filter((s, i) => (starts[i + 1] ?? file.length) <= cut && s < cut).length;
      const boundary = whole === 0 ? 0 : (starts[whole] ?? file.length);
      const decoded = decodeRecords(file.subarray(0, cut));
      expectSamePayloads(decoded.records, payloads.slice(0, whole));
      expect(decoded.validLength).toBe(boundary);
      expect(decoded.stop).toEqual(cut === boundary ? { kind: 'end' } : { kind: 'torn_tail', offset: boundary });
    }
  });

  it('never returns a wrong record when a single bit is flipped at any byte of a record', () => {
    const payloads = Array.from({ length: 5 }, (_, i) => jsonPayload(i));
    const { file, starts } = buildFile(payloads);
    const kinds = new Map<string, number>();
    // Corrupt the middle record (records follow it) and the last one (nothing follows it).
    for (const target of [2, 4]) {
      const start = starts[target]!;
      const end = starts[target + 1] ?? file.length;
      for (let byte = start; byte < end; byte++) {
        for (let bit = 0; bit < 8; bit++) {
          const corrupted = Buffer.from(file);
          corrupted[byte] = corrupted[byte]! ^ (1 << bit);
          const decoded = decodeRecords(corrupted);
          // Exactly the records before the corrupted one, byte for byte, and a cut at its start.
          expectSamePayloads(decoded.records, payloads.slice(0, target));
          expect(decoded.validLength).toBe(start);
          expect(decoded.stop.kind).not.toBe('end');
          if (decoded.stop.kind !== 'end') expect(decoded.stop.offset).toBe(start);

          const inLengthField = byte < start + 4;
          const flippedLength = corrupted.readUInt32LE(start);
          if (!inLengthField) {
            // Checksum field or payload: always a checksum mismatch.
            expect(decoded.stop.kind).toBe('checksum');
          } else if (flippedLength > corrupted.length - start - RECORD_HEADER_BYTES && flippedLength <= MAX_RECORD_BYTES) {
            // A length that now points past the end of the file cannot be told from a write
            // that never completed: the format reports it as a torn tail (the cut is the same).
            expect(decoded.stop.kind).toBe('torn_tail');
          } else {
            expect(['checksum', 'garbage']).toContain(decoded.stop.kind);
          }
          kinds.set(decoded.stop.kind, (kinds.get(decoded.stop.kind) ?? 0) + 1);
        }
      }
    }
    expect(kinds.get('checksum')).toBeGreaterThan(0);
    expect(kinds.get('garbage')).toBeGreaterThan(0);
  });

  it('reports every single-bit flip as checksum or garbage when the rest of the file is long enough', () => {
    // Behind the corrupted record lies more data than any flipped length below 2^28 can reach
    // past, so a flip of the length field can never look like a torn tail.
    const payload = jsonPayload(7);
    const record = encodeRecord(payload);
    const file = Buffer.concat([record, Buffer.alloc(MAX_RECORD_BYTES / 2 + 1024, 0xa5)]);
    const seen = new Set<string>();
    for (let byte = 0; byte < record.length; byte++) {
      for (let bit = 0; bit < 8; bit++) {
        const original = file[byte]!;
        file[byte] = original ^ (1 << bit);
        // A flip of bits 28-31 of the length exceeds the maximum (garbage); one of bits 0-27
        // yields a length that still ends inside the file, so the checksum is computed.
        const decoded = decodeRecords(file);
        file[byte] = original;
        expect(decoded.records).toEqual([]);
        expect(decoded.validLength).toBe(0);
        expect(['checksum', 'garbage']).toContain(decoded.stop.kind);
        seen.add(decoded.stop.kind);
      }
    }
    expect(seen).toEqual(new Set(['checksum', 'garbage']));
  });

  it('reports a huge length as garbage, keeping the records before it', () => {
    const payloads = [jsonPayload(1), jsonPayload(2)];
    const { file } = buildFile(payloads);
    for (const length of [MAX_RECORD_BYTES + 1, 0x7fffffff, 0xffffffff]) {
      const header = Buffer.alloc(RECORD_HEADER_BYTES + 16, 0x41);
      header.writeUInt32LE(length, 0);
      const decoded = decodeRecords(Buffer.concat([file, header]));
      expect(decoded.stop).toEqual({ kind: 'garbage', offset: file.length });
      expect(decoded.validLength).toBe(file.length);
      expectSamePayloads(decoded.records, payloads);
    }
  });

  it('reports a zero length followed by non-zero bytes as garbage', () => {
    const { file } = buildFile([jsonPayload(1)]);
    const junk = Buffer.concat([Buffer.alloc(4), Buffer.from('not a record at all')]);
    const decoded = decodeRecords(Buffer.concat([file, junk]));
    expect(decoded.stop).toEqual({ kind: 'garbage', offset: file.length });
    expect(decoded.records.length).toBe(1);
  });

  it('never returns random bytes after valid records as records', () => {
    const rand = mulberry32(99);
    const payloads = [jsonPayload(1), jsonPayload(2), jsonPayload(3)];
    const { file } = buildFile(payloads);
    for (let trial = 0; trial < 200; trial++) {
      const junk = randomPayload(rand, 4000);
      if (junk.length >= 4) junk.writeUInt32LE((junk.readUInt32LE(0) | 1) >>> 0, 0); // never a zero length
      const decoded = decodeRecords(Buffer.concat([file, junk]));
      expectSamePayloads(decoded.records, payloads);
      expect(decoded.validLength).toBe(file.length);
      expect(decoded.stop.kind).not.toBe('end');
    }
  });

  it('reports a zero-filled tail as a torn tail, whatever its length', () => {
    const payloads = [jsonPayload(1), jsonPayload(2)];
    const { file } = buildFile(payloads);
    for (const zeros of [1, 4, 7, 8, 9, 63, 64, 65, 4096]) {
      const decoded = decodeRecords(Buffer.concat([file, Buffer.alloc(zeros)]));
      expect(decoded.stop).toEqual({ kind: 'torn_tail', offset: file.length });
      expect(decoded.validLength).toBe(file.length);
      expectSamePayloads(decoded.records, payloads);
    }
    // A file of nothing but zeros (a pre-allocated, never written file).
    expect(decodeRecords(Buffer.alloc(8192))).toEqual({ records: [], validLength: 0, stop: { kind: 'torn_tail', offset: 0 } });
  });
});
