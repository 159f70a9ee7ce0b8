/**
 * Query latency of two core builds, or of one build under two sets of Node flags, side by side:
 *
 *   node packages/bench/dist/micro/queryAB.js [--events=1000000] [--requests=3000] [--rounds=6]
 *       [--a=services/core/dist] [--b=services/core/dist] [--a-node-args=...] [--b-node-args=...]
 *       [--paths=/api/v1/events/query?entity_id=order-{k},/api/v1/entities/order-{k}/state]
 *       [--out=query-ab.json]
 *
 * Loads `events` (150 per entity, as scenario 6) once through the first build, copies the data
 * directory, starts A and B on their own copies, then for each path sends rounds of `requests`
 * sequential requests ({k} cycles over 64 entities) to A and B alternately, over one keep-alive
 * connection of the suite's lean client. The first round of each side warms it and is left out.
 * Prints p50 / p99 and server CPU time per request (from /proc) and writes
 * results/<out> (query-ab.json). To compare with the last commit: build it, copy services/core/dist
 * elsewhere, pass it as --a.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseArgs } from '../lib/args';
import { ok, pool } from '../lib/http';
import { runMicro, writeResult } from '../lib/micro';
import { processCpuSeconds, removeDir, repoRoot, startServer, tempDir, type ServerProcess } from '../lib/processes';
import { median, round, summarize } from '../lib/stats';
import { batchBody } from '../lib/workload';
import { encodeRequest, RawHttpConnection } from '../loadgen/rawHttp';

const args = parseArgs();
const EVENTS = Number(args.get('events') ?? 1_000_000);
const REQUESTS = Number(args.get('requests') ?? 3000);
const ROUNDS = Number(args.get('rounds') ?? 6);
const DIST_A = path.resolve(repoRoot, args.get('a') ?? 'services/core/dist');
const DIST_B = path.resolve(repoRoot, args.get('b') ?? 'services/core/dist');
const NODE_ARGS_A = (args.get('a-node-args') ?? '').split(' ').filter((a) => a !== '');
const NODE_ARGS_B = (args.get('b-node-args') ?? '').split(' ').filter((a) => a !== '');
const PATHS = (args.get('paths') ?? '/api/v1/events/query?entity_id=order-{k},/api/v1/entities/order-{k}/state').split(',');
const ENTITIES_QUERIED = 64;

interface RoundResult {
  p50: number;
  p99: number;
  cpuMicrosPerRequest: number;
}

async function timeRound(server: ServerProcess, requests: Buffer[], connection: RawHttpConnection): Promise<RoundResult> {
  const samples = new Float64Array(REQUESTS);
  const cpuBefore = processCpuSeconds(server.child.pid!) * 1000;
  for (let i = 0; i < REQUESTS; i++) {
    const t = performance.now();
    const res = await connection.send(requests[i % requests.length]!);
    samples[i] = performance.now() - t;
    if (res.status !== 200) throw new Error(`${server.name} answered ${res.status}`);
  }
  const s = summarize(samples);
  return { p50: s.p50, p99: s.p99, cpuMicrosPerRequest: round(((processCpuSeconds(server.child.pid!) * 1000 - cpuBefore) * 1000) / REQUESTS) };
}

async function main(): Promise<void> {
  if (!Number.isInteger(EVENTS / 1000) || EVENTS / 150 < ENTITIES_QUERIED) {
    throw new Error(`--events must be a multiple of 1000 and at least ${ENTITIES_QUERIED * 150} (${ENTITIES_QUERIED} entities of 150 events)`);
  }
  const dirA = tempDir('query-ab-a');
  const dirB = tempDir('query-ab-b');
  const entities = Math.round(EVENTS / 150);
  const loader = await startServer('query-ab-load', path.join(DIST_A, 'main.js'), {}, { dataDir: dirA, keepDataDir: true });
  try {
    await pool(EVENTS / 1000, 4, async (i) => {
      await ok('POST', `${loader.url}/api/v1/events/batch`, batchBody(1000, i * 1000, entities));
    });
  } finally {
    await loader.stop();
  }
  fs.cpSync(dirA, dirB, { recursive: true });
  const a = await startServer('query-ab-a', path.join(DIST_A, 'main.js'), {}, { dataDir: dirA, keepDataDir: true, nodeArgs: NODE_ARGS_A });
  const b = await startServer('query-ab-b', path.join(DIST_B, 'main.js'), {}, { dataDir: dirB, keepDataDir: true, nodeArgs: NODE_ARGS_B });
  const results: Record<string, unknown> = {};
  try {
    for (const p of PATHS) {
      const sides = [
        { name: 'A', server: a },
        { name: 'B', server: b },
      ].map((side) => {
        const host = new URL(side.server.url).host;
        return {
          ...side,
          requests: Array.from({ length: ENTITIES_QUERIED }, (_, k) => encodeRequest(host, { path: p.replace('{k}', String(k)) })),
          connection: new RawHttpConnection('127.0.0.1', side.server.port),
          runs: [] as RoundResult[],
        };
      });
      for (let r = 0; r < ROUNDS; r++) {
        for (const side of sides) {
          const x = await timeRound(side.server, side.requests, side.connection);
          if (r > 0) side.runs.push(x);
        }
      }
      for (const side of sides) side.connection.close();
      const summary = Object.fromEntries(
        sides.map((side) => [
          side.name,
          {
            p50_ms: median(side.runs.map((x) => x.p50)),
            p99_ms: median(side.runs.map((x) => x.p99)),
            cpu_us_per_request: median(side.runs.map((x) => x.cpuMicrosPerRequest)),
            p99_ms_runs: side.runs.map((x) => x.p99),
          },
        ]),
      );
      results[p] = summary;
      for (const [name, x] of Object.entries(summary)) {
        console.log(`${p} ${name}: p50 ${x.p50_ms} ms, p99 ${x.p99_ms} ms (rounds ${x.p99_ms_runs.join(' ')}), server CPU ${x.cpu_us_per_request} µs a request`);
      }
    }
  } finally {
    await a.stop();
    await b.stop();
    removeDir(dirA);
    removeDir(dirB);
  }
  const out = {
    a: { dist: path.relative(repoRoot, DIST_A), node_args: NODE_ARGS_A },
    b: { dist: path.relative(repoRoot, DIST_B), node_args: NODE_ARGS_B },
    events: EVENTS,
    requests_per_round: REQUESTS,
    rounds_counted: ROUNDS - 1,
    node: process.version,
    results,
  };
  writeResult(args.get('out') ?? 'query-ab.json', out);
}

runMicro(main);
