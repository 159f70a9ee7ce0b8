import * as path from 'node:path';
import type * as Core from '@allsource/core';
import type { EventStoreOptions, NewEvent } from '@allsource/core';
import { readStdinJson } from '../lib/processes';
import { sampleEvent } from '../lib/workload';

/**
 * The storage engine driven through its own API (no HTTP), in a child process of its own
 * (`node --expose-gc dist/children/engine.js`, job as JSON on stdin, result as one JSON line):
 *
 * - `append`: durable batch-append throughput, `writers` concurrent writers for `seconds`;
 *   optionally with another build of the core (`coreDist`, its `dist/` folder) and every
 *   fdatasync made `syncDelayMs` longer (a slower disk), for `micro/engineAB.js`.
 * - `memory`: append up to each step, flush to segments, gc, report process.memoryUsage().
 * - `build`: write a data directory with `segmentEvents` in segments and `walEvents` only in
 *   the WAL (closed without a flush), for the recovery benchmark.
 */
export type EngineJob =
  | { mode: 'append'; dataDir: string; seconds: number; batch: number; writers: number; coreDist?: string; syncDelayMs?: number }
  | { mode: 'memory'; dataDir: string; steps: number[]; batch: number; entities: number }
  | { mode: 'build'; dataDir: string; segmentEvents: number; walEvents: number; batch: number; entities: number };

export interface MemoryPoint {
  events: number;
  heapUsed: number;
  heapTotal: number;
  external: number;
  arrayBuffers: number;
  rss: number;
  /** The id index's table, held by its worker thread: not in this thread's `arrayBuffers`. */
  idIndexBytes: number;
}

/** The core library: this workspace's build, or the one in `dist` (a core `dist/` folder). */
function loadCore(dist?: string): typeof Core {
  return require(dist ? path.resolve(dist, 'index.js') : '@allsource/core') as typeof Core;
}

/** The core's file system with `delayMs` added to every fdatasync. */
function slowerSyncs(dist: string | undefined, delayMs: number): EventStoreOptions['fs'] {
  const coreDir = dist ? path.resolve(dist) : path.dirname(require.resolve('@allsource/core'));
  const { nodeFileSystem } = require(path.join(coreDir, 'storage/fs/fileSystem.js')) as { nodeFileSystem: NonNullable<EventStoreOptions['fs']> };
  return {
    ...nodeFileSystem,
    fdatasync: async (fd: number) => {
      await nodeFileSystem.fdatasync(fd);
      await new Promise((resolve) => setTimeout(resolve, delayMs));
    },
  };
}

/** The core under test, loaded once the job says which build (`main`). */
let core: typeof Core;

function options(dataDir: string, over: Partial<EventStoreOptions> = {}): EventStoreOptions {
  const { DEFAULTS } = core;
  return {
    dataDir,
    syncMode: 'always',
    walMaxFileBytes: DEFAULTS.walMaxFileBytes,
    pendingMaxBytes: DEFAULTS.walPendingMaxBytes,
    flushMaxEvents: DEFAULTS.flushMaxEvents,
    flushMaxBytes: DEFAULTS.flushMaxBytes,
    flushMaxAgeMs: DEFAULTS.flushMaxAgeMs,
    bufferMaxBytes: DEFAULTS.bufferMaxBytes,
    bufferFullWaitMs: DEFAULTS.bufferFullWaitMs,
    rowGroupSize: DEFAULTS.rowGroupSize,
    segmentCacheBytes: DEFAULTS.segmentCacheBytes,
    maxOpenSegments: DEFAULTS.maxOpenSegments,
    ...over,
  };
}

function toNew(i: number, entities: number): NewEvent {
  const e = sampleEvent(i, entities);
  return { eventType: e.event_type, entityId: e.entity_id, tenantId: 'default', payloadJson: JSON.stringify(e.payload), metadataJson: null };
}

/** Appends events [from, to) in batches; one batch in flight per writer. */
async function appendRange(store: Core.EventStore, from: number, to: number, batch: number, entities: number, writers = 4): Promise<void> {
  let next = from;
  await Promise.all(
    Array.from({ length: writers }, async () => {
      while (next < to) {
        const start = next;
        const end = Math.min(to, start + batch);
        next = end;
        const events: NewEvent[] = [];
        for (let i = start; i < end; i++) events.push(toNew(i, entities));
        // Back-pressure (buffer full while segments are flushed): wait and retry, as a client would.
        for (const giveUp = performance.now() + 300_000; ; ) {
          try {
            await store.append(events);
            break;
          } catch (err) {
            if ((err as { code?: string }).code !== 'OVERLOADED' || performance.now() > giveUp) throw err;
            await new Promise((r) => setTimeout(r, 10));
          }
        }
      }
    }),
  );
}

async function settle(store: Core.EventStore): Promise<void> {
  while (store.stats().bufferedEvents > 0) await store.flush();
}

async function gcFully(): Promise<void> {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) throw new Error('run with --expose-gc');
  for (let i = 0; i < 4; i++) {
    gc();
    await new Promise((r) => setTimeout(r, 20));
  }
}

