/**
 * Crash safety of the real service: `node dist/main.js` is killed with SIGKILL in the middle of
 * a concurrent write load (single and batch ingests, segment flushes running), restarted on the
 * same data directory, and checked through the HTTP API. Three kill/restart cycles.
 *
 * Every acknowledged event must be there exactly once with its content, entity versions must be
 * 1..n without gaps, and nothing that was never sent may appear. Writes that were in flight at
 * the kill may or may not be there, but only whole (a batch all or nothing) and unaltered.
 *
 * Needs the build (`tsc -b tsconfig.build.json`) to have produced services/core/dist/main.js.
 */
import { readdir } from 'node:fs/promises';
import * as path from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { isApiError, type AllSourceClient, type Event, type IngestEventRequest } from '@allsource/client';
import { spawnCore, useSpawnedCores, type CoreChild } from '../testing/childCore';
import { storedAsSent } from '../testing/crashTorture';
import { sleep } from '../testing/wait';

const tmp = useSpawnedCores('allsource-crash-e2e-');

// --- the load -----------------------------------------------------------------------------------

const ENTITIES = Array.from({ length: 24 }, (_, i) => `acct-${i}`);
const BATCH_SIZE = 50;

interface Sent {
  request: IngestEventRequest;
  /** Batch key for events sent in one batch; undefined for single ingests. */
  batch?: string;
}

interface Acked {
  id: string;
  version: number;
  timestamp: string;
}

/** Every event ever sent, by its unique marker. */
const sent = new Map<string, Sent>();
/** Every event the service acknowledged (2xx), by marker. */
const acked = new Map<string, Acked>();
/** Markers of the events found after the last restart (with their id and version). */
let present = new Map<string, Acked>();

function makeEvent(marker: string, entityIndex: number, type: string, batch?: string): IngestEventRequest {
  return {
    event_type: type,
    entity_id: ENTITIES[entityIndex % ENTITIES.length]!,
    payload: {
      marker,
      ...(batch ? { batch } : {}),
      amount: (entityIndex * 37.25) % 1000,
      note: `ünïcødé ✓ "quoted" ${marker}`,
      nested: { list: [entityIndex, marker.length, null, true], empty: {} },
    },
    metadata: entityIndex % 2 === 0 ? null : { writer: marker.split('-')[1] ?? '', source: 'crash-test' },
  };
}

interface LoadResult {
  ackedThisCycle: number;
  unexpectedErrors: string[];
}

/**
 * Runs 8 single-event writers and 2 batch writers against `child` until `stop()` says so (each
 * loop is also bounded in iterations), then resolves once they have all given up.
 */
function runLoad(child: CoreChild, cycle: number): { stop: () => void; done: Promise<LoadResult>; acked: () => number } {
  let stopped = false;
  let ackedThisCycle = 0;
  const unexpectedErrors: string[] = [];
  const onError = (err: unknown): 'stop' | 'retry' => {
    // After the kill every request fails without an answer; that ends the writer.
    if (isApiError(err, 'network') || stopped) return 'stop';
    if (isApiError(err, 'unavailable')) return 'retry';
    unexpectedErrors.push(String((err as Error)?.message ?? err));
    return 'stop';
  };

  const single = async (w: number) => {
    for (let i = 0; i < 50_000 && !stopped; i++) {
      const marker = `c${cycle}-s${w}-${i}`;
      const request = makeEvent(marker, w * 7 + i, 'crash.single');
      sent.set(marker, { request });
      try {
        const res = await child.client.ingest(request);
        acked.set(marker, { id: res.event_id, version: res.version, timestamp: res.timestamp });
        ackedThisCycle++;
      } catch (err) {
        if (onError(err) === 'stop') return;
        await sleep(10);
      }
    }
  };

  const batch = async (w: number) => {
    for (let b = 0; b < 2_000 && !stopped; b++) {
      const key = `c${cycle}-b${w}-${b}`;
      const markers = Array.from({ length: BATCH_SIZE }, (_, k) => `${key}-${k}`);
      const events = markers.map((m, k) => makeEvent(m, w * 11 + b + k, 'crash.batch', key));
      markers.forEach((m, k) => sent.set(m, { request: events[k]!, batch: key }));
      try {
        const res = await child.client.ingestBatch(events);
        if (res.events.length !== BATCH_SIZE) unexpectedErrors.push(`batch ${key} answered ${res.events.length} events`);
        res.events.forEach((r, k) => acked.set(markers[k]!, { id: r.event_id, version: r.version, timestamp: r.timestamp }));
        ackedThisCycle += BATCH_SIZE;
      } catch (err) {
        if (onError(err) === 'stop') return;
        await sleep(10);
      }
    }
  };

  const done = Promise.all([...Array.from({ length: 8 }, (_, w) => single(w)), batch(0), batch(1)]).then(() => ({
    ackedThisCycle,
    unexpectedErrors,
  }));
  return { stop: () => (stopped = true), done, acked: () => ackedThisCycle };
}

