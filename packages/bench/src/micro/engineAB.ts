/**
 * Durable engine append of two core builds side by side (scenario 2's engine run, A and B
 * alternating, which one goes first alternating too):
 *
 *   node packages/bench/dist/micro/engineAB.js --a=<core dist> [--b=services/core/dist]
 *       [--writers=4,8] [--batch=1000] [--rounds=5] [--seconds=4] [--sync-delay-ms=0]
 *       [--out=engine-ab.json]
 *
 * Each run is a child process appending `batch`-event appends with `writers` writers for
 * `seconds` (`--batch=1 --writers=50`: a stream of single-event appends). `--sync-delay-ms` makes every fdatasync that much longer (a slower disk), which
 * shows what overlapping the disk's work with the event loop's is worth independently of this
 * machine's noisy disk. Prints per side: appended events/s, events/s until everything was in a
 * segment, CPU µs per event, the share of the time a WAL fdatasync was in flight; and B / A
 * per pair of runs. Writes results/<out>. To compare with
 * an earlier commit: build it, copy its services/core/dist next to the current one (so its
 * dependencies resolve) and pass it as --a.
 */
import * as os from 'node:os';
import * as path from 'node:path';
import type { EngineJob } from '../children/engine';
import { parseArgs } from '../lib/args';
import { runMicro, writeResult } from '../lib/micro';
import { distDir, removeDir, repoRoot, runJsonChild, tempDir } from '../lib/processes';
import { round, spread, type Spread } from '../lib/stats';

const args = parseArgs();
const DIST_A = path.resolve(repoRoot, args.get('a') ?? 'services/core/dist');
const DIST_B = path.resolve(repoRoot, args.get('b') ?? 'services/core/dist');
const WRITERS = (args.get('writers') ?? '4,8').split(',').map(Number);
const ROUNDS = Number(args.get('rounds') ?? 5);
const SECONDS = Number(args.get('seconds') ?? 4);
const SYNC_DELAY_MS = Number(args.get('sync-delay-ms') ?? 0);
const OUT = args.get('out') ?? 'engine-ab.json';
const BATCH = Number(args.get('batch') ?? 1000);

interface Run {
  eventsPerSecond: number;
  flushedEventsPerSecond: number;
  cpuMicrosPerEvent: number;
  /** Share of the time a WAL fdatasync was in flight (absent from builds before it was reported). */
  walSyncBusy?: number;
}

interface Side {
  appended: Spread;
  untilFlushed: Spread;
  cpuMicrosPerEvent: Spread;
  walSyncBusy: Spread;
}

async function runOnce(dist: string, writers: number): Promise<Run> {
  const dataDir = tempDir('engine-ab');
  try {
    const job: EngineJob = { mode: 'append', dataDir, seconds: SECONDS, batch: BATCH, writers, coreDist: dist, syncDelayMs: SYNC_DELAY_MS };
    return await runJsonChild<Run>(path.join(distDir, 'children/engine.js'), job, { nodeArgs: ['--expose-gc'], timeoutMs: SECONDS * 1000 + 120_000 });
  } finally {
    removeDir(dataDir);
  }
}

function side(runs: Run[]): Side {
  return {
    appended: spread(runs.map((r) => round(r.eventsPerSecond))),
    untilFlushed: spread(runs.map((r) => round(r.flushedEventsPerSecond))),
    cpuMicrosPerEvent: spread(runs.map((r) => round(r.cpuMicrosPerEvent, 2))),
    walSyncBusy: spread(runs.map((r) => round(r.walSyncBusy ?? NaN, 3))),
  };
}

async function main(): Promise<void> {
  console.log(`engine A/B: A ${DIST_A}, B ${DIST_B}; ${ROUNDS} rounds × ${SECONDS} s, ${BATCH}-event appends, writers ${WRITERS.join(', ')}, fdatasync +${SYNC_DELAY_MS} ms`);
  const results: Record<string, { a: Side; b: Side; appendedRatio: Spread; untilFlushedRatio: Spread }> = {};
  for (const writers of WRITERS) {
    const a: Run[] = [];
    const b: Run[] = [];
    for (let r = 0; r < ROUNDS; r++) {
      const order: Array<[string, Run[]]> = r % 2 === 0 ? [[DIST_A, a], [DIST_B, b]] : [[DIST_B, b], [DIST_A, a]];
      for (const [dist, runs] of order) runs.push(await runOnce(dist, writers));
      console.log(
        `${writers} writers, round ${r + 1}: A ${round(a[r]!.eventsPerSecond)} (${round(a[r]!.flushedEventsPerSecond)} until flushed), ` +
          `B ${round(b[r]!.eventsPerSecond)} (${round(b[r]!.flushedEventsPerSecond)}) events/s`,
      );
    }
    results[`${writers} writers`] = {
      a: side(a),
      b: side(b),
      appendedRatio: spread(a.map((x, i) => round(b[i]!.eventsPerSecond / x.eventsPerSecond, 3))),
      untilFlushedRatio: spread(a.map((x, i) => round(b[i]!.flushedEventsPerSecond / x.flushedEventsPerSecond, 3))),
    };
    const res = results[`${writers} writers`]!;
    console.log(
      `${writers} writers: appended A ${res.a.appended.median} vs B ${res.b.appended.median} events/s (B/A ${res.appendedRatio.median}); ` +
        `until flushed A ${res.a.untilFlushed.median} vs B ${res.b.untilFlushed.median} (B/A ${res.untilFlushedRatio.median}); ` +
        `CPU A ${res.a.cpuMicrosPerEvent.median} vs B ${res.b.cpuMicrosPerEvent.median} µs/event; ` +
        `a WAL sync in flight A ${res.a.walSyncBusy.median} vs B ${res.b.walSyncBusy.median} of the time`,
    );
  }
  writeResult(OUT, {
    when: new Date().toISOString(),
    machine: { cpus: os.cpus().length, model: os.cpus()[0]?.model, node: process.version },
    a: path.relative(repoRoot, DIST_A),
    b: path.relative(repoRoot, DIST_B),
    rounds: ROUNDS,
    seconds: SECONDS,
    batch: BATCH,
    syncDelayMs: SYNC_DELAY_MS,
    results,
  });
}

runMicro(main);
