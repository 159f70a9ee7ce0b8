/**
 * Damaged files at start-up: a torn WAL tail, flipped bytes in the middle of a WAL file, a
 * garbage WAL file, a truncated or bit-flipped Parquet segment, a segment file missing from the
 * manifest and a manifest entry whose file is gone. Each time the whole core (HTTP API) starts
 * over the damaged directory and must:
 *
 * - start, and serve every intact event exactly as it was written (id, version, content);
 * - never serve wrong data: a damaged event is absent (404), never altered;
 * - report what it cut: `allsource_wal_corruptions_total{kind}`, `allsource_wal_bytes_truncated_total`,
 *   a log line, and `recovery` in `/health` (`degraded` when acknowledged data may be lost);
 * - never answer 5xx (health, stats, metrics, queries) and never reuse an entity version.
 *
 * The data directories are written by the storage engine itself (`openTestStore`) and "crash"
 * (closed without the final flush) so that the WAL and segments look as after kill -9.
 */
import { randomBytes } from 'node:crypto';
import { readFile, readdir, stat, truncate, unlink, writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import type { Event } from '@allsource/client';
import type { NewEvent, StoredEvent } from '../events/storedEvent';
import { formatTimestamp } from '../events/timestamps';
import { mulberry32 } from '../testing/random';
import { sumSamples } from '../testing/metricsText';
import { startCoreOn, type CoreOnDir } from '../testing/reliability';
import { openTestStore } from '../testing/storeOptions';
import { useTempDir } from '../testing/tempDirs';
import type { EventStore } from './eventStore';
import { RECORD_HEADER_BYTES, decodeRecords } from './wal/walRecord';

const tmp = useTempDir('allsource-corrupt-files-');
let dirCounter = 0;
const freshDir = (): string => path.join(tmp.path, `d${++dirCounter}`);

const running: CoreOnDir[] = [];
afterEach(async () => {
  while (running.length > 0) await running.pop()!.stop();
});
async function startOn(dir: string): Promise<CoreOnDir> {
  const c = await startCoreOn(dir, { FLUSH_MAX_AGE_MS: '3600000', COMPACTION_INTERVAL_MS: '0', SNAPSHOT_EVERY_EVENTS: '0' });
  running.push(c);
  return c;
}

const ENTITIES = ['acct-a', 'acct-b', 'acct-c'];

function newEvent(i: number, tag: string): NewEvent {
  return {
    eventType: i % 2 === 0 ? 'account.credited' : 'account.debited',
    entityId: ENTITIES[i % ENTITIES.length]!,
    tenantId: 'default',
    payloadJson: JSON.stringify({ tag, i, amount: i * 12.5, note: `ünïcødé ✓ "${tag}-${i}"`, list: [i, null, true] }),
    metadataJson: i % 3 === 0 ? null : JSON.stringify({ source: 'corrupt-test', i }),
  };
}

/**
 * Writes a data directory step by step: `n` (a number) appends n events one record each,
 * `'flush'` writes the buffer to a segment, `'restart'` closes without a flush (as kill -9) and
 * reopens, so the next events go to a new WAL file. Ends closed without a flush.
 */
async function build(dir: string, steps: Array<number | 'flush' | 'restart'>): Promise<StoredEvent[]> {
  let store: EventStore = await openTestStore(dir, { rowGroupSize: 16 });
  const written: StoredEvent[] = [];
  try {
    for (const step of steps) {
      if (step === 'flush') await store.flush();
      else if (step === 'restart') {
        await store.close({ flush: false });
        store = await openTestStore(dir, { rowGroupSize: 16 });
      } else {
        for (let k = 0; k < step; k++) written.push(...(await store.append([newEvent(written.length, `w${written.length}`)])));
      }
    }
  } finally {
    await store.close({ flush: false });
  }
  return written;
}

function asApiEvent(e: StoredEvent): Event {
  return {
    id: e.id,
    event_type: e.eventType,
    entity_id: e.entityId,
    tenant_id: e.tenantId,
    payload: JSON.parse(e.payloadJson) as Event['payload'],
    metadata: e.metadataJson === null ? null : (JSON.parse(e.metadataJson) as Event['metadata']),
    timestamp: formatTimestamp(e.timestampUs),
    version: e.version,
  };
}

/** Everything the core serves, checked for 2xx on the way. */
async function served(c: CoreOnDir): Promise<Event[]> {
  const res = await c.client.raw<{ events: Event[] }>('GET', '/api/v1/events/query', { params: { limit: 10_000 } });
  expect(res.status).toBe(200);
  return res.data.events;
}

/** The core serves exactly `expected`, each event identical to what was written. */
async function expectServes(c: CoreOnDir, expected: StoredEvent[]): Promise<void> {
  const events = await served(c);
  expect(events.map((e) => e.id).sort()).toEqual(expected.map((e) => e.id).sort());
  const byId = new Map(events.map((e) => [e.id, e]));
  for (const e of expected) expect(byId.get(e.id)).toEqual(asApiEvent(e));
}

/** Events that must not be served: GET by id answers 404 (never 5xx, never another event). */
async function expectGone(c: CoreOnDir, gone: StoredEvent[]): Promise<void> {
  for (const e of gone.slice(0, 20)) {
    const res = await c.client.raw('GET', `/api/v1/events/${e.id}`);
    expect(res.status).toBe(404);
  }
}

/** No 5xx on the endpoints an operator looks at, per entity too; returns the /health answer. */
async function expectAnswers(c: CoreOnDir): Promise<{ status: number; body: Record<string, unknown> }> {
  for (const p of ['/api/v1/stats', '/metrics', '/api/v1/entities/top', '/api/v1/projections', '/api/v1/compaction/stats']) {
    expect([p, (await c.client.raw('GET', p)).status]).toEqual([p, 200]);
  }
  for (const entity of ENTITIES) {
    const res = await c.client.raw('GET', `/api/v1/entities/${entity}/state`);
    expect([200, 404]).toContain(res.status);
  }
  const health = await c.client.raw<Record<string, unknown>>('GET', '/health');
  expect(health.status).toBeLessThan(500);
  return { status: health.status, body: health.data };
}

/** A new event for each entity gets a version above every version it already had (none reused). */
async function expectFreshVersions(c: CoreOnDir, existing: StoredEvent[]): Promise<void> {
  for (const entity of ENTITIES) {
    const max = Math.max(0, ...existing.filter((e) => e.entityId === entity).map((e) => e.version));
    if (max === 0) continue;
    const res = await c.client.ingest({ event_type: 'account.checked', entity_id: entity, payload: { after: 'damage' } });
    expect([entity, res.version > max]).toEqual([entity, true]);
  }
}

async function walFiles(dir: string): Promise<string[]> {
  return (await readdir(path.join(dir, 'wal'))).filter((f) => /^wal-\d+\.log$/.test(f)).sort();
}
async function nonEmptyWalFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const f of await walFiles(dir)) if ((await stat(path.join(dir, 'wal', f))).size > 0) out.push(f);
  return out;
}
async function segmentFiles(dir: string): Promise<string[]> {
  return (await readdir(path.join(dir, 'segments'))).filter((f) => f.endsWith('.parquet')).sort();
}
async function readManifest(dir: string): Promise<{ flushedLsn: number; segments: Array<{ file: string; firstLsn: number; lastLsn: number }> }> {
  return JSON.parse(await readFile(path.join(dir, 'segments', 'manifest.json'), 'utf8')) as never;
}

