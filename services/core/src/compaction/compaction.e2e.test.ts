/**
 * Compaction under kill -9: the real service (`node dist/main.js`) flushes a small segment every
 * 40 events and compacts every 50 ms while writers ingest; it is killed with SIGKILL at a random
 * moment once compactions have run, restarted on the same data directory and checked through
 * the HTTP API. Every acknowledged event must be there exactly once and unaltered, versions 1..n,
 * nothing never sent, and no file outside the manifest left behind after recovery.
 *
 * Needs the build (`tsc -b tsconfig.build.json`) to have produced services/core/dist/main.js.
 */
import { readFile, readdir } from 'node:fs/promises';
import * as path from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { isApiError, type AllSourceClient, type Event, type IngestEventRequest } from '@allsource/client';
import { spawnCore, useSpawnedCores, type CoreChild } from '../testing/childCore';
import { sleep } from '../testing/wait';
import { SIDECAR_SUFFIX } from '../storage/segments/indexSidecar';

const ENV = { FLUSH_MAX_EVENTS: '40', FLUSH_MAX_AGE_MS: '200', COMPACTION_INTERVAL_MS: '50', ROW_GROUP_SIZE: '16' };
const ENTITIES = Array.from({ length: 8 }, (_, i) => `cmp-${i}`);

const tmp = useSpawnedCores('allsource-compaction-e2e-');

/** A restarted core that writes nothing by itself (no compaction, no age flush): for checking. */
const QUIET = { COMPACTION_INTERVAL_MS: '0', FLUSH_MAX_AGE_MS: '3600000' };

const startChild = (over: Record<string, string> = {}): Promise<CoreChild> => spawnCore(tmp.path, { ...ENV, ...over }, { clientTimeoutMs: 10_000 });

const sent = new Map<string, IngestEventRequest>();
const acked = new Map<string, { id: string; version: number; timestamp: string }>();

/** Batch writers (sizes 1–9) until stopped; the kill ends them. */
function runLoad(child: CoreChild, cycle: number): { stop: () => void; done: Promise<string[]> } {
  let stopped = false;
  const errors: string[] = [];
  const writer = async (w: number): Promise<void> => {
    for (let b = 0; b < 20_000 && !stopped; b++) {
      const size = 1 + ((b * 7 + w) % 9);
      const markers = Array.from({ length: size }, (_, k) => `c${cycle}-w${w}-${b}-${k}`);
      const events = markers.map((marker, k) => ({
        event_type: 'compaction.load',
        entity_id: ENTITIES[(w + b + k) % ENTITIES.length]!,
        payload: { marker, n: b * 10 + k, text: `ünïcødé ✓ ${marker}`, list: [k, null, { b }] },
        metadata: k % 2 === 0 ? null : { w },
      }));
      markers.forEach((m, k) => sent.set(m, events[k]!));
      try {
        const res = await child.client.ingestBatch(events);
        res.events.forEach((r, k) => acked.set(markers[k]!, { id: r.event_id, version: r.version, timestamp: r.timestamp }));
      } catch (err) {
        if (isApiError(err, 'network') || stopped) return;
        if (isApiError(err, 'unavailable')) {
          await sleep(10);
          continue;
        }
        errors.push(String((err as Error).message));
        return;
      }
    }
  };
  const done = Promise.all([0, 1, 2, 3].map(writer)).then(() => errors);
  return { stop: () => (stopped = true), done };
}

async function verify(client: AllSourceClient): Promise<void> {
  const problems: string[] = [];
  const found = new Map<string, Event>();
  for (const entity of ENTITIES) {
    const events: Event[] = [];
    for (let offset = 0; ; offset += 1000) {
      const page = await client.queryEvents({ entity_id: entity, limit: 1000, offset });
      events.push(...page.events);
      if (page.events.length < 1000) break;
    }
    events.forEach((e, i) => {
      if (e.version !== i + 1) problems.push(`${entity}: event ${i} has version ${e.version}`);
      const marker = (e.payload as { marker?: string }).marker ?? '';
      const request = sent.get(marker);
      if (!request) problems.push(`never sent: ${JSON.stringify(e)}`);
      else if (found.has(marker)) problems.push(`twice: ${marker}`);
      else if (!isDeepStrictEqual(e.payload, request.payload) || !isDeepStrictEqual(e.metadata, request.metadata ?? null)) {
        problems.push(`altered: ${marker}`);
      }
      found.set(marker, e);
    });
  }
  for (const [marker, a] of acked) {
    const e = found.get(marker);
    if (!e || e.id !== a.id || e.version !== a.version || e.timestamp !== a.timestamp) problems.push(`acknowledged ${marker} missing or changed`);
  }
  expect({ problems: problems.length, first: problems.slice(0, 20) }).toEqual({ problems: 0, first: [] });
}

/**
 * The segment files on disk are exactly those of the manifest (recovery removed the orphans),
 * and every index sidecar left is one of a listed segment (no half-written one).
 */
async function expectNoOrphans(): Promise<void> {
  const dir = path.join(tmp.path, 'segments');
  const manifest = JSON.parse(await readFile(path.join(dir, 'manifest.json'), 'utf8')) as { segments: Array<{ file: string }> };
  const listed = manifest.segments.map((s) => s.file).sort();
  const files = (await readdir(dir)).filter((f) => f !== 'manifest.json');
  const sidecars = files.filter((f) => f.includes('.idx'));
  expect(files.filter((f) => !f.includes('.idx')).sort()).toEqual(listed);
  for (const sidecar of sidecars) expect(listed.map((f) => f + SIDECAR_SUFFIX)).toContain(sidecar);
}

describe('compaction under kill -9', () => {
  it('keeps every acknowledged event exactly once when the process dies during compactions', async () => {
    for (let cycle = 1; cycle <= 3; cycle++) {
      const child = await startChild();
      const load = runLoad(child, cycle);
      // Kill at a random moment once this process has compacted at least twice.
      const started = Date.now();
      let compactions = 0;
      while (compactions < 2 && Date.now() - started < 60_000) {
        compactions = (await child.client.compaction.stats()).stats.total_compactions;
        if (compactions < 2) await sleep(20);
      }
      await sleep(Math.floor(Math.random() * 400));
      child.kill('SIGKILL');
      expect((await child.exited).signal).toBe('SIGKILL');
      load.stop();
      expect(await load.done).toEqual([]);
      expect(compactions).toBeGreaterThanOrEqual(2);

      // Restart quietly: recovery removed every orphan, and every acknowledged event is there once.
      const checker = await startChild(QUIET);
      await expectNoOrphans();
      await verify(checker.client);
      if (cycle === 3) {
        // A compaction of what the last cycle left changes nothing either.
        await checker.client.compaction.trigger();
        await verify(checker.client);
      }
      checker.kill('SIGTERM');
      expect((await checker.exited).signal).toBeNull();
    }
    expect(acked.size).toBeGreaterThan(100);
  }, 300_000);
});
