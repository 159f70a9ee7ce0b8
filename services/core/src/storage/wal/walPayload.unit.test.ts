import { newEventIds, EVENT_ID_BYTES } from '../../events/eventIds';
import type { StoredEvent } from '../../events/storedEvent';
import { mulberry32 } from '../../testing/random';
import { BINARY_MAGIC, decodeWalEvent, decodeWalPayload, encodeJsonPayload, encodeWalPayload, recordLayout, walEventLsn } from './walPayload';
import { decodeRecords, encodeRecord, frameRecord, RECORD_HEADER_BYTES } from './walRecord';

/** Events with the given text fields; ids made the way the engine makes them. */
function eventsWith(fields: Array<Partial<StoredEvent>>): { events: StoredEvent[]; idBytes: Buffer } {
  const { ids, bytes } = newEventIds(fields.length);
  const events = fields.map((f, i) => ({
    lsn: 1_000_000 + i,
    id: ids[i]!,
    eventType: 'order.created',
    entityId: `order-${i}`,
    tenantId: 'default',
    timestampUs: 1_764_254_000_123_456 + i,
    version: i + 1,
    payloadJson: JSON.stringify({ n: i }),
    metadataJson: null,
    ...f,
  }));
  return { events, idBytes: bytes };
}

describe('WAL payload, binary layout', () => {
  it('gives back every field exactly, metadata or not', () => {
    const { events, idBytes } = eventsWith([
      {},
      { metadataJson: '{"source":"test","tags":["a","b"]}' },
      { payloadJson: '{"empty":""}', metadataJson: '{}' },
      { entityId: 'with "quotes" and \\ backslash', payloadJson: '{"s":"a\\"b"}' },
    ]);
    const payload = encodeWalPayload(events, idBytes);
    expect(payload[0]).toBe(BINARY_MAGIC);
    const decoded = decodeWalPayload(payload);
    expect(decoded.events).toEqual(events);
    expect(Buffer.compare(Buffer.from(decoded.idBytes!), idBytes)).toBe(0);
  });

  it('keeps non-ASCII text: accents, CJK, emoji (surrogate pairs), in every text field', () => {
    const { events, idBytes } = eventsWith([
      { entityId: 'café-日本-😀', payloadJson: '{"name":"Zoë","emoji":"🎉🎉","cjk":"漢字"}', metadataJson: '{"who":"Ångström"}' },
      { entityId: 'plain' },
      { entityId: '😀', payloadJson: '"😀"' },
    ]);
    expect(decodeWalPayload(encodeWalPayload(events, idBytes)).events).toEqual(events);
  });

  it('round-trips random unicode strings, seeded', () => {
    const rand = mulberry32(7);
    const pieces = ['a', 'é', '日', '😀', '"', '\\', ' ', 'ß', '\u2028'];
    const text = (n: number): string => Array.from({ length: n }, () => pieces[Math.floor(rand() * pieces.length)]!).join('');
    const fields = Array.from({ length: 200 }, () => ({ entityId: `e${text(1 + Math.floor(rand() * 20))}`, payloadJson: JSON.stringify({ t: text(Math.floor(rand() * 50)) }) }));
    const { events, idBytes } = eventsWith(fields);
    expect(decodeWalPayload(encodeWalPayload(events, idBytes)).events).toEqual(events);
  });

  it('writes a record holding a lone surrogate in the JSON layout, which reads back', () => {
    const { events, idBytes } = eventsWith([{ entityId: 'lone-\ud800-surrogate' }, {}]);
    const payload = encodeWalPayload(events, idBytes);
    expect(payload[0]).toBe('['.charCodeAt(0));
    const decoded = decodeWalPayload(payload);
    expect(decoded.idBytes).toBeUndefined();
    expect(decoded.events).toEqual(events);
  });

  it('reads records of the JSON layout written by earlier versions', () => {
    const { events } = eventsWith([{ metadataJson: '{"m":1}' }, { payloadJson: '[1,2,{"x":null}]' }]);
    expect(decodeWalPayload(encodeJsonPayload(events)).events).toEqual(events);
  });

  it('refuses a binary record whose counts and lengths do not add up', () => {
    const { events, idBytes } = eventsWith([{}, {}]);
    const good = encodeWalPayload(events, idBytes);
    expect(() => decodeWalPayload(good.subarray(0, good.length - 1))).toThrow(/malformed WAL record/);
    const lying = Buffer.from(good);
    lying.writeUInt32LE(3, 4); // three events claimed
    expect(() => decodeWalPayload(lying)).toThrow(/malformed WAL record/);
    const longString = Buffer.from(good);
    const lengthsAt = 16 + 2 * (24 + EVENT_ID_BYTES);
    longString.writeUInt32LE(1000, lengthsAt + 4); // first entity id "longer" than the text
    expect(() => decodeWalPayload(longString)).toThrow(/malformed WAL record/);
  });
});

