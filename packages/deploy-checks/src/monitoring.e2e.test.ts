/**
 * deploy/ end to end: a core (in-process, `startCore`), the control plane (its built process,
 * `node services/control-plane/dist/main.js`) and a real Prometheus (Debian's package, started
 * through `scripts/monitoring.mjs`, the `pnpm monitoring` command) on free loopback ports.
 * Prometheus runs a copy of deploy/prometheus/prometheus.yml whose only changes are the targets
 * (the test ports), a 1 s scrape/evaluation interval and absolute rule_files paths, so the shipped
 * jobs and alert rules are what is exercised.
 *
 * A workload touching every subsystem runs twice (so every counter and histogram grows between
 * two scrapes); then, through Prometheus' HTTP API: up == 1 for both jobs; every PromQL query of
 * the Grafana dashboard (template variables substituted as Grafana's "All" would) is valid and
 * returns finite data; the dashboard's variables list the jobs, instances and node; the alert
 * rules are loaded and evaluate without error, and ReplayFailures fires for the replay that failed.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { AllSourceClient } from '@allsource/client';
import { createLogger, loadConfig, startCore, type CoreInstance, type Projection } from '@allsource/core';
import WebSocket from 'ws';
import { queryPanels, variableQuery, type Dashboard } from './dashboard';
import { CONTROL_PLANE_MAIN, DASHBOARD_FILE, MONITORING_SCRIPT, PROMETHEUS_CONFIG, REPO_ROOT } from './paths';
import { substituteVariables } from './promql';
import { readYaml, toYaml } from './yaml';

interface PromConfig {
  global: Record<string, string>;
  rule_files: string[];
  scrape_configs: Array<{ job_name: string; static_configs: Array<{ targets: string[] }> }>;
}
interface PromSample {
  metric: Record<string, string>;
  value: [number, string];
}
interface PromRule {
  name: string;
  type: 'alerting' | 'recording';
  health: string;
  lastError?: string;
  lastEvaluation: string;
  state?: string;
}
interface PromAlert {
  labels: Record<string, string>;
  state: string;
}

let tmp: string;
let core: CoreInstance | undefined;
let client: AllSourceClient;
let coreTarget: string;
let cp: ChildProcess | undefined;
let cpTarget: string;
let cpLog = '';
let monitoring: ChildProcess | undefined;
let promLog = '';
let promUrl: string;
let ws: WebSocket | undefined;
const received: string[] = [];
/** The instant every dashboard query is evaluated at, and the rate window covering both phases. */
let evalTime: number;
let rateInterval: string;

const dashboard = JSON.parse(readFileSync(DASHBOARD_FILE, 'utf8')) as Dashboard;

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

