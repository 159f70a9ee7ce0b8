/**
 * Disk faults through the FileSystem seam (`startCore(config, { logger, fs })`): ENOSPC and EIO
 * on WAL writes, fdatasync, file creation (rotation) and segment flushes, against the whole core
 * over HTTP. While a WAL fault lasts, ingest answers 503 STORAGE_UNAVAILABLE (JSON error) and
 * acknowledges nothing that is not durable, /health answers 503 unhealthy; once the fault clears,
 * health recovers by itself (no write needed) and writes resume; after a restart exactly the
 * acknowledged events are there, once each. A failing segment flush keeps the events in the
 * buffer and the WAL and is retried.
 */
import { readdir, stat } from 'node:fs/promises';
import * as path from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import type { AllSourceClient, Event, IngestEventRequest } from '@allsource/client';
import { mulberry32 } from '../testing/random';
import { FaultyFileSystem, startCoreOn, type CoreOnDir, type FaultCode, type FaultOp } from '../testing/reliability';
import { useTempDir } from '../testing/tempDirs';
import { waitFor } from '../testing/wait';

const tmp = useTempDir('allsource-disk-faults-');
let dirCounter = 0;
const freshDir = (): string => path.join(tmp.path, `d${++dirCounter}`);

const running: CoreOnDir[] = [];
afterEach(async () => {
  while (running.length > 0) await running.pop()!.stop();
});
async function startOn(dir: string, env: Record<string, string> = {}, fs?: FaultyFileSystem): Promise<CoreOnDir> {
  const c = await startCoreOn(dir, { COMPACTION_INTERVAL_MS: '0', SNAPSHOT_EVERY_EVENTS: '0', ...env }, fs ? { fs } : {});
  running.push(c);
  return c;
}
async function restart(c: CoreOnDir, env: Record<string, string> = {}): Promise<CoreOnDir> {
  await c.stop();
  running.splice(running.indexOf(c), 1);
  return startOn(c.core.config.dataDir, env);
}

const ENTITIES = ['disk-a', 'disk-b', 'disk-c', 'disk-d'];

/** What was sent, acknowledged and refused (with an answer), by marker. */
class Ledger {
  readonly sent = new Map<string, IngestEventRequest>();
  readonly acked = new Map<string, { id: string; version: number }>();
  readonly refused = new Set<string>();
  private n = 0;

  request(tag: string): { marker: string; request: IngestEventRequest } {
    const marker = `${tag}-${this.n++}`;
    const request: IngestEventRequest = {
      event_type: 'disk.tested',
      entity_id: ENTITIES[this.n % ENTITIES.length]!,
      payload: { marker, text: `ünïcødé ✓ ${marker}`, n: this.n, list: [1, null, { x: true }] },
      metadata: this.n % 2 === 0 ? null : { n: this.n },
    };
    this.sent.set(marker, request);
    return { marker, request };
  }

  /** One single ingest; returns the status. */
  async single(client: AllSourceClient, tag: string): Promise<number> {
    const { marker, request } = this.request(tag);
    const res = await client.raw<{ event_id: string; version: number; code?: string }>('POST', '/api/v1/events', { body: request });
    this.record([marker], res.status, res.status === 200 ? [res.data] : []);
    return res.status;
  }

  /** One batch of `size`; returns the status. */
  async batch(client: AllSourceClient, tag: string, size: number): Promise<number> {
    const items = Array.from({ length: size }, () => this.request(tag));
    const res = await client.raw<{ events: Array<{ event_id: string; version: number }> }>('POST', '/api/v1/events/batch', {
      body: { events: items.map((i) => i.request) },
    });
    this.record(
      items.map((i) => i.marker),
      res.status,
      res.status === 200 ? res.data.events : [],
    );
    return res.status;
  }

  private record(markers: string[], status: number, answers: Array<{ event_id: string; version: number }>): void {
    if (status === 200) markers.forEach((m, i) => this.acked.set(m, { id: answers[i]!.event_id, version: answers[i]!.version }));
    else for (const m of markers) this.refused.add(m);
  }
}

/** Every stored event, checked against the ledger: acknowledged ones once and identical, no refused one, versions 1..n. */
async function expectExactlyAcknowledged(client: AllSourceClient, ledger: Ledger): Promise<void> {
  const res = await client.raw<{ events: Event[] }>('GET', '/api/v1/events/query', { params: { limit: 10_000 } });
  expect(res.status).toBe(200);
  const problems: string[] = [];
  const found = new Map<string, Event>();
  const versions = new Map<string, number[]>();
  for (const e of res.data.events) {
    const marker = (e.payload as { marker?: string }).marker ?? '';
    if (found.has(marker)) problems.push(`twice: ${marker}`);
    found.set(marker, e);
    if (ledger.refused.has(marker)) problems.push(`refused but stored: ${marker}`);
    const sent = ledger.sent.get(marker);
    if (!sent) problems.push(`never sent: ${marker}`);
    else if (!isDeepStrictEqual(e.payload, sent.payload) || !isDeepStrictEqual(e.metadata, sent.metadata ?? null) || e.entity_id !== sent.entity_id) {
      problems.push(`altered: ${marker}`);
    }
    versions.set(e.entity_id, [...(versions.get(e.entity_id) ?? []), e.version]);
  }
  for (const [marker, a] of ledger.acked) {
    const e = found.get(marker);
    if (!e || e.id !== a.id || e.version !== a.version) problems.push(`acknowledged ${marker} (${a.id} v${a.version}) found as ${e ? `${e.id} v${e.version}` : 'missing'}`);
  }
  for (const [entity, list] of versions) if (!isDeepStrictEqual(list, list.map((_, i) => i + 1))) problems.push(`${entity} versions ${list.join(',')}`);
  expect(problems.slice(0, 10)).toEqual([]);
  expect(found.size).toBe(ledger.acked.size);
}