describe('one event of a binary record, decoded on its own', () => {
  function expectEachDecoded(events: StoredEvent[], idBytes: Buffer, ascii: boolean): void {
    const payload = encodeWalPayload(events, idBytes, RECORD_HEADER_BYTES).subarray(RECORD_HEADER_BYTES);
    const layout = recordLayout(payload);
    // All-ASCII text is cut as latin1; other text by byte offsets counted once.
    expect(layout.ascii).toBe(ascii);
    for (let k = events.length - 1; k >= 0; k--) {
      expect(decodeWalEvent(payload, k, layout)).toEqual(events[k]);
      expect(walEventLsn(payload, k)).toBe(events[k]!.lsn);
    }
  }

  it('gives back each event of an all-ASCII record, in any order, metadata or not', () => {
    const { events, idBytes } = eventsWith(
      Array.from({ length: 300 }, (_, i) => (i % 3 === 0 ? { metadataJson: `{"i":${i}}` } : i % 7 === 0 ? { payloadJson: '""', entityId: 'x' } : {})),
    );
    expectEachDecoded(events, idBytes, true);
  });

  it('gives back each event of a record with non-ASCII text in any field', () => {
    const rand = mulberry32(11);
    const pieces = ['a', 'é', '日', '😀', '"', '\\', ' ', 'ß', '\u2028'];
    const text = (n: number): string => Array.from({ length: n }, () => pieces[Math.floor(rand() * pieces.length)]!).join('');
    const fields = Array.from({ length: 200 }, (_, i) => ({
      entityId: `e${text(1 + Math.floor(rand() * 20))}`,
      tenantId: i % 5 === 0 ? 'tenant_é' : 'default',
      payloadJson: JSON.stringify({ t: text(Math.floor(rand() * 50)) }),
      metadataJson: i % 4 === 0 ? JSON.stringify({ m: text(5) }) : null,
    }));
    const { events, idBytes } = eventsWith(fields);
    expectEachDecoded(events, idBytes, false);
  });
});

describe('WAL payload with room for the record header', () => {
  it('frames in place the same record bytes as encoding and copying, binary and JSON forms alike', () => {
    const cases = [
      eventsWith([{}, { metadataJson: '{"m":1}' }, { payloadJson: '{"s":"ünïcödé ✓ 🎉"}' }]),
      // A lone surrogate: the JSON form.
      eventsWith([{ payloadJson: '{"bad":"\ud800"}' }, {}]),
    ];
    for (const { events, idBytes } of cases) {
      const payload = encodeWalPayload(events, idBytes);
      const framed = frameRecord(encodeWalPayload(events, idBytes, RECORD_HEADER_BYTES));
      expect(framed.equals(encodeRecord(payload))).toBe(true);
      const decoded = decodeRecords(framed);
      expect(decoded.stop).toEqual({ kind: 'end' });
      // (The JSON form writes a lone surrogate as U+FFFD, as it always did: compare with the unframed record.)
      expect(decodeWalPayload(decoded.records[0]!).events).toEqual(decodeWalPayload(payload).events);
      if (payload[0] === BINARY_MAGIC) expect(decodeWalPayload(decoded.records[0]!).events).toEqual(events);
    }
  });

  it('allocates a large record at exactly its size (it is kept as is until the flush)', () => {
    const { events, idBytes } = eventsWith(Array.from({ length: 200 }, () => ({})));
    const framed = encodeWalPayload(events, idBytes, RECORD_HEADER_BYTES);
    expect(framed.length).toBeGreaterThan(8192);
    expect(framed.byteOffset).toBe(0);
    expect(framed.buffer.byteLength).toBe(framed.length);
    expect(framed.length).toBe(RECORD_HEADER_BYTES + encodeWalPayload(events, idBytes).length);
  });

  it('refuses to frame an empty payload', () => {
    expect(() => frameRecord(Buffer.alloc(RECORD_HEADER_BYTES))).toThrow(RangeError);
  });
});
