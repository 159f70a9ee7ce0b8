/**
 * HTTP ingest against several servers side by side, in rounds, the order rotating every round:
 *
 *   node packages/bench/dist/micro/ingestAB.js [--sides=base=<main.js>,now=core,bare=bare]
 *       [--load=single|batch] [--rounds=6] [--seconds=4] [--connections=50|4] [--out=ingest-ab.json]
 *
 * `--load=single` (the default) is scenario 1's load: single events, 50 connections. `--load=batch`
 * is scenario 2's HTTP load: 1000-event batches, 4 connections; its figures are per event.
 *
 * A side is `name=core` (this workspace's core), `name=bare` (scenario 1's bare Express app),
 * `name=core-metrics-off` (this core with METRICS_ENABLED=false), `name=core-snapshots-off` (this
 * core without automatic snapshots), `name=core@KEY=VALUE+KEY=VALUE` (this core with those settings) or
 * `name=<path to a main.js>`:
 * the core of another commit, built in its own checkout so its workspace packages are its own
 * (`git worktree add /tmp/wt-base <commit>`, link or install its node_modules, `npm run build`
 * there, then `--sides=base=/tmp/wt-base/services/core/dist/main.js,now=core,bare=bare`). Cores
 * run durable (`WAL_SYNC_MODE=always`) with their defaults.
 *
 * Prints and writes per side: requests (events) per second, p50/p99 latency, and the server's CPU time per request (event)
 * (user + system of the whole server process from /proc, so Linux only), which moves less with
 * the machine's noise than throughput; and each side's requests/s over the first side's per round.
 */
import * as os from 'node:os';
import * as path from 'node:path';
import { parseArgs } from '../lib/args';
import { load } from '../lib/loadgen';
import { runMicro, writeResult } from '../lib/micro';
import { coreMain, distDir, processCpuSeconds, repoRoot, startServer, type ServerProcess } from '../lib/processes';
import { round, spread, type Spread } from '../lib/stats';
import { batchBody } from '../lib/workload';
import { BATCH } from '../scenarios/batchIngest';
import { singleRequests } from '../scenarios/singleIngest';

const args = parseArgs();
const SIDES = (args.get('sides') ?? 'now=core,bare=bare').split(',').map((s) => {
  const eq = s.indexOf('=');
  if (eq <= 0) throw new Error(`--sides: '${s}' is not name=server`);
  return { name: s.slice(0, eq), server: s.slice(eq + 1) };
});
const LOAD = args.get('load') ?? 'single';
if (LOAD !== 'single' && LOAD !== 'batch') throw new Error(`--load: '${LOAD}' is not single or batch`);
/** Events a request carries. */
const PER_REQUEST = LOAD === 'batch' ? BATCH : 1;
const ROUNDS = Number(args.get('rounds') ?? 6);
const SECONDS = Number(args.get('seconds') ?? 4);
const CONNECTIONS = Number(args.get('connections') ?? (LOAD === 'batch' ? 4 : 50));
const OUT = args.get('out') ?? 'ingest-ab.json';

async function start(name: string, server: string): Promise<ServerProcess> {
  const durable = { WAL_SYNC_MODE: 'always' };
  if (server === 'core') return startServer(name, coreMain, durable);
  if (server.startsWith('core@')) {
    // `core@KEY=VALUE+KEY=VALUE`: this core with those settings.
    const env = Object.fromEntries(
      server
        .slice(5)
        .split('+')
        .map((kv) => {
          const at = kv.indexOf('=');
          if (at <= 0) throw new Error(`--sides: '${kv}' in '${server}' is not KEY=VALUE`);
          return [kv.slice(0, at), kv.slice(at + 1)];
        }),
    );
    return startServer(name, coreMain, { ...durable, ...env });
  }
  if (server === 'core-metrics-off') return startServer(name, coreMain, { ...durable, METRICS_ENABLED: 'false' });
  if (server === 'core-snapshots-off') return startServer(name, coreMain, { ...durable, SNAPSHOT_EVERY_EVENTS: '0', SNAPSHOT_MAX_AGE_MS: '0' });
  if (server === 'bare') return startServer(name, path.join(distDir, 'servers/bareExpress.js'));
  return startServer(name, path.resolve(repoRoot, server), durable);
}

