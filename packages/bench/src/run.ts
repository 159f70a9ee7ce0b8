import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Figure, Scenario, ScenarioContext, Settings } from './lib/figures';
import { cleanupAll } from './lib/processes';
import { printTable } from './lib/table';
import { round } from './lib/stats';
import { EVENT_BYTES } from './lib/workload';
import { BATCH, batchIngest } from './scenarios/batchIngest';
import { controlPlane } from './scenarios/controlPlane';
import { memory } from './scenarios/memory';
import { metricsOverhead } from './scenarios/metricsOverhead';
import { queries } from './scenarios/queries';
import { recovery } from './scenarios/recovery';
import { scrapeCost } from './scenarios/scrapeCost';
import { CONNECTIONS as SINGLE_CONNECTIONS, singleIngest } from './scenarios/singleIngest';

/**
 * `pnpm bench [--quick] [--only=1,3]`: every scenario of the benchmarks issue, one file each in
 * scenarios/. Comparisons run both sides alternating in the same run so machine noise cancels in
 * the ratio; servers, engines, DuckDB and the load generator each run in their own process.
 * Prints a table and writes results/latest.json.
 */
const SCENARIOS: Scenario[] = [singleIngest, batchIngest, metricsOverhead, scrapeCost, memory, queries, recovery, controlPlane];

const args = process.argv.slice(2);
const quick = args.includes('--quick');
const onlyArg = args.find((a) => a.startsWith('--only='));
const only = onlyArg ? new Set(onlyArg.slice('--only='.length).split(',')) : undefined;
const settings: Settings = { quick, seconds: quick ? 2 : 8, repeats: quick ? 2 : 3 };

process.on('exit', cleanupAll);
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    cleanupAll();
    process.exit(130);
  });
}

async function main(): Promise<void> {
  const started = performance.now();
  const selected = SCENARIOS.filter((s) => !only || only.has(s.id) || only.has(s.id.split('-')[0]!));
  console.log(`AllSource benchmarks (${quick ? 'quick' : 'full'}): ${settings.seconds} s per throughput run, ${settings.repeats} runs per side, alternating; ${selected.length} scenarios`);
  const figures: Figure[] = [];
  const notes: Record<string, unknown> = {};
  const scenarioSeconds: Record<string, number> = {};
  const failures: Record<string, string> = {};
  for (const scenario of selected) {
    console.log(`\n[${scenario.id}] ${scenario.title}`);
    const t0 = performance.now();
    const ctx: ScenarioContext = {
      settings,
      add: (f) => figures.push(f),
      note: (k, v) => (notes[k] = v),
      log: (m) => console.log(`  ${m}`),
    };
    try {
      await scenario.run(ctx);
    } catch (err) {
      // One scenario failing does not lose the others' figures; it is reported and the run fails.
      failures[scenario.id] = (err as Error)?.stack ?? String(err);
      console.error(`  FAILED: ${(err as Error)?.message ?? String(err)}`);
      cleanupAll();
    }
    scenarioSeconds[scenario.id] = round((performance.now() - t0) / 1000, 1);
    console.log(`  (${scenarioSeconds[scenario.id]} s)`);
  }
  const wallSeconds = round((performance.now() - started) / 1000, 1);

  console.log('');
  printTable(figures);
  const out = {
    generated_at: new Date().toISOString(),
    mode: quick ? 'quick' : 'full',
    wall_seconds: wallSeconds,
    machine: {
      cpus: os.cpus().length,
      cpu_model: os.cpus()[0]?.model,
      memory_bytes: os.totalmem(),
      platform: `${os.platform()} ${os.release()}`,
      load_average_at_end: os.loadavg().map((l) => round(l, 2)),
    },
    node_version: process.version,
    durability: 'WAL_SYNC_MODE=always (fdatasync before every acknowledgement) unless a figure says otherwise',
    event_bytes: EVENT_BYTES,
    batch_size: BATCH,
    concurrency: { single: SINGLE_CONNECTIONS, batch: 4, engine_writers: 4, mixed: 50, latency_lanes: 1 },
    seconds_per_run: settings.seconds,
    repeats: settings.repeats,
    method:
      'Comparisons alternate A, B, A, B in one run; ratios are per pair. Load generator (autocannon / sequential latency lanes) in its own process (dist/loadgen/worker.js); servers, engine and DuckDB in child processes. Latencies are from each response\'s own timer (sub-ms), p99 nearest-rank.',
    scenario_seconds: scenarioSeconds,
    notes,
    failures,
    figures,
  };
  const file = path.join(__dirname, '..', 'results', 'latest.json');
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, JSON.stringify(out, null, 2) + '\n');
  console.log(`\nwritten to ${file}`);
  console.log(`wall time ${wallSeconds} s`);
  if (Object.keys(failures).length > 0) {
    console.error(`\nfailed scenarios: ${Object.keys(failures).join(', ')}`);
    process.exitCode = 1;
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
