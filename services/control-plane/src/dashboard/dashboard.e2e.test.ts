/**
 * The operator dashboard in a real browser: Debian's chromium (`/usr/bin/chromium`, installed by
 * `npm test`) driven by playwright-core, against two core processes and the control plane
 * process (all from dist/, built before jest by `npm test`). A workload goes through everything
 * the charts show (ingest, invalid payloads rejected by an enforced schema, queries, WebSocket
 * clients, replays); then the page must show the API's own numbers on its cards and tables, draw
 * data on every chart, change its data with the range selector (keyboard and mouse), show a
 * stopped node as unhealthy, recover by itself from a node and a control plane restart, fit a
 * phone's width, and log no console error. Screenshots go to test-artifacts/.
 */
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { AllSourceClient } from '@allsource/client';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { CONTROL_PLANE_MAIN, CoreProcess, REPO_ROOT, ServiceProcess, freePort, waitFor } from '../testing/harness';

// Browser globals for the callbacks that run inside chromium (page.evaluate and friends); this
// package compiles without the DOM lib, so they are declared here, for this file only.
/* eslint-disable @typescript-eslint/no-explicit-any */
declare const window: any;
declare const document: any;
declare const innerWidth: number;
declare const getComputedStyle: (el: any) => any;
declare const WebSocket: new (url: string) => unknown;
type Element = any;
type HTMLElement = any;
type HTMLInputElement = any;

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-quic', '--no-first-run', '--disable-component-update', '--disable-sync'];
const ARTIFACTS = path.join(REPO_ROOT, 'test-artifacts');
const INTERVAL_MS = 300;
const WORKLOAD_MS = 16_000;
const UI_TIMEOUT_MS = 20_000;
const SUBJECT = 'order.placed';
/** The page's chart ids and the derived metrics each one draws. */
const CHARTS: Record<string, string[]> = {
  ingestion: ['ingestion_rate', 'query_rate'],
  ingest_latency: ['ingestion_latency_p50_ms', 'ingestion_latency_p95_ms', 'ingestion_latency_p99_ms'],
  query_latency: ['query_latency_p50_ms', 'query_latency_p95_ms', 'query_latency_p99_ms'],
  errors: ['error_ratio', 'http_error_ratio'],
  storage: ['storage_bytes'],
  websockets: ['websocket_connections'],
  projections: ['projection_throughput', 'pipeline_throughput'],
  schemas: ['schema_validation_rate', 'schema_invalid_rate'],
  replay: ['replay_throughput'],
};

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The built control plane as a child process on a fixed port and data folder (restartable). */
const controlPlaneProcess = (port: number, dataDir: string, env: Record<string, string>) =>
  new ServiceProcess(CONTROL_PLANE_MAIN, 'control plane', port, dataDir, env);

interface Overview {
  cluster: { cluster_id: string; total_nodes: number; healthy_nodes: number; total_events: number; total_entities: number; ingestion_rate: number | null };
  performance: { p95_query_latency_ms: number | null; error_ratio: number | null };
  health: { core_status: string; storage_bytes: number | null; wal_segments: number | null; websocket_connections: number | null };
}
interface Point {
  timestamp: string;
  value: number | null;
}
interface Series {
  metric: string;
  range: string;
  step: string;
  node: string;
  from: string;
  datapoints: Point[];
}
interface LogEntry {
  phase: string;
  type: string;
  text: string;
}

let core1: CoreProcess;
let core2: CoreProcess;
let cp: ServiceProcess;
let cpDataDir: string;
let browser: Browser;
let context: BrowserContext;
let page: Page;
let wsPage: Page;
/** Events each core acknowledged. */
const ingested = { core1: 0, core2: 0 };
const replayIds: string[] = [];
/** What the dashboard page received from the API, by path, in arrival order. */
const received: Array<{ url: URL; body: Promise<unknown> }> = [];
const consoleLog: LogEntry[] = [];
const pageErrors: string[] = [];
const failedRequests: LogEntry[] = [];
/** `normal`, or `cp-down` while the control plane is deliberately stopped. */
let phase = 'normal';

