import * as path from 'node:path';
import type { EngineJob } from '../children/engine';
import { figure, target, type Scenario } from '../lib/figures';
import { checkLoad, load } from '../lib/loadgen';
import { coreMain, distDir, removeDir, runJsonChild, startServer, tempDir } from '../lib/processes';
import { median, num, round } from '../lib/stats';
import { batchBody } from '../lib/workload';
import type { AutocannonResult, Req } from '../loadgen/protocol';

export const BATCH = 1000;
const CONNECTIONS = 4;
const ENGINE_WRITERS = [4, 8];

/** 2. Batch ingest (1000 events a request): over HTTP vs the floor server, and through the engine API. */
export const batchIngest: Scenario = {
  id: '2-batch-ingest',
  title: 'batch ingest: HTTP vs floor, engine API',
  async run(ctx) {
    const { seconds, repeats } = ctx.settings;

    // The engine with 4 writers (as many as the HTTP run's connections) and with 8: a durable
    // append waits for its group's fdatasync, so throughput grows with appends in flight.
    const engineRuns = new Map<number, { rates: number[]; cpu: number[]; unflushed: number[]; sustained: number[]; syncBusy: number[] }>(
      ENGINE_WRITERS.map((w) => [w, { rates: [], cpu: [], unflushed: [], sustained: [], syncBusy: [] }]),
    );
    for (let r = 0; r < repeats; r++) {
      for (const writers of ENGINE_WRITERS) {
        const dataDir = tempDir('engine');
        try {
          const job: EngineJob = { mode: 'append', dataDir, seconds, batch: BATCH, writers };
          const res = await runJsonChild<{ eventsPerSecond: number; cpuMicrosPerEvent: number; events: number; bufferedAtEnd: number; flushedEventsPerSecond: number; walSyncBusy: number }>(path.join(distDir, 'children/engine.js'), job, {
            nodeArgs: ['--expose-gc'],
            timeoutMs: seconds * 1000 + 60_000,
          });
          const runs = engineRuns.get(writers)!;
          runs.rates.push(round(res.eventsPerSecond));
          runs.cpu.push(Math.round(res.cpuMicrosPerEvent * 100) / 100);
          runs.unflushed.push(res.bufferedAtEnd / res.events);
          runs.sustained.push(round(res.flushedEventsPerSecond));
          runs.syncBusy.push(res.walSyncBusy);
          ctx.log(
            `engine run ${r + 1}, ${writers} writers: ${runs.rates[r]} events/s, ${runs.cpu[r]} µs CPU/event, ` +
              `${res.bufferedAtEnd} of ${res.events} events not yet flushed at the end; ${runs.sustained[r]} events/s until all were in segments; ` +
              `a WAL fdatasync in flight ${Math.round(res.walSyncBusy * 100)}% of the time`,
          );
        } finally {
          removeDir(dataDir);
        }
      }
    }
    for (const [writers, runs] of engineRuns) {
      ctx.add(
        figure({
          scenario: this.id,
          name: `engine batch append (durable, ${writers} writers × ${BATCH} events, child process)`,
          unit: 'events/s',
          runs: runs.rates,
          target: target('≥ 500,000 events/s', 'value', '>=', 500_000),
          detail:
            `share not yet flushed to segments when the clock stopped: ${runs.unflushed.map((u) => `${Math.round(u * 100)}%`).join(', ')}; ` +
            `share of the time a WAL fdatasync was in flight: ${runs.syncBusy.map((u) => `${Math.round(u * 100)}%`).join(', ')}`,
        }),
      );
      ctx.add(
        figure({
          scenario: this.id,
          name: `engine batch append until every event is in a segment (${writers} writers; appended / time until the last flush ended)`,
          unit: 'events/s',
          runs: runs.sustained,
        }),
      );
      ctx.add(
        figure({
          scenario: this.id,
          name: `engine batch append, CPU time per event (whole process, ${writers} writers)`,
          unit: 'µs/event',
          runs: runs.cpu,
        }),
      );
    }

    const requests: Req[] = Array.from({ length: 4 }, (_, i) => ({ method: 'POST', path: '/api/v1/events/batch', body: batchBody(BATCH, i * BATCH) }));
    const core = await startServer('core', coreMain, { WAL_SYNC_MODE: 'always' });
    const floor = await startServer('floor', path.join(distDir, 'servers/floorServer.js'));
    const a: AutocannonResult[] = [];
    const b: AutocannonResult[] = [];
    try {
      for (let r = 0; r < repeats; r++) {
        a.push(await load({ base: core.url, requests, connections: CONNECTIONS, durationS: seconds }));
        b.push(await load({ base: floor.url, requests, connections: CONNECTIONS, durationS: seconds }));
        checkLoad(a[r]!, 'core batch ingest');
        checkLoad(b[r]!, 'floor');
        ctx.log(`run ${r + 1}: core ${round(a[r]!.requestsPerSecond * BATCH)} vs floor ${round(b[r]!.requestsPerSecond * BATCH)} events/s`);
      }
    } finally {
      await floor.stop();
      await core.stop();
    }
    ctx.add(
      figure({
        scenario: this.id,
        name: `HTTP batch ingest (${BATCH} events/request, ${CONNECTIONS} connections)`,
        unit: 'events/s',
        runs: a.map((x) => round(x.requestsPerSecond * BATCH)),
        baseline: { name: 'floor: JSON.parse + write + fdatasync', runs: b.map((x) => round(x.requestsPerSecond * BATCH)) },
        target: target('≥ 0.6 × floor', 'ratio', '>=', 0.6),
        detail: `p99 ${num(median(a.map((x) => x.latency.p99)))} ms vs floor ${num(median(b.map((x) => x.latency.p99)))} ms per request`,
        extra: { core_p99_ms: a.map((x) => x.latency.p99), floor_p99_ms: b.map((x) => x.latency.p99) },
      }),
    );
  },
};
