import * as arrow from 'apache-arrow';
import { newEventIds } from '../../events/eventIds';
import type { StoredEvent } from '../../events/storedEvent';
import { encodeWalPayload } from '../wal/walPayload';
import { eventsToArrowIpc, rowToEvent } from './arrowBatch';
import { segmentColumnsToTable, walRecordsToColumns, type WalSlices } from './walColumns';

let nextLsn = 1;

/** A record's events: ASCII and non-ASCII text (2, 3 and 4 UTF-8 bytes a character), with and without metadata. */
function recordEvents(n: number): { events: StoredEvent[]; idBytes: Uint8Array } {
  const { ids, bytes } = newEventIds(n);
  const events = Array.from({ length: n }, (_, i) => {
    const lsn = nextLsn++;
    return {
      lsn,
      id: ids[i]!,
      eventType: i % 5 === 0 ? 'commande.créée' : 'order.created',
      entityId: i % 7 === 0 ? `ördér-${lsn}-😀` : `order-${lsn % 13}`,
      tenantId: i % 3 === 0 ? 'tenant_b' : 'default',
      timestampUs: 1_764_254_000_000_000 + lsn * 7,
      version: 1 + (lsn % 9),
      payloadJson: JSON.stringify({ lsn, note: i % 4 === 0 ? 'naïve ✓ 漢字 🎉'.repeat(1 + (i % 3)) : 'plain'.repeat(1 + (i % 20)) }),
      metadataJson: i % 2 === 0 ? null : `{"source":"test","i":${i}}`,
    };
  });
  return { events, idBytes: bytes };
}

function asciiEvents(n: number): { events: StoredEvent[]; idBytes: Uint8Array } {
  const r = recordEvents(n);
  for (const e of r.events) {
    e.eventType = 'order.created';
    e.entityId = `order-${e.lsn % 13}`;
    e.payloadJson = JSON.stringify({ lsn: e.lsn, note: 'plain' });
  }
  return r;
}

/** Records back to back, and the slices of `[skip, skip + count)` of each. */
function slicesOf(records: Array<{ payload: Buffer; skip: number; count: number }>): WalSlices {
  const bytes = Buffer.concat(records.map((r) => r.payload));
  const slices = new Int32Array(records.length * 4);
  let at = 0;
  records.forEach((r, k) => {
    slices.set([at, r.payload.length, r.skip, r.count], k * 4);
    at += r.payload.length;
  });
  return { bytes, slices };
}

async function referenceTable(events: StoredEvent[]): Promise<arrow.Table> {
  return arrow.tableFromIPC(await eventsToArrowIpc(events));
}

function rows(table: arrow.Table): StoredEvent[] {
  return Array.from({ length: table.numRows }, (_, i) => rowToEvent(table, i));
}

describe('walRecordsToColumns', () => {
  it('cuts the same rows and schema out of binary WAL records as the columns built from the events', async () => {
    const a = recordEvents(40);
    const b = asciiEvents(25);
    const c = recordEvents(3);
    const table = segmentColumnsToTable(
      arrow,
      walRecordsToColumns(
        slicesOf([
          { payload: encodeWalPayload(a.events, a.idBytes), skip: 0, count: 40 },
          { payload: encodeWalPayload(b.events, b.idBytes), skip: 0, count: 25 },
          { payload: encodeWalPayload(c.events, c.idBytes), skip: 0, count: 3 },
        ]),
      ),
    );
    const expected = await referenceTable([...a.events, ...b.events, ...c.events]);
    expect(table.schema.fields.map((f) => [f.name, String(f.type), f.nullable])).toEqual(expected.schema.fields.map((f) => [f.name, String(f.type), f.nullable]));
    expect(rows(table)).toEqual(rows(expected));
    expect(rows(table)[0]).toEqual(a.events[0]);
  });

  it('takes the tail of a first record, part of a last one, and whole records between', async () => {
    const a = recordEvents(30);
    const b = asciiEvents(10);
    const c = recordEvents(20);
    const cols = walRecordsToColumns(
      slicesOf([
        { payload: encodeWalPayload(a.events, a.idBytes), skip: 17, count: 13 },
        { payload: encodeWalPayload(b.events, b.idBytes), skip: 0, count: 10 },
        { payload: encodeWalPayload(c.events, c.idBytes), skip: 0, count: 6 },
      ]),
    );
    expect(cols.rows).toBe(29);
    const events = [...a.events.slice(17), ...b.events, ...c.events.slice(0, 6)];
    expect(rows(segmentColumnsToTable(arrow, cols))).toEqual(events);
    // Only odd events carry metadata: the null bitmap follows the rows taken, not the record.
    expect(cols.metadata.nullCount).toBe(events.filter((e) => e.metadataJson === null).length);
  });

  it('writes a column without a null bitmap when every event has metadata', () => {
    const a = asciiEvents(9);
    for (const e of a.events) e.metadataJson = '{"m":1}';
    const cols = walRecordsToColumns(slicesOf([{ payload: encodeWalPayload(a.events, a.idBytes), skip: 0, count: 9 }]));
    expect(cols.metadata.validity).toBeNull();
    expect(rows(segmentColumnsToTable(arrow, cols))).toEqual(a.events);
  });

  it('runs from its source text alone, as the Parquet worker runs it', () => {
    const a = recordEvents(12);
    const input = slicesOf([{ payload: encodeWalPayload(a.events, a.idBytes), skip: 2, count: 10 }]);
    const fromSource = new Function(`return (${walRecordsToColumns.toString()});`)() as typeof walRecordsToColumns;
    const toTable = new Function(`return (${segmentColumnsToTable.toString()});`)() as typeof segmentColumnsToTable;
    expect(rows(toTable(arrow, fromSource(input)))).toEqual(a.events.slice(2));
  });

  it('refuses records it cannot read instead of writing wrong rows', () => {
    const a = recordEvents(5);
    const payload = encodeWalPayload(a.events, a.idBytes);
    const json = Buffer.from(JSON.stringify([{ l: 1 }]));
    expect(() => walRecordsToColumns(slicesOf([{ payload: json, skip: 0, count: 1 }]))).toThrow(/not a binary record/);
    expect(() => walRecordsToColumns(slicesOf([{ payload: payload.subarray(0, payload.length - 3), skip: 0, count: 5 }]))).toThrow(/do not fill/);
    expect(() => walRecordsToColumns(slicesOf([{ payload, skip: 3, count: 3 }]))).toThrow(/do not fill/);
    // A string length that runs past the text: the payload length of the last event, grown.
    const grown = Buffer.from(payload);
    const lengthsAt = 16 + 5 * 40;
    grown.writeUInt32LE(grown.readUInt32LE(lengthsAt + (4 * 5 + 3) * 4) + 50, lengthsAt + (4 * 5 + 3) * 4);
    expect(() => walRecordsToColumns(slicesOf([{ payload: grown, skip: 0, count: 5 }]))).toThrow(/past the text/);
  });
});
