/**
 * PROMETHEUS_URL mode against the real `prometheus` binary (Debian's package, installed by
 * `npm test`): a Prometheus on a loopback port scrapes two real cores and the control plane;
 * the timeseries endpoint answers from its query_range in the embedded history's shape, and
 * histogram_quantile computed by Prometheus equals ours on the same buckets.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import axios from 'axios';
import { histogramQuantile } from '../prometheus/promql';
import { histogramSeries, parseExposition } from '../prometheus/textFormat';
import { coreNodes, events, freePort, makeTempDir, removeDir, startCorePair, startTestControlPlane, waitFor, type CoreProcess, type TestControlPlane } from '../testing/harness';

let core1: CoreProcess;
let core2: CoreProcess;
let t: TestControlPlane;
let prometheus: ChildProcess | undefined;
let promDir: string;
let promUrl: string;
let promLog = '';

const promQuery = async (query: string): Promise<Array<{ metric: Record<string, string>; value: [number, string] }>> => {
  const res = await axios.get<{ status: string; data: { result: Array<{ metric: Record<string, string>; value: [number, string] }> } }>(`${promUrl}/api/v1/query`, {
    params: { query },
    timeout: 5000,
  });
  return res.data.data.result;
};

interface Series {
  metric: string;
  source: string;
  datapoints: Array<{ timestamp: string; value: number | null }>;
  nodes?: Record<string, Array<{ timestamp: string; value: number | null }>>;
}

beforeAll(async () => {
  if (spawnSync('prometheus', ['--version']).error) {
    throw new Error("the prometheus binary is missing; npm test installs Debian's prometheus package");
  }
  [core1, core2] = await startCorePair();
  const promPort = await freePort();
  promUrl = `http://127.0.0.1:${promPort}`;
  t = await startTestControlPlane({
    CORE_NODES: coreNodes(core1, core2),
    SCRAPE_INTERVAL_MS: '500',
    PROMETHEUS_URL: promUrl,
    PROMETHEUS_SELECTOR: 'job="allsource-core"',
    PROMETHEUS_RATE_WINDOW_MS: '5000',
  });
  promDir = await makeTempDir('cp-prometheus-');
  await writeFile(
    path.join(promDir, 'prometheus.yml'),
    [
      'global:',
      '  scrape_interval: 1s',
      '  scrape_timeout: 1s',
      'scrape_configs:',
      '  - job_name: allsource-core',
      '    static_configs:',
      `      - targets: ['127.0.0.1:${core1.port}', '127.0.0.1:${core2.port}']`,
      '  - job_name: allsource-control-plane',
      '    static_configs:',
      `      - targets: ['127.0.0.1:${t.cp.port}']`,
      '',
    ].join('\n'),
  );
  prometheus = spawn(
    'prometheus',
    [
      `--config.file=${path.join(promDir, 'prometheus.yml')}`,
      `--storage.tsdb.path=${path.join(promDir, 'data')}`,
      `--web.listen-address=127.0.0.1:${promPort}`,
      '--log.level=warn',
    ],
    { cwd: promDir, stdio: ['ignore', 'ignore', 'pipe'] },
  );
  prometheus.stderr!.on('data', (d: Buffer) => {
    if (promLog.length < 20_000) promLog += d.toString();
  });
  await waitFor(
    'prometheus to scrape both cores and the control plane with up == 1',
    async () => {
      if (prometheus!.exitCode !== null) throw new Error(`prometheus exited: ${promLog}`);
      const up = await promQuery('up');
      return up.length === 3 && up.every((r) => r.value[1] === '1');
    },
    60_000,
    250,
  );
});

afterAll(async () => {
  if (prometheus && prometheus.exitCode === null) {
    const exited = new Promise<void>((resolve) => prometheus!.once('exit', () => resolve()));
    prometheus.kill('SIGTERM');
    await exited;
  }
  await t?.stop(true);
  await Promise.all([core1?.destroy(), core2?.destroy()]);
  await removeDir(promDir);
});

it('answers the timeseries from Prometheus query_range, in the same shape, per node and cluster-wide', async () => {
  for (let round = 0; round < 8; round++) {
    await core1.client.ingestBatch(events(`p-${round}`, 50));
    await core2.client.ingestBatch(events(`q-${round}`, 10));
    await new Promise((r) => setTimeout(r, 300));
  }
  const series = await waitFor(
    'prometheus rates for both nodes',
    async () => {
      const res = await t.client.raw<Series>('GET', '/api/v1/dashboard/timeseries', { params: { metric: 'ingestion_rate', range: '5m', step: '1s', node: 'all' } });
      const ok = res.status === 200 && res.data.datapoints.some((p) => (p.value ?? 0) > 0) && res.data.nodes!['core-2']!.some((p) => (p.value ?? 0) > 0);
      return ok ? res.data : undefined;
    },
    30_000,
    500,
  );
  expect(series.source).toBe('prometheus');
  expect(Object.keys(series).sort()).toEqual(['datapoints', 'from', 'metric', 'node', 'nodes', 'range', 'source', 'step', 'step_seconds', 'to', 'unit'].sort());
  for (const p of [...series.datapoints, ...series.nodes!['core-1']!]) {
    expect(p.timestamp).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    if (p.value !== null) expect(p.value).toBeGreaterThanOrEqual(0);
  }
  // The embedded history answers the same shape.
  const embedded = await startTestControlPlane({ CORE_NODES: coreNodes(core1, core2), SCRAPE_INTERVAL_MS: '500' });
  try {
    await embedded.cp.scraper.waitForCycles(1);
    const e = await embedded.client.raw<Series>('GET', '/api/v1/dashboard/timeseries', { params: { metric: 'ingestion_rate', range: '5m', step: '1s', node: 'all' } });
    expect(Object.keys(e.data).sort()).toEqual(Object.keys(series).sort());
    expect(e.data.source).toBe('embedded');
  } finally {
    await embedded.stop(true);
  }

  // A gauge through Prometheus: events stored per node equal the core's stats.
  const [s1, s2] = await Promise.all([core1.client.stats(), core2.client.stats()]);
  await waitFor(
    'prometheus to have the final event counts',
    async () => {
      const res = await t.client.raw<Series>('GET', '/api/v1/dashboard/timeseries', { params: { metric: 'events_stored', range: '5m', step: '1s' } });
      return res.data.datapoints[res.data.datapoints.length - 1]?.value === s1.total_events + s2.total_events;
    },
    30_000,
    500,
  );
  // Every derived metric's PromQL is valid for Prometheus.
  const names = (await t.client.raw<{ details: { valid_metrics: string[] } }>('GET', '/api/v1/dashboard/timeseries', { params: { metric: '?' } })).data.details.valid_metrics;
  for (const metric of names) {
    const res = await t.client.raw<Series>('GET', '/api/v1/dashboard/timeseries', { params: { metric, range: '15m', node: 'core-1' } });
    expect([metric, res.status]).toEqual([metric, 200]);
  }
});

it('histogram_quantile computed by Prometheus equals ours on the same buckets', async () => {
  for (let i = 0; i < 30; i++) {
    await core2.client.queryEvents({ entity_id: 'q-1' });
    await core2.client.queryEvents({ event_type: 'test.event' });
  }
  const family = parseExposition(await core2.client.metricsText()).find((f) => f.name === 'allsource_query_duration_seconds')!;
  const summed = new Map<number, number>();
  for (const s of histogramSeries(family)) for (const b of s.buckets) summed.set(b.le, (summed.get(b.le) ?? 0) + b.count);
  const total = summed.get(Infinity)!;
  const instance = `instance="127.0.0.1:${core2.port}"`;
  await waitFor(
    'prometheus to scrape the final query histogram',
    async () => Number((await promQuery(`sum(allsource_query_duration_seconds_count{${instance}})`))[0]?.value[1]) === total,
    30_000,
    250,
  );
  for (const q of [0.5, 0.95, 0.99]) {
    const theirs = Number((await promQuery(`histogram_quantile(${q}, sum by (le) (allsource_query_duration_seconds_bucket{${instance}}))`))[0]!.value[1]);
    const ours = histogramQuantile(q, [...summed].map(([le, count]) => ({ le, count })));
    expect(ours).toBeCloseTo(theirs, 12);
  }
});

it('answers 503 when the Prometheus server does not answer', async () => {
  const dead = await startTestControlPlane({ CORE_NODES: coreNodes(core1), PROMETHEUS_URL: `http://127.0.0.1:${await freePort()}`, PROMETHEUS_TIMEOUT_MS: '2000' });
  try {
    const res = await dead.client.raw<{ code: string; error: string }>('GET', '/api/v1/dashboard/timeseries');
    expect(res.status).toBe(503);
    expect(res.data.code).toBe('UPSTREAM_UNAVAILABLE');
    expect(res.data.error).toMatch(/^Upstream error: Prometheus at /);
  } finally {
    await dead.stop(true);
  }
});
