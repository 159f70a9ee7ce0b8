import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { postLoad, type LoadResult } from './lib/loadgen';
import { startServer } from './lib/processes';
import { round, spread, type Spread } from './lib/stats';
import { batchBody, sampleEvent } from './lib/workload';
import { engineAppend } from './scenarios/engineAppend';

/**
 * `pnpm bench [--quick]`: ingest throughput, each comparison run side by side and alternating
 * so machine noise cancels in the ratio. Prints a table, writes results/latest.json.
 */
const quick = process.argv.includes('--quick');
const SECONDS = quick ? 3 : 8;
const REPEATS = quick ? 2 : 3;
const BATCH = 1000;
const SINGLE_CONNECTIONS = 50;
const BATCH_CONNECTIONS = 4;
const repoRoot = path.resolve(__dirname, '../../..');
const coreMain = path.join(repoRoot, 'services/core/dist/main.js');

interface Figure {
  name: string;
  unit: string;
  value: Spread;
  baseline?: { name: string; value: Spread; ratio: Spread; target?: string };
  extra?: Record<string, unknown>;
}

const figures: Figure[] = [];

async function alternate(
  a: () => Promise<LoadResult>,
  b: () => Promise<LoadResult>,
): Promise<{ a: LoadResult[]; b: LoadResult[] }> {
  const out = { a: [] as LoadResult[], b: [] as LoadResult[] };
  for (let r = 0; r < REPEATS; r++) {
    out.a.push(await a());
    out.b.push(await b());
    console.log(`  run ${r + 1}: ${round(out.a[r]!.requestsPerSecond)} vs ${round(out.b[r]!.requestsPerSecond)} requests/s`);
  }
  return out;
}

function check(results: LoadResult[], who: string): void {
  for (const r of results) {
    if (r.non2xx > 0 || r.errors > 0) throw new Error(`${who}: ${r.non2xx} non-2xx answers and ${r.errors} errors during the load`);
  }
}

async function main(): Promise<void> {
  console.log(`AllSource benchmarks (${quick ? 'quick' : 'full'}): ${SECONDS}s per run, ${REPEATS} runs each, alternating`);

  // 1. Engine API, durable batch append.
  const engineRuns: number[] = [];
  for (let r = 0; r < REPEATS; r++) {
    engineRuns.push(await engineAppend(SECONDS, BATCH, 4));
    console.log(`  engine run ${r + 1}: ${round(engineRuns[r]!)} events/s`);
  }
  figures.push({ name: 'engine batch append (durable, 4 writers × 1000 events)', unit: 'events/s', value: spread(engineRuns.map((x) => round(x))), extra: { target: '≥ 500000' } });

  // 2. Batch ingest over HTTP vs the machine's floor.
  const body = batchBody(BATCH);
  const core = await startServer('core', coreMain, { WAL_SYNC_MODE: 'always' });
  const floor = await startServer('floor', path.join(__dirname, 'servers/floorServer.js'));
  try {
    const batch = await alternate(
      () => postLoad(`${core.url}/api/v1/events/batch`, body, BATCH_CONNECTIONS, SECONDS),
      () => postLoad(`${floor.url}/api/v1/events/batch`, body, BATCH_CONNECTIONS, SECONDS),
    );
    check(batch.a, 'core batch');
    check(batch.b, 'floor');
    const coreEps = batch.a.map((r) => round(r.requestsPerSecond * BATCH));
    const floorEps = batch.b.map((r) => round(r.requestsPerSecond * BATCH));
    figures.push({
      name: `HTTP batch ingest (${BATCH} events/request, ${BATCH_CONNECTIONS} connections)`,
      unit: 'events/s',
      value: spread(coreEps),
      baseline: { name: 'floor: parse + write + fdatasync', value: spread(floorEps), ratio: spread(coreEps.map((c, i) => round(c / floorEps[i]!, 3))), target: '≥ 0.6' },
    });
  } finally {
    await floor.stop();
  }

  // 3. Single-event ingest over HTTP vs a bare Express app.
  const bare = await startServer('bare-express', path.join(__dirname, 'servers/bareExpress.js'));
  try {
    const single = JSON.stringify(sampleEvent(1));
    const runs = await alternate(
      () => postLoad(`${core.url}/api/v1/events`, single, SINGLE_CONNECTIONS, SECONDS),
      () => postLoad(`${bare.url}/api/v1/events`, single, SINGLE_CONNECTIONS, SECONDS),
    );
    check(runs.a, 'core single');
    check(runs.b, 'bare express');
    const coreRps = runs.a.map((r) => round(r.requestsPerSecond));
    const bareRps = runs.b.map((r) => round(r.requestsPerSecond));
    figures.push({
      name: `HTTP single-event ingest (durable, ${SINGLE_CONNECTIONS} connections)`,
      unit: 'events/s',
      value: spread(coreRps),
      baseline: { name: 'bare Express 5 (parse JSON, answer)', value: spread(bareRps), ratio: spread(coreRps.map((c, i) => round(c / bareRps[i]!, 3))), target: '≥ 0.85' },
      extra: { core_p50_ms: runs.a.map((r) => r.p50Ms), core_p99_ms: runs.a.map((r) => r.p99Ms), bare_p50_ms: runs.b.map((r) => r.p50Ms), bare_p99_ms: runs.b.map((r) => r.p99Ms) },
    });
  } finally {
    await bare.stop();
    await core.stop();
  }

  for (const f of figures) {
    console.log(`\n${f.name}\n  ${f.value.median} ${f.unit} (min ${f.value.min}, max ${f.value.max})`);
    if (f.baseline) {
      console.log(`  vs ${f.baseline.name}: ${f.baseline.value.median} ${f.unit}; ratio ${f.baseline.ratio.median} (min ${f.baseline.ratio.min}, max ${f.baseline.ratio.max}), target ${f.baseline.target ?? '-'}`);
    }
    if (f.extra) console.log(`  ${JSON.stringify(f.extra)}`);
  }
  const out = {
    generated_at: new Date().toISOString(),
    mode: quick ? 'quick' : 'full',
    machine: { cpus: os.cpus().length, cpu_model: os.cpus()[0]?.model, memory_bytes: os.totalmem(), platform: `${os.platform()} ${os.release()}` },
    node_version: process.version,
    durability: 'WAL_SYNC_MODE=always (fdatasync before every acknowledgement)',
    event_bytes: JSON.stringify(sampleEvent(1)).length,
    batch_size: BATCH,
    concurrency: { single: SINGLE_CONNECTIONS, batch: BATCH_CONNECTIONS, engine_writers: 4 },
    seconds_per_run: SECONDS,
    repeats: REPEATS,
    figures,
  };
  const file = path.join(__dirname, '..', 'results', 'latest.json');
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, JSON.stringify(out, null, 2) + '\n');
  console.log(`\nwritten to ${path.relative(process.cwd(), file)}`);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