interface Run {
  requestsPerSecond: number;
  p50: number;
  p99: number;
  cpuMicrosPerRequest: number;
}

async function main(): Promise<void> {
  const unit = LOAD === 'batch' ? 'events' : 'req';
  console.log(`ingest A/B (${LOAD}): ${SIDES.map((s) => `${s.name}=${s.server}`).join(', ')}; ${ROUNDS} rounds × ${SECONDS} s, ${CONNECTIONS} connections`);
  const requests =
    LOAD === 'batch'
      ? Array.from({ length: 4 }, (_, i) => ({ method: 'POST', path: '/api/v1/events/batch', body: batchBody(BATCH, i * BATCH) }))
      : singleRequests();
  const servers: ServerProcess[] = [];
  const runs = SIDES.map((): Run[] => []);
  try {
    for (const s of SIDES) servers.push(await start(s.name, s.server));
    for (let r = 0; r < ROUNDS; r++) {
      const line: string[] = [];
      for (let k = 0; k < SIDES.length; k++) {
        const i = (r + k) % SIDES.length;
        const server = servers[i]!;
        const cpuBefore = processCpuSeconds(server.child.pid!);
        const x = await load({ base: server.url, requests, connections: CONNECTIONS, durationS: SECONDS });
        const cpu = processCpuSeconds(server.child.pid!) - cpuBefore;
        const answered = x.requestsPerSecond * SECONDS * PER_REQUEST;
        runs[i]![r] = {
          requestsPerSecond: round(x.requestsPerSecond * PER_REQUEST),
          p50: x.latency.p50,
          p99: x.latency.p99,
          cpuMicrosPerRequest: round((cpu * 1e6) / answered, 2),
        };
      }
      for (let i = 0; i < SIDES.length; i++) line.push(`${SIDES[i]!.name} ${runs[i]![r]!.requestsPerSecond} ${unit}/s, ${runs[i]![r]!.cpuMicrosPerRequest} µs CPU/${unit === 'req' ? 'req' : 'event'}`);
      console.log(`round ${r + 1}: ${line.join('; ')}`);
    }
  } finally {
    for (const s of servers) await s.stop();
  }
  const first = runs[0]!;
  const results: Record<string, { requestsPerSecond: Spread; p50: Spread; p99: Spread; cpuMicrosPerRequest: Spread; overFirst: Spread }> = {};
  for (let i = 0; i < SIDES.length; i++) {
    const mine = runs[i]!;
    results[SIDES[i]!.name] = {
      requestsPerSecond: spread(mine.map((x) => x.requestsPerSecond)),
      p50: spread(mine.map((x) => x.p50)),
      p99: spread(mine.map((x) => x.p99)),
      cpuMicrosPerRequest: spread(mine.map((x) => x.cpuMicrosPerRequest)),
      overFirst: spread(mine.map((x, r) => round(x.requestsPerSecond / first[r]!.requestsPerSecond, 3))),
    };
    const res = results[SIDES[i]!.name]!;
    console.log(
      `${SIDES[i]!.name}: ${res.requestsPerSecond.median} ${unit}/s (p50 ${res.p50.median} ms, p99 ${res.p99.median} ms), ` +
        `${res.cpuMicrosPerRequest.median} µs CPU/${unit === 'req' ? 'req' : 'event'}, over ${SIDES[0]!.name} ${res.overFirst.median} (${res.overFirst.min}–${res.overFirst.max})`,
    );
  }
  writeResult(OUT, {
    when: new Date().toISOString(),
    machine: { cpus: os.cpus().length, model: os.cpus()[0]?.model, node: process.version },
    sides: SIDES,
    load: LOAD,
    // With --load=batch, "requestsPerSecond" and "cpuMicrosPerRequest" are per event.
    eventsPerRequest: PER_REQUEST,
    rounds: ROUNDS,
    seconds: SECONDS,
    connections: CONNECTIONS,
    results,
  });
}

runMicro(main);
