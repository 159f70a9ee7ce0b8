import { seriesBudgetFor } from '../lib/coreRoutes';
import { figure, target, type Scenario } from '../lib/figures';
import { ok, pool, promValue } from '../lib/http';
import { checkLoad, lanes } from '../lib/loadgen';
import { coreMain, startServer, type ServerProcess } from '../lib/processes';
import { median, num, round } from '../lib/stats';
import { batchBody, sampleEvent } from '../lib/workload';
import type { LaneResult } from '../loadgen/protocol';

const DISTINCT_TYPES = 100_000;
const UNKNOWN_URLS = 10_000;
const PIPELINES = 200;
/** Untimed scrapes the load generator sends first (a new process each round: its client code gets compiled before the clock runs). */
const SCRAPE_WARMUP = 300;
export const PIPELINE_MAX = '300';

/** The cardinality load's event types: DISTINCT_TYPES events, each of its own type, in batches of 1000. */
export async function sendDistinctTypes(url: string): Promise<void> {
  await pool(DISTINCT_TYPES / 1000, 4, async (b) => {
    const events = Array.from({ length: 1000 }, (_, i) => ({ ...sampleEvent(b * 1000 + i, 1000, 'card-'), event_type: `type_${b * 1000 + i}.happened` }));
    await ok('POST', `${url}/api/v1/events/batch`, { events });
  });
}

/** The cardinality load's pipelines (needs PIPELINE_MAX), then 1000 events so each has its series. */
export async function createPipelines(url: string): Promise<void> {
  await pool(PIPELINES, 4, async (i) => {
    await ok('POST', `${url}/api/v1/pipelines`, {
      name: `pipeline-${i}`,
      source_event_types: [],
      operators: [{ type: 'filter', field: 'amount', op: 'gt', value: -1 }],
      enabled: true,
    });
  });
  await ok('POST', `${url}/api/v1/events/batch`, batchBody(1000));
}

/**
 * 4. Scrape cost and cardinality: after a load that sent 100K distinct event types, 10K distinct
 * unknown URLs and 200 pipelines (PIPELINE_MAX raised), how long /metrics takes, how many series
 * it has against the documented budget, and how much a concurrent cheap request (GET /health,
 * one every 2 ms on its own connection) is delayed while scrapes run back to back, vs without.
 */