// --- verification -------------------------------------------------------------------------------

async function allEventsOf(client: AllSourceClient, entityId: string): Promise<Event[]> {
  const out: Event[] = [];
  const limit = 500;
  for (let offset = 0; offset < 1_000_000; offset += limit) {
    const page = await client.queryEvents({ entity_id: entityId, limit, offset });
    expect(page.count).toBe(page.events.length);
    out.push(...page.events);
    if (page.events.length < limit) break;
  }
  return out;
}

/**
 * Checks the restarted service against everything sent and acknowledged so far. Problems are
 * collected and asserted at the end (one `expect` per event would dominate the run time).
 */
async function verify(child: CoreChild): Promise<void> {
  const problems: string[] = [];
  const found = new Map<string, Event>();
  let total = 0;
  for (const entity of ENTITIES) {
    const events = await allEventsOf(child.client, entity);
    total += events.length;
    // Versions of each entity are exactly 1..n, in order.
    events.forEach((e, i) => {
      if (e.version !== i + 1) problems.push(`${entity}: event ${i} has version ${e.version}`);
    });
    for (const e of events) {
      const marker = (e.payload as { marker?: unknown } | null)?.marker;
      // Never an event that was not sent, never one twice.
      const origin = typeof marker === 'string' ? sent.get(marker) : undefined;
      if (!origin) {
        problems.push(`never sent: ${JSON.stringify(e)}`);
        continue;
      }
      if (found.has(marker as string)) problems.push(`twice: ${marker}`);
      found.set(marker as string, e);
      // Whole and unaltered.
      const { request } = origin;
      if (!storedAsSent(e, request)) {
        problems.push(`altered: sent ${JSON.stringify(request)}, got ${JSON.stringify(e)}`);
      }
    }
  }
  // Nothing outside the entities written to.
  const stats = await child.client.stats();
  if (stats.total_events !== total) problems.push(`stats say ${stats.total_events} events, the entities hold ${total}`);

  // Every acknowledged event is there with the id and version it was acknowledged with.
  for (const [marker, a] of acked) {
    const e = found.get(marker);
    if (!e) problems.push(`acknowledged but missing: ${marker} ${a.id}`);
    else if (e.id !== a.id || e.version !== a.version || e.timestamp !== a.timestamp) {
      problems.push(`acknowledged ${marker} as ${a.id} v${a.version} at ${a.timestamp}, found ${e.id} v${e.version} at ${e.timestamp}`);
    }
  }

  // Events seen after an earlier restart stay exactly as they were.
  for (const [marker, before] of present) {
    const e = found.get(marker);
    if (!e || e.id !== before.id || e.version !== before.version || e.timestamp !== before.timestamp) {
      problems.push(`changed since the last restart: ${marker} was ${JSON.stringify(before)}, now ${JSON.stringify(e ?? 'missing')}`);
    }
  }

  // A batch is all or nothing.
  const perBatch = new Map<string, number>();
  for (const [marker, s] of sent) {
    if (s.batch) perBatch.set(s.batch, (perBatch.get(s.batch) ?? 0) + (found.has(marker) ? 1 : 0));
  }
  for (const [key, count] of perBatch) {
    if (count !== 0 && count !== BATCH_SIZE) problems.push(`batch ${key} is partly there: ${count} of ${BATCH_SIZE}`);
  }

  // Reads by id: the most recently acknowledged events (written just before the kill) and a
  // spread of older ones.
  const ackedList = [...acked.entries()];
  const sample = new Map<string, Acked>(ackedList.slice(-200));
  for (let i = 0; i < ackedList.length; i += Math.max(1, Math.floor(ackedList.length / 200))) sample.set(...ackedList[i]!);
  for (const [marker, a] of sample) {
    const e = await child.client.getEvent(a.id).catch((err: Error) => `failed: ${err.message}`);
    if (!isDeepStrictEqual(e, found.get(marker))) problems.push(`GET ${a.id}: ${JSON.stringify(e)} differs from the query answer`);
  }

  expect({ problems: problems.length, first: problems.slice(0, 20) }).toEqual({ problems: 0, first: [] });
  expect(found.size).toBeGreaterThanOrEqual(acked.size);
  present = new Map([...found].map(([marker, e]) => [marker, { id: e.id, version: e.version, timestamp: e.timestamp }]));
}