function usage(events: number, idIndexBytes: number): MemoryPoint {
  const m = process.memoryUsage();
  return { events, heapUsed: m.heapUsed, heapTotal: m.heapTotal, external: m.external, arrayBuffers: m.arrayBuffers, rss: m.rss, idIndexBytes };
}

async function main(): Promise<void> {
  const job = await readStdinJson<EngineJob>();
  core = loadCore(job.mode === 'append' ? job.coreDist : undefined);
  if (job.mode === 'append') {
    // The WAL's group commits while the clock runs: how busy the one sync in flight kept the disk.
    const wal = { groups: 0, syncSeconds: 0, counting: true };
    const observer = {
      onGroupCommit: (_appends: number, _bytes: number, syncSeconds: number) => {
        if (!wal.counting) return;
        wal.groups++;
        wal.syncSeconds += syncSeconds;
      },
    };
    const store = await core.EventStore.open(options(job.dataDir, { observer, ...(job.syncDelayMs ? { fs: slowerSyncs(job.coreDist, job.syncDelayMs) } : {}) }));
    const batches: NewEvent[][] = [];
    for (let b = 0; b < 16; b++) batches.push(Array.from({ length: job.batch }, (_, i) => toNew(b * job.batch + i, 10_000)));
    let appended = 0;
    const cpuBefore = process.cpuUsage();
    const started = performance.now();
    const deadline = started + job.seconds * 1000;
    await Promise.all(
      Array.from({ length: job.writers }, async (_, w) => {
        for (let k = w; performance.now() < deadline; k += job.writers) {
          const batch = batches[k % batches.length]!;
          await store.append(batch);
          appended += batch.length;
        }
      }),
    );
    const elapsed = (performance.now() - started) / 1000;
    wal.counting = false;
    const cpu = process.cpuUsage(cpuBefore);
    // Events still waiting for a segment flush when the clock stopped: how far flushes lag.
    const bufferedAtEnd = store.stats().bufferedEvents;
    // Then until every appended event is in a segment: the rate the store sustains, flushes included.
    while (store.stats().bufferedEvents > 0) await store.flush();
    const untilFlushed = (performance.now() - started) / 1000;
    await store.close({ flush: false });
    // CPU time of the whole process (main thread, Parquet worker, I/O threads) per event: a
    // cost that holds up better than throughput when the machine is shared.
    const cpuMicrosPerEvent = (cpu.user + cpu.system) / appended;
    process.stdout.write(
      `${JSON.stringify({
        eventsPerSecond: appended / elapsed,
        events: appended,
        seconds: elapsed,
        cpuMicrosPerEvent,
        bufferedAtEnd,
        flushedEventsPerSecond: appended / untilFlushed,
        walGroupCommits: wal.groups,
        walSyncBusy: wal.syncSeconds / elapsed,
      })}\n`,
    );
  } else if (job.mode === 'memory') {
    // Sync mode has no effect on what stays in memory; `none` only makes the fill faster.
    const store = await core.EventStore.open(options(job.dataDir, { syncMode: 'none' }));
    await gcFully();
    // Older builds (A/B) have no idIndexBytes: their id table is in `arrayBuffers`.
    const idBytes = (): number => store.stats().idIndexBytes ?? 0;
    const points: MemoryPoint[] = [usage(0, idBytes())];
    let have = 0;
    const started = performance.now();
    for (const step of job.steps) {
      await appendRange(store, have, step, job.batch, job.entities);
      have = step;
      await settle(store);
      await gcFully();
      points.push(usage(have, idBytes()));
    }
    const segments = store.stats().parquetFiles;
    const elapsedMs = performance.now() - started;
    await store.close({ flush: false });
    process.stdout.write(`${JSON.stringify({ points, segments, elapsedMs })}\n`);
  } else {
    const started = performance.now();
    let store = await core.EventStore.open(options(job.dataDir, { syncMode: 'none' }));
    await appendRange(store, 0, job.segmentEvents, job.batch, job.entities);
    await settle(store);
    await store.close();
    // The tail: durable in the WAL, never flushed (no size or age flush can trigger meanwhile).
    store = await core.EventStore.open(options(job.dataDir, { syncMode: 'always', flushMaxEvents: 100_000_000, flushMaxBytes: 2 ** 30, flushMaxAgeMs: 3_600_000, bufferMaxBytes: 4 * 2 ** 30 }));
    await appendRange(store, job.segmentEvents, job.segmentEvents + job.walEvents, job.batch, job.entities);
    const stats = store.stats();
    await store.close({ flush: false });
    process.stdout.write(
      `${JSON.stringify({ events: stats.totalEvents, segments: stats.parquetFiles, walBytes: stats.walBytes, bufferedEvents: stats.bufferedEvents, segmentBytes: stats.segmentBytes, elapsedMs: performance.now() - started })}\n`,
    );
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`engine child: ${(err as Error)?.stack ?? String(err)}\n`);
  process.exit(1);
});