const api = async <T>(p: string): Promise<T> => {
  const res = await cp.client.raw<T>('GET', p);
  if (res.status !== 200) throw new Error(`${p}: HTTP ${res.status} ${res.text}`);
  return res.data;
};
const overview = () => api<Overview>('/api/v1/dashboard/overview');

/** One round of work on a node: a batch whose size and entities vary, a schema-checked event (and every 4th round an invalid one), queries. */
async function round(core: CoreProcess, key: 'core1' | 'core2', prefix: string, i: number): Promise<void> {
  const size = 12 + Math.round(10 * Math.sin(i / 6)) + (key === 'core1' ? 8 : 0);
  const batch = Array.from({ length: size }, (_, j) => ({
    event_type: `${prefix}.seen`,
    // Skewed: low ids get most events, so the top-entities table has an order.
    entity_id: `${prefix}-${j % (1 + (i % 9))}`,
    payload: { round: i, j },
  }));
  const res = await core.client.ingestBatch(batch);
  ingested[key] += res.ingested;
  await core.client.ingest({ event_type: SUBJECT, entity_id: `order-${i % 5}`, payload: { amount: i } });
  ingested[key] += 1;
  if (i % 4 === 0) {
    const bad = await core.client.raw('POST', '/api/v1/events', { body: { event_type: SUBJECT, entity_id: 'order-bad', payload: { amount: 'lots' } } });
    expect(bad.status).toBeGreaterThanOrEqual(400);
  }
  await core.client.queryEvents({ entity_id: `${prefix}-0`, limit: 20 });
  await core.client.queryEvents({ event_type: SUBJECT, limit: 5 });
}

async function workload(ms: number): Promise<void> {
  const until = Date.now() + ms;
  for (let i = 0; Date.now() < until; i++) {
    await Promise.all([round(core1, 'core1', 'user', i), round(core2, 'core2', 'device', i)]);
    if (i === 12) {
      // A replay through the control plane's operation (first healthy node) and one on core-2 directly.
      const op = await cp.client.raw<{ node_id: string; result: { replay_id: string } }>('POST', '/api/v1/operations/replay', { body: { node: 'core-1' } });
      expect(op.status).toBe(200);
      replayIds.push(op.data.result.replay_id);
      replayIds.push((await core2.client.replay.start({ config: { batch_size: 10 } })).replay_id);
    }
    await sleep(120 + 80 * Math.sin(i / 4));
  }
}

async function registerSchema(core: CoreProcess): Promise<void> {
  await core.client.schemas.register({ subject: SUBJECT, schema: { type: 'object', required: ['amount'], properties: { amount: { type: 'number' } } } });
  const res = await core.client.raw('PUT', `/api/v1/schemas/${SUBJECT}/enforcement`, { body: { enforce: true } });
  expect(res.status).toBe(200);
}

/** Waits in the page (bounded) until `fn(arg)` is truthy. */
const until = <A>(what: string, fn: (arg: A) => unknown, arg?: A, timeoutMs = UI_TIMEOUT_MS) =>
  page.waitForFunction(fn as never, arg as never, { timeout: timeoutMs, polling: 100 }).catch((err: Error) => {
    throw new Error(`page: timed out waiting for ${what}: ${err.message.split('\n')[0]}`);
  });

const card = (name: string) =>
  page.$eval(`[data-card="${name}"]`, (el) => ({
    value: el.getAttribute('data-value'),
    total: el.getAttribute('data-total'),
    state: el.getAttribute('data-state'),
    text: el.querySelector('[data-role="value"]')!.textContent!,
  }));

const responses = async <T>(pathname: string): Promise<Array<{ url: URL; body: T }>> => {
  const matching = received.filter((r) => r.url.pathname === pathname);
  const bodies = await Promise.all(matching.map((r) => r.body.catch(() => null)));
  return matching.map((r, i) => ({ url: r.url, body: bodies[i] as T })).filter((r) => r.body !== null);
};

/** A number shown as text ("1,234", "12.5 ev/s", "0.417 ms", "146 KiB") in base units. */
function parseShown(text: string): number {
  const m = /^(-?[\d,]+(?:\.\d+)?)\s*(.*)$/.exec(text.trim());
  if (!m) throw new Error(`not a number: '${text}'`);
  const n = Number(m[1]!.replace(/,/g, ''));
  const scale: Record<string, number> = { KiB: 1024, MiB: 1024 ** 2, GiB: 1024 ** 3, s: 1000 };
  return n * (scale[m[2]!] ?? 1);
}

