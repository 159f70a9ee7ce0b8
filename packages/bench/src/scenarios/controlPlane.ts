import { figure, type Scenario } from '../lib/figures';
import { getJson, ok, promValue } from '../lib/http';
import { checkLoad, lanes } from '../lib/loadgen';
import { controlPlaneMain, coreMain, sleep, startServer, type ServerProcess } from '../lib/processes';
import { median, num, round } from '../lib/stats';
import { batchBody } from '../lib/workload';
import type { Lane, LaneResult } from '../loadgen/protocol';

const NODES = 10;
const SCRAPE_INTERVAL_MS = 1000;

interface ScrapeCounters {
  cpuSeconds: number;
  cycles: number;
  durationSum: number;
  durationCount: number;
}

async function counters(url: string): Promise<ScrapeCounters> {
  const text = await ok('GET', `${url}/metrics`);
  const json = await getJson<{ control_plane: { scrape_cycles: number } }>(`${url}/api/v1/metrics`);
  return {
    cpuSeconds: promValue(text, 'process_cpu_seconds_total') ?? NaN,
    cycles: json.control_plane.scrape_cycles,
    durationSum: promValue(text, 'control_plane_scrape_duration_seconds_sum') ?? NaN,
    durationCount: promValue(text, 'control_plane_scrape_duration_seconds_count') ?? NaN,
  };
}

/**
 * 8. Control plane with 10 core nodes (child processes, 2000 events each) scraped every second:
 * the CPU the control plane spends per scrape cycle (its process_cpu_seconds_total over a
 * window with no dashboard traffic, divided by the cycles completed), then the latency of the
 * dashboard's overview, timeseries and top_entities endpoints while scraping goes on.
 */
export const controlPlane: Scenario = {
  id: '8-control-plane',
  title: 'control plane: dashboard latency and CPU per scrape cycle, 10 nodes',
  async run(ctx) {
    const { quick, repeats } = ctx.settings;
    const cpuWindowMs = quick ? 6_000 : 30_000;
    const perEndpoint = quick ? 100 : 500;
    const cores: ServerProcess[] = [];
    let cp: ServerProcess | undefined;
    const rounds: Array<Record<string, LaneResult>> = [];
    let cpuPerCycle = NaN;
    let cycles = 0;
    let meanScrapeMs = NaN;
    try {
      // Started two at a time: ten at once on a small machine only slows every start down.
      for (let i = 0; i < NODES; i += 2) {
        cores.push(...(await Promise.all([i, i + 1].map((k) => startServer(`cp-core-${k + 1}`, coreMain, { LOG_REQUESTS: 'false' })))));
      }
      for (const core of cores) {
        for (let b = 0; b < 2; b++) await ok('POST', `${core.url}/api/v1/events/batch`, batchBody(1000, b * 1000, 200));
      }
      cp = await startServer('control-plane', controlPlaneMain, {
        CORE_NODES: cores.map((c, i) => `core-${i + 1}=${c.url}`).join(','),
        SCRAPE_INTERVAL_MS: String(SCRAPE_INTERVAL_MS),
        LOG_REQUESTS: 'false',
      });
      const url = cp.url;
      // Until every node has been scraped a few times.
      for (let waited = 0; (await counters(url)).cycles < 3; waited += 200) {
        if (waited > 30_000) throw new Error('the control plane completed no 3 scrape cycles in 30 s');
        await sleep(200);
      }
      const before = await counters(url);
      await sleep(cpuWindowMs);
      const after = await counters(url);
      cycles = after.cycles - before.cycles;
      cpuPerCycle = ((after.cpuSeconds - before.cpuSeconds) * 1000) / cycles;
      meanScrapeMs = ((after.durationSum - before.durationSum) * 1000) / (after.durationCount - before.durationCount);
      ctx.log(`${cycles} scrape cycles in ${cpuWindowMs / 1000} s: ${round(cpuPerCycle, 2)} ms CPU per cycle; a node scrape takes ${round(meanScrapeMs, 1)} ms`);

      // Untimed requests first: the load generator is a new process each round, and its client
      // code needs a few thousand round trips to be fully compiled (see scenario 6).
      const warmup = ctx.settings.quick ? 500 : 2000;
      const endpoints: Lane[] = [
        { name: 'overview', requests: [{ path: '/api/v1/dashboard/overview' }], count: perEndpoint, warmup },
        { name: 'timeseries', requests: [{ path: '/api/v1/dashboard/timeseries?metric=ingestion_rate&range=1h' }, { path: '/api/v1/dashboard/timeseries?metric=query_rate&range=1h&node=all' }], count: perEndpoint, warmup },
        { name: 'top_entities', requests: [{ path: '/api/v1/dashboard/top_entities?limit=10' }], count: perEndpoint, warmup },
      ];
      for (let r = 0; r < repeats; r++) {
        const res = await lanes({ base: url, timeLimitMs: 120_000, sequential: true, lanes: endpoints });
        for (const l of res.lanes) checkLoad(l, `control plane ${l.name}`);
        rounds.push(Object.fromEntries(res.lanes.map((l) => [l.name, l])));
        ctx.log(`round ${r + 1}: ${res.lanes.map((l) => `${l.name} p50 ${l.latency.p50} p99 ${l.latency.p99} ms`).join('; ')}`);
      }
    } finally {
      await cp?.stop();
      await Promise.all(cores.map((c) => c.stop()));
    }
    ctx.note('control_plane', { nodes: NODES, scrape_interval_ms: SCRAPE_INTERVAL_MS, events_per_node: 2000, requests_per_endpoint_per_round: perEndpoint });
    for (const name of ['overview', 'timeseries', 'top_entities']) {
      const runs = rounds.map((r) => r[name]!);
      ctx.add(
        figure({
          scenario: this.id,
          name: `control plane ${name} p99 (10 nodes scraped every 1 s)`,
          unit: 'ms',
          runs: runs.map((x) => x.latency.p99),
          detail: `p50 ${num(median(runs.map((x) => x.latency.p50)))} ms`,
          extra: { p50_ms: runs.map((x) => x.latency.p50), max_ms: runs.map((x) => x.latency.max) },
        }),
      );
    }
    ctx.add(
      figure({
        scenario: this.id,
        name: 'control plane CPU per scrape cycle (10 nodes)',
        unit: 'ms CPU',
        runs: [round(cpuPerCycle, 2)],
        detail: `${cycles} cycles in ${cpuWindowMs / 1000} s; one node scrape ${num(meanScrapeMs)} ms on average`,
        extra: { cycles, window_s: cpuWindowMs / 1000, mean_node_scrape_ms: round(meanScrapeMs, 2), method: 'Δ process_cpu_seconds_total / Δ scrape_cycles (from /api/v1/metrics), no dashboard traffic in the window' },
      }),
    );
  },
};