/** Markers sent before the current cycle that were absent at the last check must stay absent. */
function lostBefore(cycle: number): string[] {
  return [...sent.keys()].filter((m) => Number(/^c(\d+)-/.exec(m)![1]) < cycle && !present.has(m));
}

describe('kill -9 under load', () => {
  it('keeps every acknowledged event exactly once across three SIGKILL/restart cycles', async () => {
    const env = { FLUSH_MAX_EVENTS: '500', FLUSH_MAX_AGE_MS: '2000' };
    let child = await spawnCore(tmp.path, env);
    const cycles = 3;
    for (let cycle = 1; cycle <= cycles; cycle++) {
      const absentBefore = lostBefore(cycle);
      const load = runLoad(child, cycle);
      // Kill after 1.5–3 s, and not before this cycle has acknowledged enough events for a few
      // segment flushes (FLUSH_MAX_EVENTS=500); bounded at 20 s in any case.
      const killAfter = 1500 + Math.floor(Math.random() * 1500);
      const started = Date.now();
      // The kill must hit a store that has segments too (not only a WAL): wait for the first flush.
      const hasSegments = async () => (await readdir(path.join(tmp.path, 'segments'))).some((f) => f.endsWith('.parquet'));
      while (Date.now() - started < 20_000 && (Date.now() - started < killAfter || load.acked() < 1500 || !(await hasSegments()))) await sleep(25);
      child.kill('SIGKILL');
      const exit = await child.exited;
      expect(exit.signal).toBe('SIGKILL');
      load.stop();
      const result = await load.done;
      expect(result.unexpectedErrors).toEqual([]);
      expect(result.ackedThisCycle).toBeGreaterThan(0);

      child = await spawnCore(tmp.path, env);
      await verify(child);
      // An event absent after an earlier restart never turns up later.
      expect(absentBefore.filter((m) => present.has(m))).toEqual([]);
      const segments = (await readdir(path.join(tmp.path, 'segments'))).filter((f) => f.endsWith('.parquet'));
      expect(segments.length).toBeGreaterThan(0);
    }
    // The restarted service keeps accepting writes on top of the recovered state.
    const res = await child.client.ingest({ event_type: 'crash.after', entity_id: ENTITIES[0]!, payload: { marker: 'final' } });
    const events = await allEventsOf(child.client, ENTITIES[0]!);
    expect(events[events.length - 1]).toMatchObject({ id: res.event_id, version: events.length, payload: { marker: 'final' } });
    child.kill('SIGTERM');
    expect((await child.exited).code).toBe(0);
  }, 240_000);
});
