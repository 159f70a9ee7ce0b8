import autocannon from 'autocannon';
import type { EventEmitter } from 'node:events';
import { readStdinJson } from '../lib/processes';
import { summarize } from '../lib/stats';
import type { AutocannonJob, AutocannonResult, Job, Lane, LaneResult, LanesJob, LanesResult } from './protocol';
import { encodeRequest, RawHttpConnection } from './rawHttp';

/**
 * The load generator, run as its own process (`node dist/loadgen/worker.js`) so that it never
 * shares an event loop or a heap with the bench orchestrator or any server under test. Reads one
 * job (loadgen/protocol.ts) as JSON on stdin and prints its result as one JSON line.
 */
class Samples {
  private data = new Float64Array(4096);
  length = 0;
  push(v: number): void {
    if (this.length === this.data.length) {
      const next = new Float64Array(this.data.length * 2);
      next.set(this.data);
      this.data = next;
    }
    this.data[this.length++] = v;
  }
  view(): Float64Array {
    return this.data.subarray(0, this.length);
  }
}

async function runAutocannon(job: AutocannonJob): Promise<AutocannonResult> {
  const samples = new Samples();
  // Without a callback autocannon returns its tracker (an EventEmitter) made thenable.
  const instance = autocannon({
    url: job.base,
    requests: job.requests.map((r) => ({
      method: (r.method ?? 'GET') as 'GET',
      path: r.path,
      ...(r.body !== undefined ? { body: r.body } : {}),
      headers: { ...(r.body !== undefined ? { 'content-type': 'application/json' } : {}), ...r.headers },
    })),
    connections: job.connections,
    duration: job.durationS,
    pipelining: 1,
    ...(job.overallRate ? { overallRate: job.overallRate } : {}),
  }) as unknown as Promise<autocannon.Result> & EventEmitter;
  instance.on('response', (_client: unknown, statusCode: number, _bytes: number, responseTime: number) => {
    if (statusCode >= 200 && statusCode < 300) samples.push(responseTime);
  });
  const result = await instance;
  const statusCodes: Record<string, number> = {};
  for (const [code, v] of Object.entries(result.statusCodeStats ?? {})) statusCodes[code] = (v as { count: number }).count;
  const seconds = result.duration || job.durationS;
  return {
    requests: result.requests.total,
    seconds,
    requestsPerSecond: result.requests.total / seconds,
    latency: summarize(samples.view()),
    non2xx: result.non2xx,
    errors: result.errors + result.timeouts,
    statusCodes,
  };
}

async function runLanes(job: LanesJob): Promise<LanesResult> {
  const base = new URL(job.base);
  const started = performance.now();
  const hardDeadline = started + job.timeLimitMs;
  let foregroundDone = false;
  const runLane = async (lane: Lane): Promise<LaneResult> => {
    const connection = new RawHttpConnection(base.hostname, Number(base.port || 80));
    const encoded = lane.requests.map((r) => encodeRequest(base.host, r));
    const samples = new Samples();
    const statusCodes: Record<string, number> = {};
    let non2xx = 0;
    let errors = 0;
    let lastBody: Buffer | undefined;
    let lastBodyBytes: number | undefined;
    // Untimed requests first: the load generator's own code gets compiled before the clock runs.
    for (let i = 0; i < (lane.warmup ?? 0) && performance.now() < hardDeadline; i++) {
      try {
        await connection.send(encoded[i % encoded.length]!);
      } catch {
        // counted by the timed part if it persists
      }
    }
    const laneDeadline = lane.durationMs !== undefined ? performance.now() + lane.durationMs : Infinity;
    const count = lane.count ?? Infinity;
    for (let i = 0; i < count; i++) {
      const now = performance.now();
      if (now >= hardDeadline || now >= laneDeadline) break;
      if (lane.background && foregroundDone) break;
      const req = encoded[i % encoded.length]!;
      const t0 = performance.now();
      try {
        const res = await connection.send(req, lane.countSeries === true);
        const ms = performance.now() - t0;
        statusCodes[res.status] = (statusCodes[res.status] ?? 0) + 1;
        if (res.status >= 200 && res.status < 300) samples.push(ms);
        else non2xx++;
        if (res.body !== undefined) lastBody = res.body;
        lastBodyBytes = res.bytes;
      } catch {
        errors++;
        if (errors > 100) break;
      }
      if (lane.intervalMs) await new Promise((r) => setTimeout(r, lane.intervalMs));
    }
    connection.close();
    const result: LaneResult = { name: lane.name, latency: summarize(samples.view()), non2xx, errors, statusCodes };
    // A foreground lane with a count that ran out of time (warm-up included) says so.
    const sent = samples.length + non2xx + errors;
    if (!lane.background && lane.count !== undefined && lane.durationMs === undefined && sent < lane.count && errors <= 100) result.incomplete = true;
    if (lastBodyBytes !== undefined) result.lastBodyBytes = lastBodyBytes;
    if (lane.countSeries && lastBody !== undefined) {
      const lines = lastBody.toString('utf8').split('\n').filter((l) => l.length > 0 && !l.startsWith('#'));
      result.seriesCount = lines.length;
    }
    return result;
  };
  const foreground = job.lanes.filter((l) => !l.background);
  const background = job.lanes.filter((l) => l.background);
  const bg = background.map(runLane);
  const fg: LaneResult[] = [];
  if (job.sequential) for (const lane of foreground) fg.push(await runLane(lane));
  else fg.push(...(await Promise.all(foreground.map(runLane))));
  foregroundDone = true;
  const bgResults = await Promise.all(bg);
  const byName = new Map([...fg, ...bgResults].map((r) => [r.name, r]));
  return { lanes: job.lanes.map((l) => byName.get(l.name)!), elapsedMs: performance.now() - started };
}

async function main(): Promise<void> {
  const job = await readStdinJson<Job>();
  const result = job.kind === 'autocannon' ? await runAutocannon(job) : await runLanes(job);
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`loadgen worker: ${(err as Error)?.stack ?? String(err)}\n`);
  process.exit(1);
});