async function until<T>(what: string, probe: () => Promise<T | undefined | false>, timeoutMs = 30_000, intervalMs = 200): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const v = await probe();
      if (v !== undefined && v !== false) return v;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${lastError ? ` (last error: ${(lastError as Error).message})` : ''}\nprometheus: ${promLog}\ncontrol plane: ${cpLog}`);
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

/** GET on Prometheus' API; resolves with `data`, rejects with Prometheus' error text. */
async function promApi<T>(pathAndQuery: string): Promise<T> {
  const res = await fetch(`${promUrl}${pathAndQuery}`, { signal: AbortSignal.timeout(10_000) });
  const body = (await res.json()) as { status: string; data: T; error?: string; errorType?: string };
  if (body.status !== 'success') throw new Error(`${body.errorType ?? res.status}: ${body.error ?? 'no error text'}`);
  return body.data;
}

async function instant(query: string, time?: number): Promise<PromSample[]> {
  const params = new URLSearchParams({ query });
  if (time !== undefined) params.set('time', String(time));
  const data = await promApi<{ resultType: string; result: PromSample[] }>(`/api/v1/query?${params}`);
  if (data.resultType !== 'vector') throw new Error(`expected a vector, got ${data.resultType}`);
  return data.result;
}

/** Waits for a scrape of both jobs that started after `sinceMs`; returns its time (ms). */
async function scrapedAfter(sinceMs: number): Promise<number> {
  return until(`a scrape of both jobs after ${new Date(sinceMs).toISOString()}`, async () => {
    const r = await instant('timestamp(up)');
    const times = r.map((s) => Number(s.value[1]) * 1000);
    return r.length === 2 && times.every((t) => t > sinceMs) ? Math.min(...times) : undefined;
  });
}

/** Fails on one event type and cannot be rebuilt: moves the projection-error and replay-failure metrics. */
function brittleProjection(): Projection {
  let seen = 0;
  return {
    name: 'brittle',
    apply(event) {
      if (event.eventType === 'poison.pill') throw new Error('brittle projection refuses poison');
      seen++;
    },
    state: () => ({ seen }),
    reset: () => {
      seen = 0;
    },
    fork: () => {
      throw new Error('brittle projection cannot be rebuilt');
    },
    adopt: () => undefined,
  };
}

/** One round of everything the core does, through the typed client and a WebSocket. */
async function workload(phase: number): Promise<void> {
  const c = client;
  ws!.send('this is not json');
  await c.schemas.register({ subject: `phase${phase}.schema`, schema: { type: 'object' } });
  await c.schemas.validate({ subject: 'order.placed', payload: { total: 'x' } });
  await c.schemas.validate({ subject: 'order.placed', payload: { total: 1 } });
  for (let round = 0; round < 4; round++) {
    await c.ingest({ event_type: 'order.placed', entity_id: `order-${phase}-${round}`, payload: { total: round * 4 } });
    await c.ingestBatch(
      Array.from({ length: 25 }, (_, i) => ({ event_type: i % 2 ? 'user.updated' : 'user.created', entity_id: `user-${i % 5}`, payload: { i, round, phase } })),
    );
    await core!.store.flush();
  }
  await c.ingest({ event_type: 'poison.pill', entity_id: `p-${phase}`, payload: {} });
  await c.raw('POST', '/api/v1/events', { body: { event_type: 'BAD TYPE', entity_id: 'x', payload: {} } });
  await c.raw('POST', '/api/v1/events', { body: { event_type: 'user.created', entity_id: 'user-1', payload: {}, expected_version: 0 } });
  await c.raw('POST', '/api/v1/events', { body: { event_type: 'order.placed', entity_id: 'order-x', payload: { total: 'nope' } } });
  await c.raw('GET', '/not/a/route');

  for (let i = 0; i < 2; i++) {
    await c.queryEvents({ entity_id: 'user-1' });
    await c.queryEvents({ event_type: 'user.created' });
    await c.queryEvents({ since: '2000-01-01T00:00:00Z' });
    await c.queryEvents({ limit: 5 });
    await c.entityState('user-1');
    await c.analytics.summary({});
  }
  await c.snapshots.create('user-2');

  const ok = await c.replay.start({ projection_name: 'event_counters' });
  await until('the replay to complete', async () => (await c.replay.get(ok.replay_id)).status === 'completed');
  const bad = await c.replay.start({ projection_name: 'brittle' });
  await until('the replay to fail', async () => (await c.replay.get(bad.replay_id)).status === 'failed');

  await c.compaction.trigger();
  const before = received.length;
  await c.ingest({ event_type: 'ws.check', entity_id: `ws-${phase}`, payload: {} });
  await until('the WebSocket client to receive events', async () => received.length > before);
}

beforeAll(async () => {
  if (spawnSync('prometheus', ['--version']).error) throw new Error("the prometheus binary is missing; npm test installs Debian's prometheus package");
  if (!existsSync(CONTROL_PLANE_MAIN)) throw new Error(`${CONTROL_PLANE_MAIN} is missing: build first (npm test builds before jest)`);
  tmp = await mkdtemp(path.join(os.tmpdir(), 'allsource-deploy-e2e-'));

  // The core, with one projection that fails on purpose.
  const config = loadConfig({
    DATA_DIR: path.join(tmp, 'core'),
    PORT: '0',
    HOST: '127.0.0.1',
    LOG_LEVEL: 'silent',
    FLUSH_MAX_EVENTS: '20',
    FLUSH_MAX_AGE_MS: '3600000',
    SNAPSHOT_EVERY_EVENTS: '5',
    COMPACTION_INTERVAL_MS: '0',
  });
  core = await startCore(config, { logger: createLogger('silent', 'allsource-core'), extraProjections: [brittleProjection()] });
  coreTarget = `127.0.0.1:${core.port}`;
  client = new AllSourceClient({ baseUrl: `http://${coreTarget}`, timeoutMs: 20_000 });

  // The control plane process, watching the core.
  const cpPort = await freePort();
  cpTarget = `127.0.0.1:${cpPort}`;
  cp = spawn(process.execPath, [CONTROL_PLANE_MAIN], {
    cwd: REPO_ROOT,
    env: { ...process.env, PORT: String(cpPort), HOST: '127.0.0.1', DATA_DIR: path.join(tmp, 'control-plane'), CORE_NODES: `core-1=http://${coreTarget}`, SCRAPE_INTERVAL_MS: '500', LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  cp.stderr!.on('data', (d: Buffer) => {
    if (cpLog.length < 20_000) cpLog += d.toString();
  });
  await until('the control plane to answer /health', async () => {
    if (cp!.exitCode !== null) throw new Error(`control plane exited with ${cp!.exitCode}: ${cpLog}`);
    return (await fetch(`http://${cpTarget}/health`, { signal: AbortSignal.timeout(2000) })).status === 200;
  });

  // prometheus.yml as shipped, pointed at the test ports, scraping and evaluating every second.
  const prom = readYaml<PromConfig>(PROMETHEUS_CONFIG);
  const targets: Record<string, string> = { 'allsource-core': coreTarget, 'allsource-control-plane': cpTarget };
  expect(prom.scrape_configs.map((s) => s.job_name).sort()).toEqual(Object.keys(targets).sort());
  prom.global = { ...prom.global, scrape_interval: '1s', scrape_timeout: '1s', evaluation_interval: '1s' };
  prom.rule_files = prom.rule_files.map((f) => path.resolve(path.dirname(PROMETHEUS_CONFIG), f));
  for (const job of prom.scrape_configs) job.static_configs = [{ targets: [targets[job.job_name]!] }];
  const promConfig = path.join(tmp, 'prometheus.yml');
  await writeFile(promConfig, toYaml(prom));

  // Prometheus through the operators' command (its own process group, so afterAll ends both).
  const promListen = `127.0.0.1:${await freePort()}`;
  promUrl = `http://${promListen}`;
  monitoring = spawn(process.execPath, [MONITORING_SCRIPT, '--', '--log.level=warn'], {
    cwd: REPO_ROOT,
    env: { ...process.env, PROMETHEUS_CONFIG: promConfig, PROMETHEUS_LISTEN: promListen, PROMETHEUS_DATA_DIR: path.join(tmp, 'prometheus') },
    stdio: ['ignore', 'ignore', 'pipe'],
    detached: true,
  });
  monitoring.stderr!.on('data', (d: Buffer) => {
    if (promLog.length < 20_000) promLog += d.toString();
  });
  await until(
    'prometheus to scrape the core and the control plane',
    async () => {
      if (monitoring!.exitCode !== null) throw new Error(`pnpm monitoring exited with ${monitoring!.exitCode}: ${promLog}`);
      return (await instant('up')).length === 2;
    },
    60_000,
    250,
  );

  // A WebSocket client for the whole run (connections_active stays 1), then the workload twice.
  ws = new WebSocket(`ws://${coreTarget}/api/v1/events/stream`);
  await new Promise<void>((resolve, reject) => {
    ws!.once('open', () => resolve());
    ws!.once('error', reject);
  });
  ws.on('message', (data) => received.push(String(data)));
  await client.schemas.register({ subject: 'order.placed', schema: { type: 'object', required: ['total'], properties: { total: { type: 'number' } } } });
  await client.raw('PUT', '/api/v1/schemas/order.placed/enforcement', { body: { enforce: true } });
  await client.pipelines.create({
    name: 'order totals',
    source_event_types: ['order.placed'],
    operators: [
      { type: 'filter', field: 'total', op: 'gt', value: 5 },
      { type: 'window', config: { window_type: 'tumbling', size_seconds: 60 }, aggregation: { type: 'reduce', field: 'total', function: 'sum' } },
    ],
    enabled: true,
  });
  await workload(1);
  const phase1Scraped = await scrapedAfter(Date.now());
  await workload(2);
  await scrapedAfter(Date.now());
  // A little later still, so the control plane's scrape of phase 2 is in Prometheus too.
  await scrapedAfter(Date.now() + 1000);
  evalTime = Date.now() / 1000;
  rateInterval = `${Math.max(60, Math.ceil(evalTime - phase1Scraped / 1000) + 10)}s`;
}, 240_000);

afterAll(async () => {
  ws?.close();
  const stop = async (child: ChildProcess | undefined, group: boolean): Promise<void> => {
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    const kill = (signal: NodeJS.Signals): void => {
      try {
        if (group) process.kill(-child.pid!, signal);
        else child.kill(signal);
      } catch {
        // already gone
      }
    };
    kill('SIGTERM');
    const timer = setTimeout(() => kill('SIGKILL'), 15_000);
    await exited;
    clearTimeout(timer);
    if (group) kill('SIGKILL'); // anything left in the group (prometheus, if the script died first)
  };
  await Promise.all([stop(monitoring, true), stop(cp, false)]);
  await core?.close();
  if (tmp) await rm(tmp, { recursive: true, force: true });
}, 60_000);

it('Prometheus scrapes both jobs of the shipped configuration: up == 1', async () => {
  const up = await instant('up');
  expect(up.map((s) => ({ job: s.metric.job, instance: s.metric.instance, up: s.value[1] })).sort((a, b) => a.job!.localeCompare(b.job!))).toEqual([
    { job: 'allsource-control-plane', instance: cpTarget, up: '1' },
    { job: 'allsource-core', instance: coreTarget, up: '1' },
  ]);
});

it('`pnpm monitoring` ran Prometheus on loopback with 30 days of retention', async () => {
  const flags = await promApi<Record<string, string>>('/api/v1/status/flags');
  expect(flags['storage.tsdb.retention.time']).toBe('30d');
  expect(flags['web.listen-address']).toMatch(/^127\.0\.0\.1:\d+$/);
});

it('every PromQL query of the Grafana dashboard is valid and returns finite data', async () => {
  const values = { job: '.*', instance: '.*', node: '.*', __rate_interval: rateInterval };
  const problems: string[] = [];
  let checked = 0;
  for (const panel of queryPanels(dashboard)) {
    for (const target of panel.targets ?? []) {
      const query = substituteVariables(target.expr!, values);
      const where = `panel ${panel.id} '${panel.title}' ${target.refId}: ${query}`;
      checked++;
      try {
        const result = await instant(query, evalTime);
        if (result.length === 0) problems.push(`${where}: no data`);
        else if (!result.some((s) => Number.isFinite(Number(s.value[1])))) problems.push(`${where}: only ${result.map((s) => s.value[1]).join(', ')}`);
      } catch (err) {
        problems.push(`${where}: ${(err as Error).message}`);
      }
    }
  }
  expect(problems).toEqual([]);
  expect(checked).toBeGreaterThanOrEqual(60);
});

it("the dashboard's variables list the jobs, the instances and the core node", async () => {
  const found: Record<string, string[]> = {};
  for (const v of dashboard.templating!.list!.filter((x) => x.type === 'query')) {
    const m = /^label_values\((.*),\s*(\w+)\)$/.exec(variableQuery(v) ?? '');
    expect([v.name, m !== null]).toEqual([v.name, true]);
    const params = new URLSearchParams({ 'match[]': substituteVariables(m![1]!, { job: '.*', instance: '.*' }) });
    found[v.name] = (await promApi<string[]>(`/api/v1/label/${m![2]}/values?${params}`)).sort();
  }
  expect(found).toEqual({
    job: ['allsource-control-plane', 'allsource-core'],
    instance: [coreTarget, cpTarget].sort(),
    node: ['core-1'],
  });
});

it('loads every rule of alerts.yml and evaluates each without error', async () => {
  const shipped = readYaml<{ groups: Array<{ rules: Array<{ alert?: string; record?: string }> }> }>(path.resolve(path.dirname(PROMETHEUS_CONFIG), 'alerts.yml'));
  const names = shipped.groups.flatMap((g) => g.rules.map((r) => (r.alert ?? r.record)!)).sort();
  const rules = await until('every rule to have been evaluated', async () => {
    const data = await promApi<{ groups: Array<{ file: string; rules: PromRule[] }> }>('/api/v1/rules');
    const all = data.groups.flatMap((g) => g.rules);
    return all.length === names.length && all.every((r) => r.health !== 'unknown' && !r.lastEvaluation.startsWith('0001-')) ? all : undefined;
  });
  expect(rules.map((r) => r.name).sort()).toEqual(names);
  expect(rules.filter((r) => r.health !== 'ok' || (r.lastError ?? '') !== '').map((r) => `${r.name}: ${r.health} ${r.lastError}`)).toEqual([]);
});

it('fires ReplayFailures for the replay that failed, naming the core; the down and unhealthy alerts stay silent', async () => {
  const alerts = await until('ReplayFailures to fire', async () => {
    const data = await promApi<{ alerts: PromAlert[] }>('/api/v1/alerts');
    return data.alerts.some((a) => a.labels.alertname === 'ReplayFailures' && a.state === 'firing') ? data.alerts : undefined;
  });
  expect(alerts.find((a) => a.labels.alertname === 'ReplayFailures')!.labels).toMatchObject({ instance: coreTarget, job: 'allsource-core', severity: 'warning' });
  expect(alerts.filter((a) => ['CoreDown', 'ControlPlaneDown', 'CoreNodeUnhealthy'].includes(a.labels.alertname!))).toEqual([]);
  expect(await instant('control_plane_core_health_status')).toEqual([expect.objectContaining({ metric: expect.objectContaining({ node_id: 'core-1' }), value: [expect.any(Number), '1'] })]);
});
