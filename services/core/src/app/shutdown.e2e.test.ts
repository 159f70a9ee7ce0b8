/**
 * Graceful shutdown of the real service: SIGTERM while writers are busy. The process finishes
 * the writes it accepted, flushes its whole buffer into Parquet segments, exits 0, and after a
 * restart every acknowledged event is there exactly once, served from segments (the WAL holds
 * nothing left to replay).
 *
 * Needs the build (`tsc -b tsconfig.build.json`) to have produced services/core/dist/main.js.
 */
import { readdir, stat } from 'node:fs/promises';
import * as path from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { isApiError, type AllSourceClient, type Event, type IngestEventRequest } from '@allsource/client';
import { exitWithin, spawnCore, useSpawnedCores } from '../testing/childCore';
import { sqlString, withDuck } from '../testing/duckdb';
import { sleep } from '../testing/wait';

const tmp = useSpawnedCores('allsource-shutdown-e2e-');

const ENTITIES = Array.from({ length: 16 }, (_, i) => `order-${i}`);

interface Load {
  sent: Map<string, IngestEventRequest>;
  acked: Map<string, { id: string; version: number; timestamp: string }>;
  unexpectedErrors: string[];
  stop(): void;
  done: Promise<void>;
}

/** 8 single-event writers and 2 batch writers (50 events), each bounded in iterations. */
function startLoad(client: AllSourceClient, tag: string): Load {
  const sent = new Map<string, IngestEventRequest>();
  const acked = new Map<string, { id: string; version: number; timestamp: string }>();
  const unexpectedErrors: string[] = [];
  let stopped = false;
  const event = (marker: string, k: number): IngestEventRequest => ({
    event_type: k % 2 === 0 ? 'order.updated' : 'order.noted',
    entity_id: ENTITIES[k % ENTITIES.length]!,
    payload: { marker, k, text: `«${marker}» ✓`, items: [{ sku: `s${k % 9}`, qty: k % 4 }] },
    metadata: k % 3 === 0 ? { by: tag } : null,
  });
  // Network errors end a writer (the process is gone); 503 while shutting down is retried.
  const keepGoing = (err: unknown): boolean => {
    if (stopped || isApiError(err, 'network')) return false;
    if (isApiError(err, 'unavailable')) return true;
    unexpectedErrors.push(String((err as Error)?.message ?? err));
    return false;
  };
  const single = async (w: number) => {
    for (let i = 0; i < 50_000 && !stopped; i++) {
      const marker = `${tag}-s${w}-${i}`;
      const request = event(marker, w * 5 + i);
      sent.set(marker, request);
      try {
        const res = await client.ingest(request);
        acked.set(marker, { id: res.event_id, version: res.version, timestamp: res.timestamp });
      } catch (err) {
        if (!keepGoing(err)) return;
        await sleep(20);
      }
    }
  };
  const batch = async (w: number) => {
    for (let b = 0; b < 2_000 && !stopped; b++) {
      const markers = Array.from({ length: 50 }, (_, k) => `${tag}-b${w}-${b}-${k}`);
      const events = markers.map((m, k) => event(m, w * 3 + b + k));
      markers.forEach((m, k) => sent.set(m, events[k]!));
      try {
        const res = await client.ingestBatch(events);
        res.events.forEach((r, k) => acked.set(markers[k]!, { id: r.event_id, version: r.version, timestamp: r.timestamp }));
      } catch (err) {
        if (!keepGoing(err)) return;
        await sleep(20);
      }
    }
  };
  const done = Promise.all([...Array.from({ length: 8 }, (_, w) => single(w)), batch(0), batch(1)]).then(() => undefined);
  return { sent, acked, unexpectedErrors, stop: () => (stopped = true), done };
}

async function entityEvents(client: AllSourceClient, entityId: string): Promise<Event[]> {
  const out: Event[] = [];
  for (let offset = 0; offset < 1_000_000; offset += 1000) {
    const page = await client.queryEvents({ entity_id: entityId, limit: 1000, offset });
    out.push(...page.events);
    if (page.events.length < 1000) break;
  }
  return out;
}