const nonNull = (s: Series) => s.datapoints.filter((p) => p.value !== null).length;

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} not found: install Debian's chromium (apt-get install chromium); npm test does it`);
  await mkdir(ARTIFACTS, { recursive: true });
  [core1, core2] = await Promise.all([CoreProcess.start(), CoreProcess.start()]);
  cpDataDir = await mkdtemp(path.join(os.tmpdir(), 'cp-dashboard-'));
  cp = controlPlaneProcess(await freePort(), cpDataDir, {
    CORE_NODES: `core-1=${core1.url},core-2=${core2.url}`,
    CLUSTER_ID: 'demo-cluster',
    SCRAPE_INTERVAL_MS: String(INTERVAL_MS),
    SCRAPE_TIMEOUT_MS: String(INTERVAL_MS),
    LOG_REQUESTS: 'false',
  });
  await cp.launch();
  browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, timeout: 30_000 });
  context = await browser.newContext({ viewport: { width: 1280, height: 900 }, deviceScaleFactor: 1, colorScheme: 'light', locale: 'en-US' });

  // WebSocket clients on core-1, from a page of their own (the dashboard page's console stays clean).
  wsPage = await context.newPage();
  await wsPage.evaluate((url) => {
    window.sockets = [0, 1, 2].map(() => new WebSocket(url));
  }, `ws://127.0.0.1:${core1.port}/api/v1/events/stream`);

  await Promise.all([registerSchema(core1), registerSchema(core2)]);
  await workload(WORKLOAD_MS);
  const expected = ingested.core1 + ingested.core2;
  await waitFor(`the control plane to see ${expected} events and 3 WebSocket clients`, async () => {
    const o = await overview();
    return o.cluster.total_events === expected && o.health.websocket_connections === 3 && o.cluster.healthy_nodes === 2;
  });
  // Both replays finished (they are small).
  await waitFor('replays finished', async () => {
    const r = await api<{ active: unknown[]; recent: Array<{ replay_id: string }> }>('/api/v1/dashboard/replays?limit=10');
    return r.active.length === 0 && replayIds.every((id) => r.recent.some((x) => x.replay_id === id));
  });

  page = await context.newPage();
  page.on('console', (m) => consoleLog.push({ phase, type: m.type(), text: m.text() }));
  page.on('pageerror', (e) => pageErrors.push(e.message));
  page.on('requestfailed', (r) => failedRequests.push({ phase, type: r.failure()?.errorText ?? 'failed', text: r.url() }));
  page.on('response', (r) => {
    const url = new URL(r.url());
    if (url.pathname.startsWith('/api/v1/') && r.status() === 200) received.push({ url, body: r.json().catch(() => null) as Promise<unknown> });
  });
  await page.goto(`${cp.url}/?refresh=1`, { timeout: 30_000 });
  await page.evaluate(() => ((window as unknown as { loadMarker: number }).loadMarker = 1));
}, 120_000);

afterAll(async () => {
  await browser?.close().catch(() => undefined);
  await cp?.stop();
  await Promise.all([core1?.destroy(), core2?.destroy()]);
  if (cpDataDir) await rm(cpDataDir, { recursive: true, force: true });
});