export const scrapeCost: Scenario = {
  id: '4-scrape-cost',
  title: '/metrics render time, series vs budget, event-loop delay during scrapes',
  async run(ctx) {
    const { quick, repeats } = ctx.settings;
    const scrapes = quick ? 100 : 200;
    const probeMs = quick ? 1500 : 4000;
    const env = { WAL_SYNC_MODE: 'always', PIPELINE_MAX };
    const budget = await seriesBudgetFor(env);
    let core: ServerProcess | undefined;
    const rounds: Array<{ alone: LaneResult; scrape: LaneResult; during: LaneResult }> = [];
    let serverMeanMs = NaN;
    try {
      core = await startServer('core-cardinality', coreMain, env);
      const url = core.url;
      const loadStarted = performance.now();
      await sendDistinctTypes(url);
      const phase = (what: string, t: number): void => ctx.log(`${what}: ${round((performance.now() - t) / 1000, 1)} s`);
      phase(`${DISTINCT_TYPES} distinct event types`, loadStarted);
      let t = performance.now();
      await createPipelines(url);
      phase(`${PIPELINES} pipelines + 1000 events`, t);
      t = performance.now();
      // From the load generator: 16 connections, each sending its own slice of distinct URLs.
      const slices = 16;
      const unknown = await lanes({
        base: url,
        timeLimitMs: 120_000,
        lanes: Array.from({ length: slices }, (_, s) => ({
          name: `unknown-${s}`,
          requests: Array.from({ length: UNKNOWN_URLS / slices }, (_, i) => ({ path: `/no/such/path-${s * (UNKNOWN_URLS / slices) + i}?x=${i}` })),
          count: UNKNOWN_URLS / slices,
        })),
      });
      for (const l of unknown.lanes) {
        if (l.errors > 0 || Object.keys(l.statusCodes).some((c) => c !== '404')) throw new Error(`unknown URLs: ${JSON.stringify(l.statusCodes)}, ${l.errors} errors`);
      }
      phase(`${UNKNOWN_URLS} unknown URLs`, t);
      ctx.log(`cardinality load sent in ${round((performance.now() - loadStarted) / 1000, 1)} s`);

      for (let r = 0; r < repeats; r++) {
        const alone = await lanes({ base: url, timeLimitMs: probeMs + 10_000, lanes: [{ name: 'health', requests: [{ path: '/health' }], durationMs: probeMs, intervalMs: 2 }] });
        const during = await lanes({
          base: url,
          timeLimitMs: 120_000,
          lanes: [
            { name: 'scrape', requests: [{ path: '/metrics' }], count: scrapes, countSeries: true, warmup: SCRAPE_WARMUP },
            { name: 'health', requests: [{ path: '/health' }], intervalMs: 2, background: true },
          ],
        });
        const [scrape, health] = during.lanes as [LaneResult, LaneResult];
        checkLoad(scrape, 'scrapes');
        checkLoad(health, 'health during scrapes');
        checkLoad(alone.lanes[0]!, 'health alone');
        rounds.push({ alone: alone.lanes[0]!, scrape, during: health });
        ctx.log(`round ${r + 1}: /metrics p50 ${scrape.latency.p50} p99 ${scrape.latency.p99} ms, ${scrape.seriesCount} series; /health p99 ${health.latency.p99} ms during vs ${alone.lanes[0]!.latency.p99} ms alone`);
      }
      // The core's own view: mean time from request to answer sent, over every scrape above.
      const own = await ok('GET', `${url}/metrics`);
      const sum = promValue(own, 'allsource_http_request_duration_seconds_sum', { endpoint: '/metrics' });
      const count = promValue(own, 'allsource_http_request_duration_seconds_count', { endpoint: '/metrics' });
      if (sum !== undefined && count) serverMeanMs = (sum / count) * 1000;
    } finally {
      await core?.stop();
    }
    const last = rounds[rounds.length - 1]!.scrape;
    ctx.note('cardinality_load', { distinct_event_types: DISTINCT_TYPES, unknown_urls: UNKNOWN_URLS, pipelines: PIPELINES, pipeline_max: Number(PIPELINE_MAX), scrapes_per_round: scrapes });
    ctx.add(
      figure({
        scenario: this.id,
        name: `/metrics answer time p99 (${scrapes} scrapes back to back, from the load generator)`,
        unit: 'ms',
        runs: rounds.map((x) => x.scrape.latency.p99),
        target: target('< 10 ms', 'value', '<', 10),
        detail: `p50 ${num(median(rounds.map((x) => x.scrape.latency.p50)))} ms; core-side mean ${num(serverMeanMs)} ms; ${num((last.lastBodyBytes ?? 0) / 1024)} KiB`,
        extra: { p50_ms: rounds.map((x) => x.scrape.latency.p50), max_ms: rounds.map((x) => x.scrape.latency.max), body_bytes: last.lastBodyBytes, core_side_mean_ms: round(serverMeanMs, 3) },
      }),
    );
    const series = rounds.map((x) => x.scrape.seriesCount ?? NaN);
    if ('total' in budget) {
      ctx.add(
        figure({
          scenario: this.id,
          name: '/metrics series after the cardinality load',
          unit: 'series',
          runs: series,
          target: target(`≤ budget ${budget.total}`, 'value', '<=', budget.total),
          extra: { budget: budget.total, budget_routes: budget.routes, budget_source: 'services/core/dist/metrics/seriesBudget.js seriesBudget() with default label caps' },
        }),
      );
    } else {
      ctx.add(figure({ scenario: this.id, name: '/metrics series after the cardinality load', unit: 'series', runs: series, extra: { budget_error: budget.error } }));
    }
    ctx.add(
      figure({
        scenario: this.id,
        name: 'GET /health p99 while /metrics is scraped back to back',
        unit: 'ms',
        runs: rounds.map((x) => x.during.latency.p99),
        baseline: { name: 'GET /health p99 without scrapes', runs: rounds.map((x) => x.alone.latency.p99) },
        detail: `max ${num(median(rounds.map((x) => x.during.latency.max)))} ms during vs ${num(median(rounds.map((x) => x.alone.latency.max)))} ms alone`,
        extra: {
          during_max_ms: rounds.map((x) => x.during.latency.max),
          alone_max_ms: rounds.map((x) => x.alone.latency.max),
          during_p50_ms: rounds.map((x) => x.during.latency.p50),
          alone_p50_ms: rounds.map((x) => x.alone.latency.p50),
        },
      }),
    );
  },
};
