import * as path from 'node:path';
import type { EngineJob, MemoryPoint } from '../children/engine';
import { figure, target, type Scenario } from '../lib/figures';
import { getJson } from '../lib/http';
import { checkLoad, load } from '../lib/loadgen';
import { distDir, removeDir, runJsonChild, sleep, startServer, tempDir, type ServerProcess } from '../lib/processes';
import { num, round, sig, slope } from '../lib/stats';
import { mixedRequests, preloadQueryData } from './metricsOverhead';

const MiB = 1024 * 1024;

/**
 * 5. Memory at scale: heap and RSS of the engine (child process, gc() before each reading) after
 * N and 2N events stored and flushed to segments, and their difference per event; then the core
 * under a steady fixed-rate load, its heap (after a full gc, read over IPC) sampled every second
 * after a warm-up: the slope of that trend, in bytes/s and per event ingested meanwhile.
 */
export const memory: Scenario = {
  id: '5-memory',
  title: 'memory at scale and heap trend under steady load',
  async run(ctx) {
    const { quick } = ctx.settings;
    // Quick mode uses a quarter of the sizes (0.25M → 0.5M) to stay within its time budget.
    const n = quick ? 250_000 : 1_000_000;
    const steps = [n, 2 * n];
    const entities = (2 * n) / 100;
    const dataDir = tempDir('memory');
    let result: { points: MemoryPoint[]; segments: number; elapsedMs: number };
    try {
      const job: EngineJob = { mode: 'memory', dataDir, steps, batch: 1000, entities };
      result = await runJsonChild(path.join(distDir, 'children/engine.js'), job, { nodeArgs: ['--expose-gc'], timeoutMs: 600_000 });
    } finally {
      removeDir(dataDir);
    }
    const [p0, p1, p2] = result.points as [MemoryPoint, MemoryPoint, MemoryPoint];
    // The index lives in typed arrays: their backing stores are `arrayBuffers`, outside heapUsed;
    // the id table is on its own worker thread, whose buffers this thread's figures miss.
    const held = (p: MemoryPoint): number => p.heapUsed + p.arrayBuffers + p.idIndexBytes;
    const mib = (b: number): number => round(b / MiB, 1);
    const millions = (e: number): string => `${e / 1e6}M`;
    ctx.log(
      `engine memory: ${millions(p1.events)} events heap ${mib(p1.heapUsed)} + array buffers ${mib(p1.arrayBuffers)} + id table ${mib(p1.idIndexBytes)} MiB, rss ${mib(p1.rss)} MiB; ` +
        `${millions(p2.events)} events heap ${mib(p2.heapUsed)} + array buffers ${mib(p2.arrayBuffers)} + id table ${mib(p2.idIndexBytes)} MiB, rss ${mib(p2.rss)} MiB (${round(result.elapsedMs / 1000, 1)} s)`,
    );
    const perEvent = (a: MemoryPoint, b: MemoryPoint, f: (p: MemoryPoint) => number): number => round((f(b) - f(a)) / (b.events - a.events), 1);
    const at = (f: (p: MemoryPoint) => number): Record<string, number> => Object.fromEntries(result.points.map((p) => [String(p.events), f(p)]));
    ctx.note('memory_events', { steps, entities, segments: result.segments, sync_mode: 'none (does not change what stays in memory)' });
    ctx.add(
      figure({
        scenario: this.id,
        name: `engine heap + array buffers (+ the id table on its worker) per stored event, ${millions(p1.events)} → ${millions(p2.events)} (flushed, after gc)`,
        unit: 'bytes/event',
        runs: [perEvent(p1, p2, held)],
        target: target('≤ 100 bytes/event', 'value', '<=', 100),
        extra: {
          heap_used_only_per_event: perEvent(p1, p2, (p) => p.heapUsed),
          array_buffers_only_per_event: perEvent(p1, p2, (p) => p.arrayBuffers),
          id_table_on_worker_per_event: perEvent(p1, p2, (p) => p.idIndexBytes),
          per_event_0_to_first_step: perEvent(p0, p1, held),
          heap_used_bytes: at((p) => p.heapUsed),
          array_buffers_bytes: at((p) => p.arrayBuffers),
          id_table_on_worker_bytes: at((p) => p.idIndexBytes),
          external_bytes: at((p) => p.external),
          rss_bytes: at((p) => p.rss),
        },
      }),
    );
    ctx.add(figure({ scenario: this.id, name: `engine RSS per stored event, ${millions(p1.events)} → ${millions(p2.events)}`, unit: 'bytes/event', runs: [perEvent(p1, p2, (p) => p.rss)] }));
    ctx.add(figure({ scenario: this.id, name: `engine heap + array buffers (+ id table) at ${millions(p1.events)} / ${millions(p2.events)} events`, unit: 'MiB', runs: [mib(held(p1)), mib(held(p2))] }));
    ctx.add(figure({ scenario: this.id, name: `engine RSS at ${millions(p1.events)} / ${millions(p2.events)} events`, unit: 'MiB', runs: [mib(p1.rss), mib(p2.rss)] }));

    // Steady load on the real core: fixed rate, mixed ingest + queries.
    const warmupS = quick ? 6 : 15;
    const windowS = quick ? 20 : 60;
    const rate = 500;
    let core: ServerProcess | undefined;
    const samples: Array<{ t: number; heap: number; heapOnly: number; rss: number; events: number }> = [];
    try {
      // Segments flushed every second instead of every 10 s, so the unflushed buffer does not
      // saw-tooth over a window this short.
      core = await startServer('core-steady', path.join(distDir, 'servers/coreWithGc.js'), { WAL_SYNC_MODE: 'always', FLUSH_MAX_AGE_MS: '1000' }, { nodeArgs: ['--expose-gc'], ipc: true });
      await preloadQueryData(core.url);
      const running = load({ base: core.url, requests: mixedRequests(), connections: 10, durationS: warmupS + windowS + 2, overallRate: rate });
      await sleep(warmupS * 1000);
      const t0 = performance.now();
      for (let i = 0; i <= windowS; i++) {
        const target = t0 + i * 1000;
        await sleep(Math.max(0, target - performance.now()));
        const { mem } = await core.ask<{ mem: NodeJS.MemoryUsage }>({ cmd: 'mem' });
        const stats = await getJson<{ total_events: number }>(`${core.url}/api/v1/stats`);
        samples.push({ t: (performance.now() - t0) / 1000, heap: mem.heapUsed + mem.arrayBuffers, heapOnly: mem.heapUsed, rss: mem.rss, events: stats.total_events });
      }
      const res = await running;
      checkLoad(res, 'steady load');
    } finally {
      await core?.stop();
    }
    const ts = samples.map((s) => s.t);
    const heapSlope = slope(ts, samples.map((s) => s.heapOnly));
    const withBuffersSlope = slope(ts, samples.map((s) => s.heap));
    const rssSlope = slope(ts, samples.map((s) => s.rss));
    const eventsPerS = slope(ts, samples.map((s) => s.events));
    ctx.log(`steady: JS heap slope ${round(heapSlope)} B/s (with array buffers ${round(withBuffersSlope)} B/s), RSS slope ${round(rssSlope)} B/s, ${round(eventsPerS)} events/s stored`);
    const extra = {
      heap_used_slope_bytes_per_s: round(heapSlope),
      heap_plus_array_buffers_slope_bytes_per_s: round(withBuffersSlope),
      rss_slope_bytes_per_s: round(rssSlope),
      events_stored_per_s: round(eventsPerS),
      heap_used_first_last_mib: [sig(samples[0]!.heapOnly / MiB), sig(samples[samples.length - 1]!.heapOnly / MiB)],
      array_buffers_first_last_mib: [sig((samples[0]!.heap - samples[0]!.heapOnly) / MiB), sig((samples[samples.length - 1]!.heap - samples[samples.length - 1]!.heapOnly) / MiB)],
      settings: 'FLUSH_MAX_AGE_MS=1000 (so the unflushed buffer does not saw-tooth over the window); everything else default',
    };
    ctx.add(
      figure({
        scenario: this.id,
        name: `core JS heap trend under steady load (${rate} req/s mixed, ${windowS} s after ${warmupS} s warm-up, gc before each sample)`,
        unit: 'bytes/s',
        runs: [round(heapSlope)],
        detail: `with array buffers ${num(withBuffersSlope)} B/s; RSS ${num(rssSlope)} B/s; ${num(eventsPerS)} events/s stored`,
        extra,
      }),
    );
    ctx.add(
      figure({
        scenario: this.id,
        name: 'core JS heap growth per event ingested under steady load',
        unit: 'bytes/event',
        runs: [round(heapSlope / eventsPerS, 1)],
        target: target('flat: ≤ 100 bytes/event', 'value', '<=', 100),
        detail: `with array buffers (index, segment state) ${num(withBuffersSlope / eventsPerS)} B/event`,
      }),
    );
  },
};