describe('operator dashboard in chromium', () => {
  it('shows the numbers the API returns on its cards', async () => {
    const expected = ingested.core1 + ingested.core2;
    await until('the events card', (n) => document.querySelector('[data-card="events"]')?.getAttribute('data-value') === String(n), expected);
    const o = await overview();
    // Stable after the workload: equal to a fresh API answer.
    const events = await card('events');
    expect(events.value).toBe(String(o.cluster.total_events));
    expect(events.text).toBe(o.cluster.total_events.toLocaleString('en-US'));
    expect(o.cluster.total_events).toBe(expected);
    const nodes = await card('nodes');
    expect([nodes.value, nodes.total, nodes.text, nodes.state]).toEqual(['2', '2', '2 / 2', 'good']);
    const storage = await card('storage');
    expect(storage.value).toBe(String(o.health.storage_bytes));
    expect(parseShown(storage.text)).toBeCloseTo(o.health.storage_bytes!, -Math.log10(o.health.storage_bytes! * 0.01));
    const wal = await card('wal');
    expect([wal.value, wal.text]).toEqual([String(o.health.wal_segments), String(o.health.wal_segments)]);

    // Windowed rates move with time: the cards hold one of the answers the page received.
    const shown = { ingestion: await card('ingestion'), p95: await card('p95') };
    const answers = await responses<Overview>('/api/v1/dashboard/overview');
    const match = answers.find(
      (a) => String(a.body.cluster.ingestion_rate) === shown.ingestion.value && String(a.body.performance.p95_query_latency_ms) === shown.p95.value,
    );
    expect(match).toBeDefined();
    const rate = match!.body.cluster.ingestion_rate!;
    const p95 = match!.body.performance.p95_query_latency_ms!;
    expect(rate).toBeGreaterThan(0);
    expect(p95).toBeGreaterThan(0);
    expect(Math.abs(parseShown(shown.ingestion.text) - rate)).toBeLessThanOrEqual(Math.max(0.01, rate * 0.01));
    expect(Math.abs(parseShown(shown.p95.text) - p95)).toBeLessThanOrEqual(Math.max(0.001, p95 * 0.01));
    expect(await page.textContent('#cluster-status')).toBe('healthy');
    expect(await page.textContent('#cluster-id')).toBe('demo-cluster');
    expect(await page.getAttribute('#live', 'data-state')).toBe('live');
  });

  it('draws data points on every chart', async () => {
    const ids = Object.keys(CHARTS);
    await until(
      'every chart drawn',
      (list) => list.every((id) => Number(document.querySelector(`[data-chart="${id}"]`)?.getAttribute('data-points')) > 0),
      ids,
    );
    // Pixels in the series' colours on each chart's canvas.
    const drawn = await page.$$eval('[data-chart]', (els) =>
      els.map((el) => {
        const canvas = el.querySelector('canvas')!;
        const { data } = canvas.getContext('2d')!.getImageData(0, 0, canvas.width, canvas.height);
        const colors = el.getAttribute('data-colors')!.split(',').map((hex: string) => [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16)));
        let pixels = 0;
        for (let p = 0; p < data.length; p += 4) {
          if (data[p + 3]! < 200) continue;
          if (colors.some((c: number[]) => Math.abs(data[p]! - c[0]!) + Math.abs(data[p + 1]! - c[1]!) + Math.abs(data[p + 2]! - c[2]!) <= 40)) pixels++;
        }
        return { id: el.getAttribute('data-chart')!, metrics: el.getAttribute('data-metrics'), points: Number(el.getAttribute('data-points')), range: el.getAttribute('data-range'), pixels };
      }),
    );
    expect(drawn.map((d) => d.id)).toEqual(ids);
    for (const d of drawn) {
      expect([d.id, d.metrics, d.range]).toEqual([d.id, CHARTS[d.id]!.join(','), '15m']);
      expect([d.id, d.points > 0, d.pixels >= 20]).toEqual([d.id, true, true]);
    }

    // What the charts drew came from the workload: each series the page received has its signal.
    const series = await responses<Series>('/api/v1/dashboard/timeseries');
    const latest = (metric: string) => [...series].reverse().find((s) => s.body.metric === metric && s.body.range === '15m')!.body;
    const max = (metric: string) => Math.max(...latest(metric).datapoints.map((p) => p.value ?? 0));
    for (const metric of Object.values(CHARTS).flat()) expect([metric, nonNull(latest(metric)) > 0]).toEqual([metric, true]);
    for (const metric of ['ingestion_rate', 'query_rate', 'ingestion_latency_p95_ms', 'query_latency_p95_ms', 'error_ratio', 'projection_throughput', 'schema_validation_rate', 'schema_invalid_rate', 'replay_throughput']) {
      expect([metric, max(metric) > 0]).toEqual([metric, true]);
    }
    expect(latest('websocket_connections').datapoints.at(-1)!.value).toBe(3);
    expect(latest('storage_bytes').datapoints.at(-1)!.value).toBeGreaterThan(0);
    // A single-series chart holds exactly the non-null points of the answer it drew.
    const storageChart = await page.$eval('[data-chart="storage"]', (el) => ({ from: el.getAttribute('data-from'), points: Number(el.getAttribute('data-points')) }));
    const drawnAnswer = series.find((s) => s.body.metric === 'storage_bytes' && s.body.from === storageChart.from);
    expect(drawnAnswer).toBeDefined();
    expect(storageChart.points).toBe(nonNull(drawnAnswer!.body));

    await page.screenshot({ path: path.join(ARTIFACTS, 'dashboard.png'), fullPage: true });
  });

  it('lists the nodes, the top entities and the replays with progress bars as the API does', async () => {
    const status = await api<{ nodes: Array<{ id: string; status: string; stats: { total_events: number } }> }>('/api/v1/cluster/status');
    const rows = await page.$$eval('#nodes-table tbody tr:not(.error-row)', (trs) =>
      trs.map((tr) => ({ id: tr.getAttribute('data-node'), status: tr.getAttribute('data-status'), events: tr.children[2]!.textContent })),
    );
    expect(rows).toEqual(status.nodes.map((n) => ({ id: n.id, status: 'healthy', events: n.stats.total_events.toLocaleString('en-US') })));

    const top = await api<{ entities: Array<{ entity_id: string; node_id: string; event_count: number }> }>('/api/v1/dashboard/top_entities?limit=10');
    expect(top.entities).toHaveLength(10);
    await until(
      'the top entities table',
      (want) => JSON.stringify([...document.querySelectorAll('#top-table tbody tr')].map((tr) => [...tr.children].slice(0, 3).map((c) => c.textContent))) === want,
      JSON.stringify(top.entities.map((e) => [e.entity_id, e.node_id, e.event_count.toLocaleString('en-US')])),
    );

    const replays = await api<{ recent: Array<{ replay_id: string; node_id: string; status: string; progress_percentage: number }> }>('/api/v1/dashboard/replays?limit=6');
    const shown = await page.$$eval('#replays .replay', (els) =>
      els.map((el) => ({
        id: el.getAttribute('data-replay-id'),
        node: el.getAttribute('data-node'),
        status: el.getAttribute('data-status'),
        progress: Number(el.querySelector('[role="progressbar"]')!.getAttribute('aria-valuenow')),
        width: (el.querySelector('[role="progressbar"] > span') as HTMLElement).style.width,
      })),
    );
    expect(shown).toEqual(replays.recent.map((r) => ({ id: r.replay_id, node: r.node_id, status: r.status, progress: r.progress_percentage, width: `${r.progress_percentage}%` })));
    for (const id of replayIds) expect(shown.find((s) => s.id === id)).toMatchObject({ status: 'completed', progress: 100 });
  });

  it('changes the charts\' data with the range selector (keyboard, then mouse)', async () => {
    const before = await page.$$eval('[data-chart]', (els) => els.map((el) => ({ from: Date.parse(el.getAttribute('data-from')!), step: el.getAttribute('data-step') })));
    expect(new Set(before.map((b) => b.step))).toEqual(new Set(['2s']));
    // Keyboard: focus the selected radio, arrow right selects the next range.
    await page.focus('#range-15m');
    await page.keyboard.press('ArrowRight');
    expect(await page.isChecked('#range-1h')).toBe(true);
    const outline = await page.$eval('label[for="range-1h"]', (el) => getComputedStyle(el).outlineStyle);
    expect(outline).toBe('solid');
    await until('every chart at 1h', () => [...document.querySelectorAll('[data-chart]')].every((el) => el.getAttribute('data-range') === '1h'));
    expect(new URL(page.url()).searchParams.get('range')).toBe('1h');
    const after = await page.$$eval('[data-chart]', (els) => els.map((el) => ({ id: el.getAttribute('data-chart')!, from: Date.parse(el.getAttribute('data-from')!), step: el.getAttribute('data-step'), points: Number(el.getAttribute('data-points')) })));
    after.forEach((a, i) => {
      expect([a.id, a.step]).toEqual([a.id, '8s']);
      expect(before[i]!.from - a.from).toBeGreaterThan(40 * 60_000);
      expect([a.id, a.points > 0]).toEqual([a.id, true]);
    });
    const series = await responses<Series>('/api/v1/dashboard/timeseries');
    const hour = series.filter((s) => s.url.searchParams.get('range') === '1h');
    expect(new Set(hour.map((s) => s.body.metric))).toEqual(new Set(Object.values(CHARTS).flat()));
    const storage = after.find((a) => a.id === 'storage')!;
    const drawn = hour.find((s) => s.body.metric === 'storage_bytes' && Date.parse(s.body.from) === storage.from)!;
    expect(drawn.body.step).toBe('8s');
    expect(storage.points).toBe(nonNull(drawn.body));
    const fifteen = [...series].reverse().find((s) => s.body.metric === 'storage_bytes' && s.body.range === '15m')!;
    expect(nonNull(drawn.body)).toBeLessThan(nonNull(fifteen.body)); // coarser step: fewer points

    // Mouse: back to 15 minutes.
    await page.click('label[for="range-15m"]');
    await until('every chart at 15m', () => [...document.querySelectorAll('[data-chart]')].every((el) => el.getAttribute('data-range') === '15m'));
  });

  it('shows a stopped node as unhealthy (which node, since when, last error), and healthy again after its restart', async () => {
    const lastHealthy = (await api<{ nodes: Array<{ id: string; last_success_at: string }> }>('/api/v1/cluster/status')).nodes.find((n) => n.id === 'core-2')!;
    await core2.stop();
    await until('core-2 shown unreachable', () => document.querySelector('.alert[data-node="core-2"]')?.getAttribute('data-status') === 'unreachable');
    const alert = await page.$eval('.alert[data-node="core-2"]', (el) => ({ text: el.textContent!, since: el.querySelector('time')?.getAttribute('datetime') }));
    expect(alert.text).toContain('Node core-2 is unreachable');
    expect(alert.text).toContain(core2.url);
    expect(alert.text).toMatch(/Last error: .*ECONNREFUSED/);
    const status = await api<{ nodes: Array<{ id: string; status: string; last_success_at: string }> }>('/api/v1/cluster/status');
    const down = status.nodes.find((n) => n.id === 'core-2')!;
    expect(down.status).toBe('unreachable');
    expect(alert.since).toBe(down.last_success_at);
    expect(Date.parse(alert.since!)).toBeGreaterThanOrEqual(Date.parse(lastHealthy.last_success_at));
    await until('nodes card 1 / 2', () => document.querySelector('[data-card="nodes"]')?.getAttribute('data-value') === '1');
    expect(await card('nodes')).toMatchObject({ text: '1 / 2', state: 'bad' });
    expect(await page.getAttribute('#nodes-table tr[data-node="core-2"]', 'data-status')).toBe('unreachable');
    expect(await page.getAttribute('#nodes-table tr[data-node="core-1"]', 'data-status')).toBe('healthy');
    expect(await page.textContent('#cluster-status')).toBe('degraded');
    await page.screenshot({ path: path.join(ARTIFACTS, 'dashboard-node-down.png'), fullPage: true });

    await core2.launch();
    await until('core-2 healthy again', () => document.querySelector('[data-card="nodes"]')?.getAttribute('data-value') === '2' && !document.querySelector('.alert'));
    expect(await page.getAttribute('#nodes-table tr[data-node="core-2"]', 'data-status')).toBe('healthy');
  });

  it('keeps working through a control plane restart without reloading the page', async () => {
    phase = 'cp-down';
    await cp.stop();
    await until('the page to report the control plane down', () => document.querySelector('#live')?.getAttribute('data-state') === 'error');
    expect(await page.textContent('#live-text')).toContain('Control plane unreachable');
    // Last known data stays on screen.
    expect((await card('events')).value).toBe(String(ingested.core1 + ingested.core2));
    await cp.launch();
    await until('live again with both nodes', () => document.querySelector('#live')?.getAttribute('data-state') === 'live' && document.querySelector('[data-card="nodes"]')?.getAttribute('data-value') === '2');
    phase = 'normal';
    expect(await page.evaluate(() => (window as unknown as { loadMarker?: number }).loadMarker)).toBe(1);
    // The history came back with the restarted control plane: the charts still have their points.
    await until('charts redrawn after the restart', () => [...document.querySelectorAll('[data-chart]')].every((el) => Number(el.getAttribute('data-points')) > 0));
    const o = await overview();
    expect((await card('events')).value).toBe(String(o.cluster.total_events));
  });

  it('fits a phone\'s width', async () => {
    await page.setViewportSize({ width: 390, height: 844 });
    await until(
      'the page to fit 390 px',
      () => document.documentElement.scrollWidth <= 390 && [...document.querySelectorAll('[data-chart] canvas')].every((c: Element) => c.getBoundingClientRect().width <= 390),
    ).catch(() => undefined); // the assertions below say what does not fit
    const layout = await page.evaluate(() => ({
      scrollWidth: document.documentElement.scrollWidth,
      // Elements reaching past the viewport outside a horizontally scrolling table (for the failure message).
      offenders: [...document.querySelectorAll('body *')]
        .filter((el: Element) => el.getBoundingClientRect().right > innerWidth + 0.5 && !el.closest('.table-wrap'))
        .map((el: Element) => `${el.tagName}.${el.className}`)
        .slice(0, 10),
      cards: [...document.querySelectorAll('[data-card]')].map((c) => c.getBoundingClientRect().right),
      charts: [...document.querySelectorAll('[data-chart]')].map((c) => c.getBoundingClientRect().right),
    }));
    expect(layout.offenders).toEqual([]);
    expect(layout.scrollWidth).toBeLessThanOrEqual(390);
    for (const right of [...layout.cards, ...layout.charts]) expect(right).toBeLessThanOrEqual(390);
    await page.screenshot({ path: path.join(ARTIFACTS, 'dashboard-phone.png'), fullPage: true });
    await page.setViewportSize({ width: 1280, height: 900 });
  });

  it('has labels, readable contrast and keyboard focus', async () => {
    const a11y = await page.evaluate(() => {
      const rgb = (s: string) => (s.match(/[\d.]+/g) ?? []).map(Number);
      const lum = ([r, g, b]: number[]) => {
        const f = (c: number) => ((c /= 255) <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4);
        return 0.2126 * f(r!) + 0.7152 * f(g!) + 0.0722 * f(b!);
      };
      const background = (el: Element | null): number[] => {
        for (; el; el = el.parentElement) {
          const c = rgb(getComputedStyle(el).backgroundColor);
          if (c.length === 3 || (c.length === 4 && c[3]! > 0.5)) return c.slice(0, 3);
        }
        return [255, 255, 255];
      };
      const contrast = (el: Element) => {
        const [l1, l2] = [lum(rgb(getComputedStyle(el).color)), lum(background(el))].sort((x, y) => y - x);
        return (l1! + 0.05) / (l2! + 0.05);
      };
      const selectors = ['h1', '.card h3', '.card .value', '.card .sub', '.chart h3', '.chart .meta', '.segmented label', '#nodes-table thead th', '#nodes-table tbody td', '.badge', '.replay .meta', '.footer p', '#live'];
      return {
        lang: document.documentElement.lang,
        unlabelled: [...document.querySelectorAll('input, select')].filter((el) => (el as HTMLInputElement).labels?.length === 0).map((el) => el.id),
        plotsWithoutLabel: [...document.querySelectorAll('[data-chart] .plot')].filter((el) => el.getAttribute('role') !== 'img' || !el.getAttribute('aria-label')).length,
        contrast: selectors.map((s) => {
          const el = document.querySelector(s);
          return [s, el ? Math.round(contrast(el) * 10) / 10 : 0] as const;
        }),
      };
    });
    expect(a11y.lang).toBe('en');
    expect(a11y.unlabelled).toEqual([]);
    expect(a11y.plotsWithoutLabel).toBe(0);
    for (const [selector, ratio] of a11y.contrast) expect([selector, ratio >= 4.5]).toEqual([selector, true]);
    // On a fresh load, Tab reaches the skip link first and it shows when focused.
    const fresh = await context.newPage();
    fresh.on('console', (m) => consoleLog.push({ phase, type: m.type(), text: m.text() }));
    fresh.on('pageerror', (e) => pageErrors.push(e.message));
    await fresh.goto(`${cp.url}/dashboard?range=1h`, { timeout: 30_000 });
    await fresh.keyboard.press('Tab');
    expect(await fresh.evaluate(() => document.activeElement?.textContent)).toBe('Skip to content');
    expect(await fresh.$eval('.skip', (el) => el.getBoundingClientRect().top >= 0)).toBe(true);
    await fresh.keyboard.press('Tab');
    expect(await fresh.evaluate(() => document.activeElement?.id)).toBe('range-1h'); // the range from the URL is selected
    await fresh.close();
  });

  it('logged no console error (outside the control plane\'s deliberate downtime)', async () => {
    expect(pageErrors).toEqual([]);
    expect(consoleLog.filter((m) => m.type === 'error' && m.phase !== 'cp-down')).toEqual([]);
    expect(failedRequests.filter((r) => r.phase !== 'cp-down')).toEqual([]);
    // While it was down, only failed connections to it.
    for (const m of consoleLog.filter((e) => e.type === 'error')) expect(m.text).toMatch(/Failed to load resource: net::ERR_/);
    expect(consoleLog.filter((m) => m.type === 'warning')).toEqual([]);
  });
});

