import { figure, target, type Scenario } from '../lib/figures';
import { ok, pool } from '../lib/http';
import { checkLoad, load } from '../lib/loadgen';
import { coreMain, startServer, type ServerProcess } from '../lib/processes';
import { median, num, round } from '../lib/stats';
import { sampleEvent } from '../lib/workload';
import type { AutocannonResult, Req } from '../loadgen/protocol';

const CONNECTIONS = 50;
/** Latency is compared at a fixed rate well below saturation, where it is service time, not queueing. */
const LATENCY_RATE = 200;
const LATENCY_CONNECTIONS = 10;
const QUERY_ENTITIES = 64;

/**
 * The mixed workload: per cycle of 8 requests, 5 single-event ingests (entities that only this
 * load writes) and 3 queries over a fixed, pre-loaded set (entity history, entity state, a type
 * with a limit), so query cost stays the same from run to run.
 */
export function mixedRequests(cycles = 64): Req[] {
  const out: Req[] = [];
  for (let c = 0; c < cycles; c++) {
    const q = `q-${c % QUERY_ENTITIES}`;
    const ingest = (k: number): Req => ({ method: 'POST', path: '/api/v1/events', body: JSON.stringify(sampleEvent(c * 5 + k, 1000, 'live-')) });
    out.push(
      ingest(0),
      { path: `/api/v1/events/query?entity_id=${q}` },
      ingest(1),
      { path: `/api/v1/entities/${q}/state` },
      ingest(2),
      ingest(3),
      { path: '/api/v1/events/query?event_type=order.refunded&limit=20' },
      ingest(4),
    );
  }
  return out;
}

/** The fixed data the mixed workload queries: 64 entities × 20 events, plus 100 `order.refunded` events. */
export async function preloadQueryData(url: string): Promise<void> {
  await pool(QUERY_ENTITIES, 4, async (k) => {
    const events = Array.from({ length: 20 }, (_, i) => ({ ...sampleEvent(k * 20 + i, 1), entity_id: `q-${k}` }));
    await ok('POST', `${url}/api/v1/events/batch`, { events });
  });
  await ok('POST', `${url}/api/v1/events/batch`, { events: Array.from({ length: 100 }, (_, i) => ({ ...sampleEvent(i, 10), event_type: 'order.refunded', entity_id: `refund-${i % 10}` })) });
}

/** 3. Metrics overhead: the same core with METRICS_ENABLED=true vs false, same mixed workload. */
export const metricsOverhead: Scenario = {
  id: '3-metrics-overhead',
  title: 'metrics on vs METRICS_ENABLED=false',
  async run(ctx) {
    const { seconds, repeats } = ctx.settings;
    const requests = mixedRequests();
    let on: ServerProcess | undefined;
    let off: ServerProcess | undefined;
    const a: AutocannonResult[] = [];
    const b: AutocannonResult[] = [];
    const la: AutocannonResult[] = [];
    const lb: AutocannonResult[] = [];
    try {
      on = await startServer('core-metrics-on', coreMain, { WAL_SYNC_MODE: 'always', METRICS_ENABLED: 'true' });
      off = await startServer('core-metrics-off', coreMain, { WAL_SYNC_MODE: 'always', METRICS_ENABLED: 'false' });
      await preloadQueryData(on.url);
      await preloadQueryData(off.url);
      // Latency first, while both cores hold the same data; then throughput.
      for (let r = 0; r < repeats; r++) {
        const fixed = (url: string) => load({ base: url, requests, connections: LATENCY_CONNECTIONS, durationS: seconds, overallRate: LATENCY_RATE });
        if (r % 2 === 0) {
          la.push(await fixed(on.url));
          lb.push(await fixed(off.url));
        } else {
          lb.push(await fixed(off.url));
          la.push(await fixed(on.url));
        }
        checkLoad(la[r]!, 'core metrics on (fixed rate)');
        checkLoad(lb[r]!, 'core metrics off (fixed rate)');
        ctx.log(`fixed ${LATENCY_RATE} req/s run ${r + 1}: p50 ${la[r]!.latency.p50} (on) vs ${lb[r]!.latency.p50} (off) ms`);
      }
      for (let r = 0; r < repeats; r++) {
        // Alternate which side goes first, so a drift over the run does not favour one side.
        const first = r % 2 === 0;
        const runOn = () => load({ base: on!.url, requests, connections: CONNECTIONS, durationS: seconds });
        const runOff = () => load({ base: off!.url, requests, connections: CONNECTIONS, durationS: seconds });
        if (first) {
          a.push(await runOn());
          b.push(await runOff());
        } else {
          b.push(await runOff());
          a.push(await runOn());
        }
        checkLoad(a[r]!, 'core metrics on');
        checkLoad(b[r]!, 'core metrics off');
        ctx.log(`run ${r + 1}: on ${round(a[r]!.requestsPerSecond)} vs off ${round(b[r]!.requestsPerSecond)} requests/s`);
      }
    } finally {
      await off?.stop();
      await on?.stop();
    }
    ctx.note('mix', '5 single ingests : 1 entity history : 1 entity state : 1 type query (limit 20), 50 connections');
    ctx.add(
      figure({
        scenario: this.id,
        name: 'mixed load throughput, metrics on',
        unit: 'requests/s',
        runs: a.map((x) => round(x.requestsPerSecond)),
        baseline: { name: 'same core, METRICS_ENABLED=false', runs: b.map((x) => round(x.requestsPerSecond)) },
        target: target('≥ 0.99 × metrics off', 'ratio', '>=', 0.99),
      }),
    );
    ctx.add(
      figure({
        scenario: this.id,
        name: `added p50 latency with metrics on (mixed load at a fixed ${LATENCY_RATE} req/s, ${LATENCY_CONNECTIONS} connections)`,
        unit: 'ms',
        runs: la.map((x, i) => round(x.latency.p50 - lb[i]!.latency.p50, 3)),
        target: target('< 1 ms', 'value', '<', 1),
        detail: `p50 ${num(median(la.map((x) => x.latency.p50)))} ms on vs ${num(median(lb.map((x) => x.latency.p50)))} ms off`,
        extra: {
          on_p50_ms: la.map((x) => x.latency.p50),
          off_p50_ms: lb.map((x) => x.latency.p50),
          on_p99_ms: la.map((x) => x.latency.p99),
          off_p99_ms: lb.map((x) => x.latency.p99),
          saturated_on_p50_ms: a.map((x) => x.latency.p50),
          saturated_off_p50_ms: b.map((x) => x.latency.p50),
        },
      }),
    );
  },
};