async function health(c: CoreOnDir): Promise<{ status: number; body: { status: string; reason?: string } }> {
  const res = await c.client.raw<{ status: string; reason?: string }>('GET', '/health');
  return { status: res.status, body: res.data };
}

/** A 503 with the API's JSON error (no stack, the storage code). */
function expectStorageUnavailable(res: { status: number; data: unknown; headers: Record<string, string> }): void {
  expect(res.status).toBe(503);
  expect(res.headers['content-type']).toMatch(/application\/json/);
  expect(res.data).toEqual({ error: expect.stringMatching(/^Storage error: /), code: 'STORAGE_UNAVAILABLE' });
  expect(JSON.stringify(res.data)).not.toMatch(/\n\s+at /);
}

describe.each<[FaultOp, FaultCode]>([
  ['write', 'ENOSPC'],
  ['write', 'EIO'],
  ['fdatasync', 'EIO'],
  ['fdatasync', 'ENOSPC'],
])('WAL %s fails with %s', (op, code) => {
  it('ingest answers 503 STORAGE_UNAVAILABLE and stores nothing, /health is 503 until the fault clears, then both recover; a restart keeps exactly the acknowledged events', async () => {
    const fs = new FaultyFileSystem();
    const ledger = new Ledger();
    let c = await startOn(freshDir(), {}, fs);
    for (let i = 0; i < 5; i++) expect(await ledger.single(c.client, 'before')).toBe(200);
    expect(await ledger.batch(c.client, 'before', 5)).toBe(200);

    fs.fail(op, code, (file) => file.includes(`${path.sep}wal${path.sep}`));
    const single = await c.client.raw('POST', '/api/v1/events', { body: ledger.request('during').request });
    expectStorageUnavailable(single);
    ledger.refused.add([...ledger.sent.keys()].pop()!);
    for (let i = 0; i < 3; i++) expect(await ledger.single(c.client, 'during')).toBe(503);
    expect(await ledger.batch(c.client, 'during', 7)).toBe(503);
    expect(fs.injected[op]).toBeGreaterThan(0);
    let h = await health(c);
    expect(h.status).toBe(503);
    expect(h.body.status).toBe('unhealthy');
    expect(h.body.reason).toContain(code);
    // Still unhealthy a while later while the fault lasts (the probe keeps failing).
    await new Promise((resolve) => setTimeout(resolve, 1200));
    expect((await health(c)).status).toBe(503);
    // Reads keep working.
    expect((await c.client.raw('GET', '/api/v1/events/query')).status).toBe(200);

    fs.heal();
    // Health recovers without any write (the probe), then writes resume.
    h = await waitFor('health to recover', async () => {
      const r = await health(c);
      return r.status === 200 ? r : undefined;
    });
    expect(h.body.status).toBe('healthy');
    for (let i = 0; i < 5; i++) expect(await ledger.single(c.client, 'after')).toBe(200);
    expect(await ledger.batch(c.client, 'after', 4)).toBe(200);
    await expectExactlyAcknowledged(c.client, ledger);

    c = await restart(c);
    await expectExactlyAcknowledged(c.client, ledger);
    expect(ledger.acked.size).toBe(19);
  });
});