describe('operator dashboard with API keys (API_KEYS set)', () => {
  it('asks for a read key, says when a key is refused, then shows the data and keeps the key for the tab', async () => {
    const KEY = 'dashboard-viewer-key-0123456789';
    const dir = await mkdtemp(path.join(os.tmpdir(), 'cp-dashboard-keys-'));
    const secured = controlPlaneProcess(await freePort(), dir, {
      CORE_NODES: `core-1=${core1.url}`,
      API_KEYS: `viewer:read:${KEY}`,
      SCRAPE_INTERVAL_MS: String(INTERVAL_MS),
      SCRAPE_TIMEOUT_MS: String(INTERVAL_MS),
      LOG_REQUESTS: 'false',
    });
    const p = await context.newPage();
    const errors: string[] = [];
    p.on('console', (m) => m.type() === 'error' && errors.push(m.text()));
    p.on('pageerror', (e) => errors.push(`pageerror: ${e.message}`));
    try {
      await secured.launch();
      const withKey = new AllSourceClient({ baseUrl: secured.url, apiKey: KEY, timeoutMs: 10_000 });
      const events = await waitFor('the secured control plane to scrape core-1', async () => {
        const o = await withKey.http.raw<Overview>('GET', '/api/v1/dashboard/overview');
        return o.status === 200 && o.data.cluster.healthy_nodes === 1 ? o.data.cluster.total_events : undefined;
      });
      expect((await secured.client.raw('GET', '/api/v1/dashboard/overview')).status).toBe(401);

      await p.goto(`${secured.url}/?refresh=1`, { timeout: 30_000 });
      await p.waitForSelector('#auth:not([hidden])', { timeout: UI_TIMEOUT_MS });
      expect(await p.evaluate(() => document.activeElement?.id)).toBe('auth-key');
      expect(await p.textContent('#live-text')).toBe('API key required');

      await p.fill('#auth-key', 'not-the-key-0123456789');
      await p.press('#auth-key', 'Enter');
      await p.waitForFunction(() => document.querySelector('#auth-message')?.textContent?.includes('was refused'), undefined, { timeout: UI_TIMEOUT_MS });

      await p.fill('#auth-key', KEY);
      await p.click('#auth-form button[type="submit"]');
      await p.waitForFunction(
        (n) => document.querySelector('#auth')?.hidden && document.querySelector('[data-card="events"]')?.getAttribute('data-value') === String(n),
        events,
        { timeout: UI_TIMEOUT_MS },
      );
      expect(await p.isVisible('#forget-key')).toBe(true);

      // A reload keeps the key (session storage): no form, data straight away.
      await p.reload({ timeout: 30_000 });
      await p.waitForFunction((n) => document.querySelector('[data-card="events"]')?.getAttribute('data-value') === String(n), events, { timeout: UI_TIMEOUT_MS });
      expect(await p.isHidden('#auth')).toBe(true);
      // The only console errors: the refused requests before the right key was given.
      expect(errors.length).toBeGreaterThan(0);
      for (const e of errors) expect(e).toMatch(/Failed to load resource: the server responded with a status of 401/);
    } finally {
      await p.close();
      await secured.stop();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