/** Problems found when comparing the restarted service with what the writers sent and got acknowledged. */
async function compare(client: AllSourceClient, load: Load): Promise<{ problems: string[]; total: number }> {
  const problems: string[] = [];
  const found = new Map<string, Event>();
  for (const entity of ENTITIES) {
    const events = await entityEvents(client, entity);
    events.forEach((e, i) => {
      if (e.version !== i + 1) problems.push(`${entity}: event ${i} has version ${e.version}`);
      const marker = (e.payload as { marker?: unknown } | null)?.marker;
      const request = typeof marker === 'string' ? load.sent.get(marker) : undefined;
      if (!request) return void problems.push(`never sent: ${JSON.stringify(e)}`);
      if (found.has(marker as string)) problems.push(`twice: ${marker}`);
      found.set(marker as string, e);
      if (
        e.event_type !== request.event_type ||
        e.entity_id !== request.entity_id ||
        !isDeepStrictEqual(e.payload, request.payload) ||
        !isDeepStrictEqual(e.metadata, request.metadata ?? null)
      ) {
        problems.push(`altered: sent ${JSON.stringify(request)}, got ${JSON.stringify(e)}`);
      }
    });
  }
  for (const [marker, a] of load.acked) {
    const e = found.get(marker);
    if (!e) problems.push(`acknowledged but missing: ${marker}`);
    else if (e.id !== a.id || e.version !== a.version || e.timestamp !== a.timestamp) {
      problems.push(`acknowledged ${marker} as ${JSON.stringify(a)}, found ${JSON.stringify(e)}`);
    }
  }
  for (const [marker, a] of [...load.acked].slice(-100)) {
    const e = await client.getEvent(a.id).catch((err: Error) => `failed: ${err.message}`);
    if (!isDeepStrictEqual(e, found.get(marker))) problems.push(`GET ${a.id}: ${JSON.stringify(e)}`);
  }
  return { problems, total: found.size };
}

async function walBytes(dataDir: string): Promise<number> {
  let total = 0;
  for (const f of await readdir(path.join(dataDir, 'wal'))) {
    if (f.endsWith('.log')) total += (await stat(path.join(dataDir, 'wal', f))).size;
  }
  return total;
}

async function parquetRowCount(dataDir: string): Promise<{ files: number; rows: number; distinctIds: number }> {
  const files = (await readdir(path.join(dataDir, 'segments'))).filter((f) => f.endsWith('.parquet'));
  if (files.length === 0) return { files: 0, rows: 0, distinctIds: 0 };
  const sql = `select count(*), count(distinct id) from read_parquet(${sqlString(path.join(dataDir, 'segments', '*.parquet'))})`;
  const [[rows, distinctIds]] = (await withDuck(async (con) => (await con.runAndReadAll(sql)).getRows())) as [[bigint, bigint]];
  return { files: files.length, rows: Number(rows), distinctIds: Number(distinctIds) };
}

async function sigtermUnderLoad(env: Record<string, string>, tag: string, expectSegmentsBefore: boolean): Promise<void> {
  const dataDir = path.join(tmp.path, tag);
  // A shutdown that waits for its timeout (e.g. for keep-alive connections to go quiet) would
  // take a minute here and fail the bounded wait below.
  const child = await spawnCore(dataDir, { SHUTDOWN_TIMEOUT_MS: '60000', ...env });
  const load = startLoad(child.client, tag);
  // Let the writers get going (bounded), then check where the events are before the signal.
  const started = Date.now();
  while (Date.now() - started < 20_000 && (Date.now() - started < 1500 || load.acked.size < 2000)) await sleep(25);
  const before = await child.client.stats();
  if (expectSegmentsBefore) {
    expect(before.parquet_files).toBeGreaterThan(0);
  } else {
    expect(before.parquet_files).toBe(0);
    expect(before.buffered_events).toBeGreaterThan(0);
  }

  child.kill('SIGTERM');
  // Exits by itself, cleanly, in a few seconds (bounded wait; SIGKILLed by afterAll otherwise).
  const exit = await exitWithin(child, 20_000);
  expect({ exit, output: exit?.code === 0 ? '' : child.output() }).toEqual({ exit: { code: 0, signal: null }, output: '' });
  load.stop();
  await load.done;
  expect(load.unexpectedErrors).toEqual([]);
  expect(load.acked.size).toBeGreaterThan(0);

  // The buffer went into segments: they hold every event once, and the WAL holds nothing to replay.
  const parquet = await parquetRowCount(dataDir);
  expect(parquet.files).toBeGreaterThan(0);
  expect(parquet.distinctIds).toBe(parquet.rows);
  expect(parquet.rows).toBeGreaterThanOrEqual(load.acked.size);
  expect(await walBytes(dataDir)).toBe(0);

  const restarted = await spawnCore(dataDir, env);
  const after = await restarted.client.stats();
  expect(after.buffered_events).toBe(0);
  expect(after.total_events).toBe(parquet.rows);
  const { problems, total } = await compare(restarted.client, load);
  expect({ problems: problems.length, first: problems.slice(0, 20) }).toEqual({ problems: 0, first: [] });
  expect(total).toBe(parquet.rows);

  restarted.kill('SIGTERM');
  expect(await exitWithin(restarted, 20_000)).toEqual({ code: 0, signal: null });
}

describe('SIGTERM under load', () => {
  it('flushes a buffer that no flush had touched yet, exits 0 and keeps every acknowledged event', async () => {
    await sigtermUnderLoad({ FLUSH_MAX_EVENTS: '1000000', FLUSH_MAX_AGE_MS: '600000' }, 'unflushed', false);
  }, 120_000);

  it('flushes the whole backlog when segment flushes are running, exits 0 and keeps every acknowledged event', async () => {
    await sigtermUnderLoad({ FLUSH_MAX_EVENTS: '500', FLUSH_MAX_AGE_MS: '600000' }, 'flushing', true);
  }, 120_000);
});