/** Start offsets of the records of a WAL file. */
function recordStarts(file: Buffer): number[] {
  return decodeRecords(file).records.map((r) => r.byteOffset - file.byteOffset - RECORD_HEADER_BYTES);
}

async function metric(c: CoreOnDir, name: string, labels: Record<string, string> = {}): Promise<number> {
  return sumSamples(await c.client.metricsText(), name, labels);
}

type Recovery = { wal_corruptions?: Array<{ file: string; kind: string; offset: number; bytes_cut: number }>; segment_errors?: Array<Record<string, unknown>> };

describe('damaged WAL files', () => {
  it('a torn WAL tail: cut and reported, everything before it served, healthy, the metric and a log line', async () => {
    const dir = freshDir();
    const written = await build(dir, [20]);
    const [file] = await nonEmptyWalFiles(dir);
    const full = (await stat(path.join(dir, 'wal', file!))).size;
    await truncate(path.join(dir, 'wal', file!), full - 5);

    const c = await startOn(dir);
    await expectServes(c, written.slice(0, 19));
    await expectGone(c, written.slice(19));
    const health = await expectAnswers(c);
    // A torn tail is what a crash in the middle of a write leaves: never-acknowledged bytes.
    expect(health.status).toBe(200);
    expect(health.body.status).toBe('healthy');
    const recovery = health.body.recovery as Recovery;
    expect(recovery.wal_corruptions).toEqual([{ file, kind: 'torn_tail', offset: expect.any(Number), bytes_cut: expect.any(Number) }]);
    const cut = recovery.wal_corruptions![0]!;
    expect(cut.offset + cut.bytes_cut).toBe(full - 5);
    expect(await metric(c, 'allsource_wal_corruptions_total', { kind: 'torn_tail' })).toBe(1);
    expect(await metric(c, 'allsource_wal_bytes_truncated_total')).toBe(cut.bytes_cut);
    expect(c.logs.some((l) => l.level === 40 && /torn tail/.test(l.msg))).toBe(true);
    // The cut bytes are kept for inspection.
    const kept = await readFile(path.join(dir, 'wal', 'corrupt', `${file}.${cut.offset}.bad`));
    expect(kept.length).toBe(cut.bytes_cut);

    // The store goes on: the cut event's version was never acknowledged, the next one takes it.
    const res = await c.client.ingest({ event_type: 'account.checked', entity_id: written[19]!.entityId, payload: {} });
    expect(res.version).toBe(written[19]!.version);
  });

  it('flipped bytes in the middle of a WAL file: the file is cut there, later WAL files are kept, degraded, no version reused', async () => {
    const dir = freshDir();
    const written = await build(dir, [10, 'restart', 10, 'restart', 10]);
    const files = await nonEmptyWalFiles(dir);
    expect(files).toHaveLength(3);
    const target = path.join(dir, 'wal', files[1]!);
    const bytes = await readFile(target);
    const starts = recordStarts(bytes);
    expect(starts).toHaveLength(10);
    // One flipped bit in the payload of the 5th record of the middle file.
    bytes[starts[4]! + RECORD_HEADER_BYTES + 10]! ^= 0x04;
    await writeFile(target, bytes);

    const c = await startOn(dir);
    const kept = [...written.slice(0, 14), ...written.slice(20)];
    await expectServes(c, kept);
    await expectGone(c, written.slice(14, 20));
    const health = await expectAnswers(c);
    expect(health.status).toBe(200);
    // Complete records that fail their checksum were acknowledged once: data was lost.
    expect(health.body.status).toBe('degraded');
    expect(String(health.body.reason)).toMatch(/write-ahead log/);
    const recovery = health.body.recovery as Recovery;
    expect(recovery.wal_corruptions).toEqual([{ file: files[1], kind: 'checksum', offset: starts[4], bytes_cut: bytes.length - starts[4]! }]);
    expect(await metric(c, 'allsource_wal_corruptions_total', { kind: 'checksum' })).toBe(1);
    expect(await metric(c, 'allsource_wal_bytes_truncated_total')).toBe(bytes.length - starts[4]!);
    expect(c.logs.some((l) => l.level === 40 && /corrupt/.test(l.msg))).toBe(true);
    await expectFreshVersions(c, written);
  });

  it('a garbage WAL file: cut whole, every other event served', async () => {
    const dir = freshDir();
    const written = await build(dir, [12]);
    const garbage = randomBytes(4096);
    garbage[3] = 0xff; // the first length is impossible (over the record bound)
    await writeFile(path.join(dir, 'wal', 'wal-000000000099.log'), garbage);

    const c = await startOn(dir);
    await expectServes(c, written);
    const health = await expectAnswers(c);
    expect(health.status).toBe(200);
    expect(health.body.status).toBe('degraded');
    expect((health.body.recovery as Recovery).wal_corruptions).toEqual([{ file: 'wal-000000000099.log', kind: 'garbage', offset: 0, bytes_cut: 4096 }]);
    expect(await metric(c, 'allsource_wal_corruptions_total', { kind: 'garbage' })).toBe(1);
    expect(await metric(c, 'allsource_wal_bytes_truncated_total')).toBe(4096);
    await expectFreshVersions(c, written);
  });

  it('WAL files of seeded random bytes of every kind never stop start-up nor add an event', async () => {
    const rand = mulberry32(7);
    for (let round = 0; round < 6; round++) {
      const dir = freshDir();
      const written = await build(dir, [5]);
      const size = 1 + Math.floor(rand() * 3000);
      const bytes = Buffer.alloc(size);
      for (let i = 0; i < size; i++) bytes[i] = round % 3 === 0 ? 0 : Math.floor(rand() * 256);
      if (round % 3 === 1 && size >= 4) bytes.writeUInt32LE(Math.min(size, 1 + Math.floor(rand() * 100)), 0); // a plausible length
      await writeFile(path.join(dir, 'wal', `wal-00000000009${round}.log`), bytes);
      const c = await startOn(dir);
      await expectServes(c, written);
      const recovery = (await expectAnswers(c)).body.recovery as Recovery;
      expect(recovery.wal_corruptions).toHaveLength(1);
      expect(['torn_tail', 'checksum', 'garbage']).toContain(recovery.wal_corruptions![0]!.kind);
      await c.stop();
    }
  });
});

