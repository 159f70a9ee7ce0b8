/**
 * What a small young generation costs ingest: the core run with Node's default young generation
 * vs with `--max-semi-space-size=2` (docs/configuration.md, "Runtime options"), side by side,
 * runs alternating, same load generator:
 *
 *   node packages/bench/dist/micro/youngGeneration.js [--seconds=6] [--runs=3]
 *
 * Single-event ingest (50 connections) and batch ingest (1000 events a request, 4 connections),
 * durable. Prints the figures and writes results/young-generation.json. The query side:
 * `micro/queryAB.js --b-node-args=--max-semi-space-size=2`.
 */
import * as os from 'node:os';
import { parseArgs } from '../lib/args';
import { checkLoad, load } from '../lib/loadgen';
import { runMicro, writeResult } from '../lib/micro';
import { coreMain, startServer } from '../lib/processes';
import { median, round, spread, type Spread } from '../lib/stats';
import { batchBody, sampleEvent } from '../lib/workload';
import type { Req } from '../loadgen/protocol';

const FLAG = '--max-semi-space-size=2';
const args = parseArgs();
const SECONDS = Number(args.get('seconds') ?? 6);
const RUNS = Number(args.get('runs') ?? 3);

interface Comparison {
  unit: string;
  default: Spread;
  tuned: Spread;
  /** tuned / default, per pair of runs. */
  ratio: Spread;
}

async function compare(name: string, requests: Req[], connections: number, eventsPerRequest: number): Promise<Comparison> {
  const plain = await startServer(`${name}-default`, coreMain, { WAL_SYNC_MODE: 'always' });
  const tuned = await startServer(`${name}-tuned`, coreMain, { WAL_SYNC_MODE: 'always' }, { nodeArgs: [FLAG] });
  const runs = { default: [] as number[], tuned: [] as number[] };
  try {
    for (let r = 0; r < RUNS; r++) {
      // Which side goes first alternates, so neither always follows the other's background work.
      const order = [['default', plain], ['tuned', tuned]] as const;
      for (const [side, server] of r % 2 === 0 ? order : [...order].reverse()) {
        const res = await load({ base: server.url, requests, connections, durationS: SECONDS });
        checkLoad(res, `${name} (${side})`);
        runs[side].push(round(res.requestsPerSecond * eventsPerRequest));
      }
      console.log(`${name} run ${r + 1}: default ${runs.default[r]} vs ${FLAG} ${runs.tuned[r]} events/s`);
    }
  } finally {
    await plain.stop();
    await tuned.stop();
  }
  return {
    unit: 'events/s',
    default: spread(runs.default),
    tuned: spread(runs.tuned),
    ratio: spread(runs.tuned.map((t, i) => round(t / runs.default[i]!, 3))),
  };
}

async function main(): Promise<void> {
  const single: Req[] = Array.from({ length: 64 }, (_, i) => ({ method: 'POST', path: '/api/v1/events', body: JSON.stringify(sampleEvent(i, 64)) }));
  const batch: Req[] = Array.from({ length: 8 }, (_, i) => ({ method: 'POST', path: '/api/v1/events/batch', body: batchBody(1000, i * 1000) }));
  const results = {
    flag: FLAG,
    node: process.version,
    machine: { cpus: os.cpus().length, cpu_model: os.cpus()[0]?.model, memory_bytes: os.totalmem() },
    seconds_per_run: SECONDS,
    runs_per_side: RUNS,
    single_ingest_50_connections: await compare('single', single, 50, 1),
    batch_ingest_1000_events_4_connections: await compare('batch', batch, 4, 1000),
  };
  for (const [name, c] of Object.entries(results)) {
    if (typeof c === 'object' && c !== null && 'ratio' in c) {
      console.log(`${name}: default ${median(c.default.runs)}, ${FLAG} ${median(c.tuned.runs)} ${c.unit}; ratio ${c.ratio.median} (${c.ratio.min}–${c.ratio.max})`);
    }
  }
  writeResult('young-generation.json', results);
}

runMicro(main);
