import type { LatencySummary } from '../lib/stats';

/**
 * What bench scenarios ask the load generator (loadgen/worker.js, a separate process from every
 * server under test) to do, and what it answers. Sent as JSON on its stdin; the answer is one
 * JSON line on its stdout.
 */
export interface Req {
  method?: string;
  path: string;
  /** Pre-built before the clock starts. */
  body?: string;
  headers?: Record<string, string>;
}

/** Open-loop-ish throughput load with autocannon: `connections` keep-alive connections, each cycling through `requests`. */
export interface AutocannonJob {
  kind: 'autocannon';
  base: string;
  requests: Req[];
  connections: number;
  durationS: number;
  /** Requests/s over all connections (fixed-rate load); omitted: as fast as answers come. */
  overallRate?: number;
}

export interface AutocannonResult {
  requests: number;
  seconds: number;
  requestsPerSecond: number;
  /** From every response's own timer (sub-millisecond; autocannon's histogram rounds to ms). */
  latency: LatencySummary;
  non2xx: number;
  errors: number;
  statusCodes: Record<string, number>;
}

/**
 * Closed-loop latency sampling: each lane is one keep-alive connection (a minimal HTTP/1.1
 * client, loadgen/rawHttp.ts, so the client adds little of its own) sending its requests one
 * after another (cycling), timing each from the request to the last byte of the answer. The job
 * ends when every foreground lane has sent `count` requests (or run `durationMs`); background
 * lanes (e.g. a /health probe) run until then.
 */
export interface LanesJob {
  kind: 'lanes';
  base: string;
  lanes: Lane[];
  /** Run the foreground lanes one after another instead of at once. */
  sequential?: boolean;
  /** Hard bound on the whole job. */
  timeLimitMs: number;
}

export interface Lane {
  name: string;
  requests: Req[];
  count?: number;
  durationMs?: number;
  /** Requests sent (cycling from the first) before the timed ones, not timed: warms the load generator's own code. */
  warmup?: number;
  /** Pause between one answer and the next request. */
  intervalMs?: number;
  background?: boolean;
  /** Count the series (non-comment, non-empty lines) of the last answer (a /metrics body). */
  countSeries?: boolean;
}

export interface LaneResult {
  name: string;
  latency: LatencySummary;
  non2xx: number;
  errors: number;
  statusCodes: Record<string, number>;
  lastBodyBytes?: number;
  seriesCount?: number;
  /** The lane had a `count` and the job's time limit ended it first. */
  incomplete?: boolean;
}

export interface LanesResult {
  lanes: LaneResult[];
  elapsedMs: number;
}

export type Job = AutocannonJob | LanesJob;