describe('WAL faults under concurrent load', () => {
  it('random ENOSPC/EIO on write, fdatasync, file creation and folder sync while 6 writers ingest: nothing refused is stored, nothing acknowledged lost or duplicated', async () => {
    const rand = mulberry32(20261127);
    const fs = new FaultyFileSystem();
    const ledger = new Ledger();
    // Small WAL files and flushes: rotations and flushes happen under the faults too.
    let c = await startOn(freshDir(), { WAL_MAX_FILE_BYTES: '2048', FLUSH_MAX_EVENTS: '40', FLUSH_MAX_AGE_MS: '100' }, fs);
    let stop = false;
    const statuses = new Map<number, number>();
    const writer = async (w: number): Promise<void> => {
      for (let i = 0; i < 2000 && !stop; i++) {
        const status = w % 3 === 0 ? await ledger.batch(c.client, `w${w}`, 1 + (i % 6)) : await ledger.single(c.client, `w${w}`);
        statuses.set(status, (statuses.get(status) ?? 0) + 1);
        if (status !== 200) await new Promise((resolve) => setTimeout(resolve, 2));
      }
    };
    const writers = Array.from({ length: 6 }, (_, w) => writer(w));
    const ops: FaultOp[] = ['write', 'fdatasync', 'openAppend', 'fsyncDir'];
    const walOnly = (file: string): boolean => file.includes(`${path.sep}wal`);
    for (let round = 0; round < 16; round++) {
      await new Promise((resolve) => setTimeout(resolve, 40 + Math.floor(rand() * 80)));
      if (round % 2 === 0) fs.fail(ops[Math.floor(rand() * ops.length)]!, rand() < 0.5 ? 'ENOSPC' : 'EIO', walOnly);
      else fs.heal();
    }
    fs.heal();
    await new Promise((resolve) => setTimeout(resolve, 300));
    stop = true;
    await Promise.all(writers);
    // Only 200 and 503 were answered, and both happened.
    expect([...statuses.keys()].sort()).toEqual([200, 503]);
    await waitFor('health to recover', async () => (await health(c)).status === 200);
    expect(await ledger.single(c.client, 'final')).toBe(200);
    await expectExactlyAcknowledged(c.client, ledger);

    c = await restart(c);
    await expectExactlyAcknowledged(c.client, ledger);
    expect(ledger.refused.size).toBeGreaterThan(0);
    expect(ledger.acked.size).toBeGreaterThan(50);
  });
});

describe('segment flush faults', () => {
  async function walBytes(dir: string): Promise<number> {
    let total = 0;
    for (const f of await readdir(path.join(dir, 'wal'))) if (f.endsWith('.log')) total += (await stat(path.join(dir, 'wal', f))).size;
    return total;
  }

  it.each<[string, (file: string) => boolean]>([
    ['the segment file', (file) => file.endsWith('.parquet')],
    ['the manifest', (file) => file.endsWith('manifest.json')],
  ])('a failing write of %s keeps events in the buffer and the WAL, ingest goes on, the flush is retried once it clears', async (_name, filter) => {
    const fs = new FaultyFileSystem();
    const ledger = new Ledger();
    const dir = freshDir();
    let c = await startOn(dir, { FLUSH_MAX_EVENTS: '10', FLUSH_MAX_AGE_MS: '50' }, fs);
    fs.fail('writeFileAtomic', 'EIO', filter);
    for (let i = 0; i < 30; i++) expect(await ledger.single(c.client, 'flushfail')).toBe(200);
    await waitFor('a failed flush', () => (fs.injected.writeFileAtomic ?? 0) >= 2);
    // Nothing reached a segment; everything is served (from the buffer) and is in the WAL.
    expect(c.core.store.stats().bufferedEvents).toBe(30);
    expect(c.core.store.segments).toHaveLength(0);
    expect(await walBytes(dir)).toBeGreaterThan(0);
    await expectExactlyAcknowledged(c.client, ledger);
    expect((await health(c)).status).toBe(200);
    expect(c.logs.some((l) => l.level === 50 && /segment flush failed/.test(l.msg))).toBe(true);

    fs.heal();
    await waitFor('the retried flushes', () => c.core.store.stats().bufferedEvents === 0, 20_000);
    expect(c.core.store.segments.reduce((n, s) => n + s.events, 0)).toBe(30);
    await expectExactlyAcknowledged(c.client, ledger);
    c = await restart(c);
    await expectExactlyAcknowledged(c.client, ledger);
    // The files of the failed attempts are gone; only listed segments remain.
    const onDisk = (await readdir(path.join(dir, 'segments'))).filter((f) => f.endsWith('.parquet')).sort();
    expect(onDisk).toEqual(c.core.store.segments.map((s) => s.file).sort());
  });

  it('a flush failing for good fills the buffer: ingest answers 503, /health 503 with the reason; healing drains it', async () => {
    const fs = new FaultyFileSystem();
    const ledger = new Ledger();
    const dir = freshDir();
    const c = await startOn(dir, { FLUSH_MAX_EVENTS: '5', FLUSH_MAX_AGE_MS: '50', BUFFER_MAX_BYTES: '4096' }, fs);
    fs.fail('writeFileAtomic', 'ENOSPC', (file) => file.includes(`${path.sep}segments${path.sep}`));
    let status = 200;
    for (let i = 0; i < 200 && status === 200; i++) status = await ledger.single(c.client, 'fill');
    expect(status).toBe(503);
    // Once a flush attempt has failed (one may still be running when the buffer fills).
    const h = await waitFor('health to report the failing flush', async () => {
      const r = await health(c);
      return r.status === 503 ? r : undefined;
    });
    expect(h.body.reason).toMatch(/segment flush failing/);

    fs.heal();
    await waitFor('the buffer to drain', () => c.core.store.stats().bufferedEvents === 0, 20_000);
    expect((await health(c)).status).toBe(200);
    expect(await ledger.single(c.client, 'after')).toBe(200);
    await expectExactlyAcknowledged(c.client, ledger);
  });
});