describe('damaged Parquet segments', () => {
  it('a truncated segment: not served, reported (degraded, never 5xx), later events kept, no version reused', async () => {
    const dir = freshDir();
    const written = await build(dir, [30, 'flush', 9]);
    const [segment] = await segmentFiles(dir);
    const full = (await stat(path.join(dir, 'segments', segment!))).size;
    await truncate(path.join(dir, 'segments', segment!), Math.floor(full / 2));

    const c = await startOn(dir);
    await expectServes(c, written.slice(30));
    await expectGone(c, written.slice(0, 30));
    const health = await expectAnswers(c);
    expect(health.status).toBe(200);
    expect(health.body.status).toBe('degraded');
    expect(String(health.body.reason)).toMatch(/segment/);
    const errors = (health.body.recovery as Recovery).segment_errors!;
    expect(errors).toEqual([expect.objectContaining({ file: segment, events: 30 })]);
    // The answer names no server path.
    expect(JSON.stringify(health.body)).not.toContain(tmp.path);
    expect(c.logs.some((l) => l.level === 50 && /segment could not be read/.test(l.msg))).toBe(true);
    await expectFreshVersions(c, written);
  });

  it('a segment with flipped bytes in the middle (footer intact): detected by its checksum, never served altered', async () => {
    const dir = freshDir();
    const written = await build(dir, [40, 'flush', 6]);
    const [segment] = await segmentFiles(dir);
    const file = path.join(dir, 'segments', segment!);
    const bytes = await readFile(file);
    // Flip one byte every 97 bytes across the middle third: payload pages.
    for (let i = Math.floor(bytes.length / 3); i < Math.floor((2 * bytes.length) / 3); i += 97) bytes[i]! ^= 0x20;
    await writeFile(file, bytes);

    const c = await startOn(dir);
    // Whatever is served is identical to what was written; the damaged segment serves nothing.
    await expectServes(c, written.slice(40));
    const health = await expectAnswers(c);
    expect(health.body.status).toBe('degraded');
    expect((health.body.recovery as Recovery).segment_errors).toEqual([expect.objectContaining({ file: segment })]);
    await expectFreshVersions(c, written);
  });

  it('one flipped bit inside a payload (a Snappy literal that would still decode): caught by the checksum, never served', async () => {
    const dir = freshDir();
    const written = await build(dir, [40, 'flush', 3]);
    const [segment] = await segmentFiles(dir);
    const file = path.join(dir, 'segments', segment!);
    const bytes = await readFile(file);
    // Snappy stores literal runs as they are: the payload text is in the file byte for byte.
    const at = bytes.indexOf(Buffer.from('corrupt-test'));
    expect(at).toBeGreaterThan(0);
    bytes[at]! ^= 0x01; // 'c' → 'b'
    await writeFile(file, bytes);

    const c = await startOn(dir);
    await expectServes(c, written.slice(40));
    await expectGone(c, written.slice(0, 40));
    const health = await expectAnswers(c);
    expect(health.body.status).toBe('degraded');
    const errors = (health.body.recovery as Recovery).segment_errors!;
    expect(errors).toEqual([expect.objectContaining({ file: segment, events: 40, error: expect.stringMatching(/checksum/) })]);
  });

  it('a manifest entry whose file is missing: reported, its LSNs never reused, later writes survive a restart', async () => {
    const dir = freshDir();
    const written = await build(dir, [10, 'flush', 10, 'flush', 4]);
    const segments = await segmentFiles(dir);
    expect(segments).toHaveLength(2);
    await unlink(path.join(dir, 'segments', segments[1]!));

    let c = await startOn(dir);
    await expectServes(c, [...written.slice(0, 10), ...written.slice(20)]);
    const health = await expectAnswers(c);
    expect(health.body.status).toBe('degraded');
    const errors = (health.body.recovery as Recovery).segment_errors!;
    expect(errors).toEqual([expect.objectContaining({ file: segments[1], events: 10 })]);
    expect(String(errors[0]!.error)).toMatch(/ENOENT/);
    expect(JSON.stringify(health.body)).not.toContain(tmp.path);
    const after = await c.client.ingestBatch(ENTITIES.map((entity) => ({ event_type: 'account.checked', entity_id: entity, payload: { n: 1 } })));
    await c.stop();

    c = await startOn(dir);
    const ids = new Set((await served(c)).map((e) => e.id));
    for (const e of after.events) expect(ids.has(e.event_id)).toBe(true);
    expect(ids.size).toBe(14 + ENTITIES.length);
    expect((await readManifest(dir)).segments.map((s) => s.file)).toContain(segments[1]);
  });

  it('a segment file missing from the manifest (lost entry) is adopted, not deleted: its events are served again', async () => {
    const dir = freshDir();
    const written = await build(dir, [10, 'flush', 10, 'flush', 10, 'flush']);
    const segments = await segmentFiles(dir);
    expect(segments).toHaveLength(3);
    // The WAL no longer holds these events: the segment is their only copy.
    const manifest = await readManifest(dir);
    manifest.segments = manifest.segments.filter((s) => s.file !== segments[1]);
    await writeFile(path.join(dir, 'segments', 'manifest.json'), JSON.stringify(manifest));

    let c = await startOn(dir);
    await expectServes(c, written);
    const health = await expectAnswers(c);
    expect(health.status).toBe(200);
    expect(health.body.status).toBe('healthy');
    expect((health.body.recovery as { orphans_adopted?: string[] }).orphans_adopted).toEqual([segments[1]]);
    expect((await readManifest(dir)).segments.map((s) => s.file)).toEqual(segments);
    await expectFreshVersions(c, written);
    await c.stop();

    c = await startOn(dir);
    expect((await served(c)).length).toBe(30 + ENTITIES.length);
    expect((await expectAnswers(c)).body.recovery).toBeUndefined();
  });

  it('a missing manifest.json: every segment is adopted (none deleted), old files of a compaction are recognised as leftovers', async () => {
    const dir = freshDir();
    const written = await build(dir, [10, 'flush', 10, 'flush', 10, 'flush', 5]);
    const segments = await segmentFiles(dir);
    expect(segments).toHaveLength(3);
    // What a compaction leaves when it dies after its swap, before deleting the files it merged.
    const originals = new Map<string, Buffer>();
    for (const f of segments) originals.set(f, await readFile(path.join(dir, 'segments', f)));
    const store = await openTestStore(dir, { rowGroupSize: 16 });
    await store.compact({ minFiles: 2, smallSegmentBytes: 1024 * 1024, targetBytes: 1024 * 1024 });
    const merged = store.segments[0]!.file;
    await store.close({ flush: false });
    const leftovers = segments.filter((f) => f !== merged);
    expect(leftovers.length).toBeGreaterThan(0);
    for (const f of leftovers) await writeFile(path.join(dir, 'segments', f), originals.get(f)!);
    await unlink(path.join(dir, 'segments', 'manifest.json'));

    const c = await startOn(dir);
    await expectServes(c, written);
    const health = await expectAnswers(c);
    expect(health.body.status).toBe('healthy');
    const adopted = (health.body.recovery as { orphans_adopted?: string[] }).orphans_adopted!;
    expect(adopted).toContain(merged);
    const listed = (await readManifest(dir)).segments.map((s) => s.file);
    expect(listed).toEqual(adopted.slice().sort());
    expect((await segmentFiles(dir)).sort()).toEqual(listed.slice().sort());
    await expectFreshVersions(c, written);
  });

  it('an orphan segment of a flush that died before its manifest swap is still removed (its events come from the WAL)', async () => {
    const dir = freshDir();
    const written = await build(dir, [10, 'flush', 8]);
    const manifest = await readManifest(dir);
    // What a flush that died after writing its file leaves: a segment beyond flushedLsn.
    const [first] = await segmentFiles(dir);
    const last = written[written.length - 1]!;
    const orphan = `seg-${String(written[10]!.lsn).padStart(16, '0')}-${String(last.lsn).padStart(16, '0')}-g0.parquet`;
    await writeFile(path.join(dir, 'segments', orphan), await readFile(path.join(dir, 'segments', first!)));
    expect(manifest.flushedLsn).toBeLessThan(written[10]!.lsn);

    const c = await startOn(dir);
    await expectServes(c, written);
    expect(await segmentFiles(dir)).toEqual([first]);
    expect((await expectAnswers(c)).body.status).toBe('healthy');
  });
});
