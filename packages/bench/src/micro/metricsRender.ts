/**
 * Micro-benchmark of the metrics code, in one process, no load generator:
 *
 *   node packages/bench/dist/micro/metricsRender.js [--renders=200] [--dump=FILE]
 *
 * 1. Starts a core in this process with the same cardinality load as scenario 4 (100K distinct
 *    event types, 200 pipelines + 1000 events, 10K distinct unknown URLs; PIPELINE_MAX=300), then
 *    renders its registry (`core.metrics.render()`, what GET /metrics serves, collect callbacks
 *    included) `--renders` times back to back: p50 / p99 / max, body size, series, and the lines
 *    per metric family (largest first). `--dump` writes the last body to a file.
 * 2. Times the per-request metric operations of the hot path (HTTP request counter + duration,
 *    an ingest, a query) on a fresh CoreMetrics, metrics on vs off (no-op registry).
 */
import { writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { createLogger, loadConfig, startCore } from '@allsource/core';
import type { Request, Response } from 'express';
import { parseArgs } from '../lib/args';
import { ok, pool } from '../lib/http';
import { removeDir, repoRoot, tempDir } from '../lib/processes';
import { round, summarize } from '../lib/stats';
import { PIPELINE_MAX, createPipelines, sendDistinctTypes } from '../scenarios/scrapeCost';

const args = parseArgs();
const RENDERS = Number(args.get('renders') ?? 200);

async function renderCost(): Promise<void> {
  const dir = tempDir('metrics-render');
  const config = loadConfig({ DATA_DIR: dir, PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'silent', WAL_SYNC_MODE: 'always', PIPELINE_MAX });
  const core = await startCore(config, { logger: createLogger('silent', 'bench-micro') });
  const url = `http://127.0.0.1:${core.port}`;
  try {
    await sendDistinctTypes(url);
    await createPipelines(url);
    await pool(10_000, 16, async (i) => {
      const res = await fetch(`${url}/no/such/path-${i}?x=${i}`);
      await res.arrayBuffer();
      if (res.status !== 404) throw new Error(`unknown URL answered ${res.status}`);
    });

    // The same metric objects on a plain prom-client Registry: its own text formatting, rendered
    // alternately with the core's registry so both see the same machine load.
    const { Registry } = require(path.join(repoRoot, 'services/core/node_modules/prom-client')) as {
      Registry: { merge(registries: unknown[]): { metrics(): Promise<string> } };
    };
    const plain = Registry.merge([core.metrics.registry]);
    let body = '';
    for (let i = 0; i < 20; i++) {
      body = (await core.metrics.render()).body; // warm-up
      await plain.metrics();
    }
    const times: number[] = [];
    const plainTimes: number[] = [];
    for (let i = 0; i < RENDERS; i++) {
      let t = performance.now();
      body = (await core.metrics.render()).body;
      times.push(performance.now() - t);
      t = performance.now();
      await plain.metrics();
      plainTimes.push(performance.now() - t);
    }
    const s = summarize(times);
    const p = summarize(plainTimes);
    const lines = body.split('\n').filter((l) => l && !l.startsWith('#'));
    const perFamily = new Map<string, number>();
    let family = '';
    for (const line of body.split('\n')) {
      const m = /^# TYPE (\S+)/.exec(line);
      if (m) family = m[1]!;
      else if (line && !line.startsWith('#')) perFamily.set(family, (perFamily.get(family) ?? 0) + 1);
    }
    console.log(`render after the cardinality load (${RENDERS} renders): p50 ${round(s.p50, 3)} ms, p99 ${round(s.p99, 3)} ms, max ${round(s.max, 3)} ms, mean ${round(s.mean, 3)} ms`);
    console.log(`same metrics on prom-client's own Registry (alternating): p50 ${round(p.p50, 3)} ms, p99 ${round(p.p99, 3)} ms, max ${round(p.max, 3)} ms, mean ${round(p.mean, 3)} ms`);
    console.log(`body ${round(Buffer.byteLength(body) / 1024, 1)} KiB, ${lines.length} series, ${perFamily.size} families`);
    console.log('series per family (top 12):');
    for (const [name, n] of [...perFamily].sort((a, b) => b[1] - a[1]).slice(0, 12)) console.log(`  ${String(n).padStart(6)}  ${name}`);
    if (args.get('dump')) writeFileSync(args.get('dump')!, body);
  } finally {
    await core.close();
    removeDir(dir);
  }
}

/** ns per call of `fn`, best of 5 rounds of `n` calls. */
function nsPerCall(n: number, fn: (i: number) => void): number {
  let best = Infinity;
  for (let r = 0; r < 5; r++) {
    const t = process.hrtime.bigint();
    for (let i = 0; i < n; i++) fn(i);
    best = Math.min(best, Number(process.hrtime.bigint() - t) / n);
  }
  return round(best, 1);
}

interface MetricsLike {
  m: {
    counter(name: string): unknown;
    histogram(name: string): unknown;
    gauge(name: string): unknown;
  };
  recordIngest(types: readonly string[], seconds: number): void;
  recordQuery(type: string, seconds: number, results: number): void;
}
interface CoreMetricsModule {
  CoreMetrics: new (opts: { enabled: boolean; version: string; eventTypeLabelLimit: number; labelValueLimit: number }, stats: () => never) => MetricsLike;
}
interface HttpMetricsModule {
  httpMetricsObserver(handles: unknown): { started(): void; ended(req: Request, res: Response, seconds: number): void };
}

async function hotPath(): Promise<void> {
  // Built files of the workspace (the bench package depends on the core only through its API).
  const { CoreMetrics } = require(path.join(repoRoot, 'services/core/dist/metrics/coreMetrics.js')) as CoreMetricsModule;
  const { httpMetricsObserver } = require(path.join(repoRoot, 'packages/service-kit/dist/httpMetrics.js')) as HttpMetricsModule;
  const stats = () => ({ totalEvents: 0, totalEntities: 0, parquetFiles: 0, walFiles: 0, walBytes: 0, segmentBytes: 0 }) as never;
  const N = 200_000;
  const routes = ['/api/v1/events', '/api/v1/events/query', '/api/v1/entities/:entity_id/state', '/health'];
  const types = ['order.created', 'order.paid', 'order.shipped'];
  for (const enabled of [true, false]) {
    const m = new CoreMetrics({ enabled, version: 'bench', eventTypeLabelLimit: 1000, labelValueLimit: 200 }, stats);
    // With metrics off the service app installs no observer: a request costs nothing here.
    const observer = enabled
      ? httpMetricsObserver({
          requests: m.m.counter('allsource_http_requests_total'),
          duration: m.m.histogram('allsource_http_request_duration_seconds'),
          inFlight: m.m.gauge('allsource_http_requests_in_flight'),
        })
      : undefined;
    // What the request context hands the observer: a request with its matched route, an answer
    // with its status, once at the start and once from the answer's 'close' listener.
    const res = { statusCode: 200 } as unknown as Response;
    const http = nsPerCall(N, (i) => {
      const req = { method: 'GET', route: { path: routes[i & 3]! } } as unknown as Request;
      if (observer) {
        observer.started();
        observer.ended(req, res, 0.0012);
      }
    });
    const ingest = nsPerCall(N, (i) => m.recordIngest([types[i % 3]!], 0.0012));
    const query = nsPerCall(N, (i) => m.recordQuery(i & 1 ? 'entity' : 'state', 0.00008, 150));
    console.log(`metrics ${enabled ? 'on ' : 'off'}: HTTP request through the metrics observer ${http} ns, recordIngest(1 event) ${ingest} ns, recordQuery ${query} ns`);
  }
}

async function main(): Promise<void> {
  await hotPath();
  await renderCost();
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
