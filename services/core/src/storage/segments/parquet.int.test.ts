/**
 * The segments the store writes are plain Parquet that a third-party reader gets every event
 * back from: read here with DuckDB, column by column, at full microsecond precision.
 */
import { readFile, readdir, writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import type { NewEvent, StoredEvent } from '../../events/storedEvent';
import { readParquetRows, sqlString, useDuck, type ParquetRow } from '../../testing/duckdb';
import { useOpenStores } from '../../testing/storeOptions';
import { useTempDir } from '../../testing/tempDirs';
import type { EventStore, EventStoreOptions } from '../eventStore';
import { segmentFileName } from './manifest';
import { SEGMENT_COMPRESSIONS } from './parquetWriterPool';

const tmp = useTempDir('allsource-parquet-int-');
const duck = useDuck();
const stores = useOpenStores();

let n = 0;
async function openStore(over: Partial<EventStoreOptions> = {}): Promise<{ store: EventStore; dir: string }> {
  const dir = path.join(tmp.path, `d${++n}`);
  return { store: await stores.open(dir, over), dir };
}

const readSegment = (glob: string): Promise<ParquetRow[]> => readParquetRows(duck.con, glob);

const PAYLOADS: unknown[] = [
  { user: { name: 'Zoë', tags: ['a', 'b'], address: { city: 'Zürich', geo: [47.37, 8.54] } } },
  { text: 'quotes " and \' and backslash \\ and newline \n and tab \t', emoji: '🚀👩‍💻', cjk: '事件溯源', rtl: 'שלום' },
  { big: 9007199254740991, negBig: -9007199254740991, huge: 1.7976931348623157e308, tiny: 5e-324, exp: 1e21, digits: '123456789012345678901234567890' },
  [1, 'two', null, true, { three: [3] }, []],
  'just a string',
  42,
  -0.5,
  true,
  null,
  {},
  [],
  { deeply: { nested: { object: { with: { many: { levels: { value: 'bottom' } } } } } } },
  { unicode_escape: '\u0000\u001f\u2028\u2029', surrogate: '𝄞' },
  { long: 'x'.repeat(5000) },
];

function testEvents(): NewEvent[] {
  const events: NewEvent[] = [];
  for (let i = 0; i < 60; i++) {
    const payload = PAYLOADS[i % PAYLOADS.length];
    events.push({
      eventType: ['user.created', 'order.placed', 'payment_v2.settled'][i % 3]!,
      entityId: ['user-1', 'ördér/7 with spaces', 'e"quote', 'ent:' + (i % 5)][i % 4]!,
      tenantId: ['default', 'tenant_a', 'Tenant-B'][i % 3]!,
      payloadJson: JSON.stringify(payload),
      metadataJson: i % 3 === 0 ? null : JSON.stringify({ source: 'import', i, nested: { ok: i % 2 === 0 }, note: 'mëta "q"' }),
    });
  }
  return events;
}

function expectRowsMatch(rows: ParquetRow[], written: StoredEvent[]): void {
  expect(rows).toHaveLength(written.length);
  for (let i = 0; i < written.length; i++) {
    const e = written[i]!;
    const r = rows[i]!;
    expect(r.sequence).toBe(BigInt(e.lsn));
    expect(r.id).toBe(e.id);
    expect(r.event_type).toBe(e.eventType);
    expect(r.entity_id).toBe(e.entityId);
    expect(r.tenant_id).toBe(e.tenantId);
    expect(r.version).toBe(BigInt(e.version));
    expect(r.ts_us).toBe(BigInt(e.timestampUs));
    expect(r.payload).toBe(e.payloadJson);
    expect(JSON.parse(r.payload)).toEqual(JSON.parse(e.payloadJson));
    if (e.metadataJson === null) expect(r.metadata).toBeNull();
    else expect(JSON.parse(r.metadata!)).toEqual(JSON.parse(e.metadataJson));
  }
}

describe('Parquet segments read by DuckDB', () => {
  it('gives back every event field for field, timestamps to the microsecond', async () => {
    const { store, dir } = await openStore();
    const written: StoredEvent[] = [];
    const events = testEvents();
    // Single appends and batches, so that timestamps differ and some are shared.
    for (let i = 0; i < 20; i++) written.push(...(await store.append([events[i]!])));
    written.push(...(await store.append(events.slice(20))));
    await store.flush();
    const files = (await readdir(path.join(dir, 'segments'))).filter((f) => f.endsWith('.parquet'));
    expect(files).toHaveLength(1);
    const file = path.join(dir, 'segments', files[0]!);

    const rows = await readSegment(file);
    expectRowsMatch(rows, written);
    // Microsecond precision really is there (not only whole milliseconds).
    expect(written.some((e) => e.timestampUs % 1000 !== 0)).toBe(true);
    // What the payloads were built from comes back too.
    for (let i = 0; i < rows.length; i++) expect(JSON.parse(rows[i]!.payload)).toEqual(JSON.parse(JSON.stringify(PAYLOADS[i % PAYLOADS.length])));

    // The same events through the store's own segment reader.
    const viaStore = await store.readPositions(written.map((_, i) => i));
    expect(viaStore).toEqual(written);
  });

  it.each(SEGMENT_COMPRESSIONS)('writes segments and merged segments with SEGMENT_COMPRESSION=%s, which DuckDB and the store read back', async (compression) => {
    const { store, dir } = await openStore({ segmentCompression: compression });
    const written: StoredEvent[] = [];
    const events = testEvents();
    // Two flushed segments, then one merged from them by a compaction.
    written.push(...(await store.append(events.slice(0, 30))));
    await store.flush();
    written.push(...(await store.append(events.slice(30))));
    await store.flush();
    expect(await store.compact({ minFiles: 2, smallSegmentBytes: 1 << 30, targetBytes: 1 << 30 })).toMatchObject({ filesCompacted: 2, segmentsCreated: 1 });
    const files = (await readdir(path.join(dir, 'segments'))).filter((f) => f.endsWith('.parquet'));
    expect(files).toHaveLength(1);
    const file = path.join(dir, 'segments', files[0]!);
    expectRowsMatch(await readSegment(file), written);
    const codecs = await duck.con.runAndReadAll(`select distinct compression from parquet_metadata(${sqlString(file)})`);
    expect(codecs.getRows().map((r) => String(r[0]))).toEqual([compression.toUpperCase()]);
    expect(await store.readPositions(written.map((_, i) => i))).toEqual(written);
  });

  it('uses the documented column names and types, timestamp as a UTC microsecond instant', async () => {
    const { store, dir } = await openStore();
    await store.append(testEvents().slice(0, 40));
    await store.flush();
    const [file] = (await readdir(path.join(dir, 'segments'))).filter((f) => f.endsWith('.parquet'));
    const glob = path.join(dir, 'segments', file!);

    const described = await duck.con.runAndReadAll(`select * from read_parquet(${sqlString(glob)}) limit 0`);
    const types = Object.fromEntries(described.columnNames().map((name, i) => [name, described.columnTypes()[i]!.toString()]));
    expect(types).toEqual({
      sequence: 'BIGINT',
      id: 'VARCHAR',
      event_type: 'VARCHAR',
      entity_id: 'VARCHAR',
      tenant_id: 'VARCHAR',
      timestamp: 'TIMESTAMP WITH TIME ZONE',
      version: 'BIGINT',
      payload: 'VARCHAR',
      metadata: 'VARCHAR',
    });

    const schema = await duck.con.runAndReadAll(`select name, type, logical_type::varchar as logical from parquet_schema(${sqlString(glob)}) where name = 'timestamp'`);
    const [[, physical, logical]] = schema.getRows() as [[string, string, string]];
    expect(physical).toBe('INT64');
    expect(logical).toMatch(/isAdjustedToUTC=1|isAdjustedToUTC=true/i);
    expect(logical).toMatch(/MICROS/);

    // Written in bounded row groups (rowGroupSize 16), all of which DuckDB reads.
    const meta = await duck.con.runAndReadAll(`select count(distinct row_group_id) as groups, max(row_group_num_rows) as most from parquet_metadata(${sqlString(glob)})`);
    const [[groups, most]] = meta.getRows() as [[bigint, bigint]];
    expect(groups).toBe(3n);
    expect(most).toBeLessThanOrEqual(16n);
    const count = await duck.con.runAndReadAll(`select count(*) from read_parquet(${sqlString(glob)})`);
    expect(count.getRows()[0]![0]).toBe(40n);
  });

  it('carries min/max statistics for the numeric columns only', async () => {
    const { store, dir } = await openStore();
    const written = await store.append(testEvents());
    await store.flush();
    const file = path.join(dir, 'segments', store.segments[0]!.file);
    const reader = await duck.con.runAndReadAll(
      `SELECT path_in_schema AS col, count(*) AS groups, count(stats_min_value) AS with_min, count(stats_max_value) AS with_max,
              min(TRY_CAST(stats_min_value AS BIGINT)) AS min, max(TRY_CAST(stats_max_value AS BIGINT)) AS max
       FROM parquet_metadata(${sqlString(file)}) GROUP BY path_in_schema`,
    );
    const stats = new Map(reader.getRowObjectsJS().map((r) => [String(r.col), r]));
    expect([...stats.keys()].sort()).toEqual(['entity_id', 'event_type', 'id', 'metadata', 'payload', 'sequence', 'tenant_id', 'timestamp', 'version']);
    const groups = Number(stats.get('sequence')!.groups);
    expect(groups).toBeGreaterThan(1);
    for (const col of ['sequence', 'timestamp', 'version']) {
      expect(Number(stats.get(col)!.with_min)).toBe(groups);
      expect(Number(stats.get(col)!.with_max)).toBe(groups);
    }
    // The row groups' ranges together are the file's.
    expect([Number(stats.get('sequence')!.min), Number(stats.get('sequence')!.max)]).toEqual([written[0]!.lsn, written[written.length - 1]!.lsn]);
    for (const col of ['id', 'event_type', 'entity_id', 'tenant_id', 'payload', 'metadata']) {
      expect([Number(stats.get(col)!.with_min), Number(stats.get(col)!.with_max)]).toEqual([0, 0]);
    }
  });

  it('never reuses a segment name across flushes, restarts or an existing file', async () => {
    const { store, dir } = await openStore();
    const segDir = path.join(dir, 'segments');
    const written: StoredEvent[] = [];
    for (let f = 0; f < 4; f++) {
      written.push(...(await store.append(testEvents().slice(f * 10, f * 10 + 10))));
      await store.flush();
    }
    // A stray file already holding the name the next flush would pick is neither overwritten nor used.
    const next = await store.append(testEvents().slice(40, 45));
    written.push(...next);
    const taken = segmentFileName(next[0]!.lsn, next[next.length - 1]!.lsn, 0);
    await writeFile(path.join(segDir, taken), 'not a parquet file');
    await store.flush();
    expect(await readFile(path.join(segDir, taken), 'utf8')).toBe('not a parquet file');
    const names = store.segments.map((s) => s.file);
    expect(names).toHaveLength(5);
    expect(new Set(names).size).toBe(5);
    expect(names).not.toContain(taken);
    await stores.close(store, true);

    // After a restart the stray file (not in the manifest) is removed, and later flushes add new names.
    const reopened = await stores.open(dir);
    expect(reopened.recovery.orphanFilesRemoved).toEqual([taken]);
    written.push(...(await reopened.append(testEvents().slice(45, 60))));
    await reopened.flush();
    const after = reopened.segments.map((s) => s.file);
    expect(after.slice(0, 5)).toEqual(names);
    expect(new Set(after).size).toBe(6);
    const onDisk = (await readdir(segDir)).filter((f) => f.endsWith('.parquet')).sort();
    expect(onDisk).toEqual([...after].sort());

    // All the segments together hold every event exactly once.
    const rows = await readSegment(path.join(segDir, '*.parquet'));
    expectRowsMatch(rows, written);
  });
});
