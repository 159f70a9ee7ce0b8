/**
 * The dashboard's HTTP side against an in-process control plane and fake core nodes: the page and
 * its assets (all local, uPlot from node_modules, a strict CSP), and /api/v1/dashboard/replays
 * (the nodes' replays merged, active first, fetched on a bounded cached refresh, a down node
 * never asked).
 */
import { readFileSync } from 'node:fs';
import type * as http from 'node:http';
import { startFakeNode, startTestControlPlane, waitFor, type TestControlPlane } from '../testing/harness';
import { CONTENT_SECURITY_POLICY } from './dashboardRoutes';
import { replayView, selectReplays, type NodeReplays } from './replayMonitor';

const INTERVAL_MS = 300;
const METRICS = '# TYPE allsource_events_ingested_total counter\nallsource_events_ingested_total 5\n';

interface FakeCore {
  url: string;
  replayRequests: number;
  replays: unknown;
  close(): Promise<void>;
}

/** A node that scrapes healthy and answers GET /api/v1/replay with `replays`. */
async function fakeCore(replays: unknown): Promise<FakeCore> {
  const state = { replayRequests: 0, replays };
  const node = await startFakeNode((req: http.IncomingMessage, res: http.ServerResponse) => {
    const url = req.url ?? '';
    if (url === '/metrics') {
      res.setHeader('Content-Type', 'text/plain; version=0.0.4');
      res.end(METRICS);
      return;
    }
    res.setHeader('Content-Type', 'application/json');
    if (url === '/health') res.end('{"status":"healthy","service":"allsource-core","version":"9.9.9"}');
    else if (url === '/api/v1/stats') res.end('{"total_events":5,"total_entities":1,"total_event_types":1,"total_ingested":5}');
    else if (url.startsWith('/api/v1/entities/top')) res.end('{"entities":[],"total_entities":0}');
    else if (url === '/api/v1/replay') {
      state.replayRequests++;
      res.end(typeof state.replays === 'string' ? state.replays : JSON.stringify(state.replays));
    } else {
      res.statusCode = 404;
      res.end('{"error":"Not found","code":"NOT_FOUND"}');
    }
  });
  return Object.assign(state, { url: node.url, close: node.close }) as FakeCore;
}

const replay = (id: string, status: string, extra: Record<string, unknown> = {}) => ({
  replay_id: id,
  status,
  projection_name: 'entity_snapshots',
  started_at: '2026-01-01T00:00:00.000Z',
  updated_at: '2026-01-01T00:00:01.000Z',
  completed_at: status === 'running' ? null : '2026-01-01T00:00:01.000Z',
  total_events: 100,
  processed_events: status === 'running' ? 40 : 100,
  failed_events: 0,
  progress_percentage: status === 'running' ? 40 : 100,
  events_per_second: 1000,
  error_message: null,
  ...extra,
});

let a: FakeCore;
let b: FakeCore;
let garbage: FakeCore;
let t: TestControlPlane;
const DOWN_URL = 'http://127.0.0.1:9'; // discard port: refused

beforeAll(async () => {
  a = await fakeCore({
    replays: [
      replay('a-run', 'running', { started_at: '2026-01-01T00:00:05.000Z' }),
      replay('a-done', 'completed', { completed_at: '2026-01-01T00:00:03.000Z' }),
      replay('a-failed', 'failed', { completed_at: '2026-01-01T00:00:02.000Z', error_message: 'boom' }),
      { not: 'a replay' },
    ],
    total: 4,
  });
  b = await fakeCore({ replays: [replay('b-run', 'running', { started_at: '2026-01-01T00:00:09.000Z', progress_percentage: 250 })], total: 1 });
  garbage = await fakeCore('{"replays": "nope"}');
  t = await startTestControlPlane({
    CORE_NODES: `a=${a.url},b=${b.url},garbage=${garbage.url},down=${DOWN_URL}`,
    SCRAPE_INTERVAL_MS: String(INTERVAL_MS),
    SCRAPE_TIMEOUT_MS: String(INTERVAL_MS),
  });
  await t.cp.scraper.waitForCycles(1);
});

afterAll(async () => {
  await t?.stop(true);
  await Promise.all([a, b, garbage].map((n) => n?.close()));
});

const get = (path: string, headers: Record<string, string> = {}) => t.client.raw<unknown>('GET', path, { headers });

describe('the page', () => {
  it.each(['/', '/dashboard', '/dashboard/'])('GET %s serves the page with a strict CSP', async (path) => {
    const res = await get(path);
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(res.headers['content-security-policy']).toBe(CONTENT_SECURITY_POLICY);
    expect(res.headers['content-security-policy']).toContain("script-src 'self'");
    expect(res.text).toContain('<title>AllSource · control plane</title>');
  });

  it('loads only its own files: every script, style and icon is served here (no CDN)', async () => {
    const html = (await get('/')).text;
    const refs = [...html.matchAll(/(?:src|href)="([^"#]+)"/g)].map((m) => m[1]!);
    expect(refs.sort()).toEqual(
      ['/dashboard/assets/dashboard.css', '/dashboard/assets/dashboard.js', '/dashboard/assets/favicon.svg', '/dashboard/assets/favicon.svg', '/dashboard/assets/uplot.css', '/dashboard/assets/uplot.js'].sort(),
    );
    expect(html).not.toMatch(/https?:\/\//);
    for (const ref of new Set(refs)) {
      const res = await get(ref);
      expect([ref, res.status]).toEqual([ref, 200]);
      expect(res.headers['x-content-type-options']).toBe('nosniff');
      expect(res.text.length).toBeGreaterThan(100);
    }
    const js = await get('/dashboard/assets/dashboard.js');
    expect(js.headers['content-type']).toBe('text/javascript; charset=utf-8');
    expect(js.text).not.toMatch(/https?:\/\/(?!www\.w3\.org)/);
  });

  it('serves uPlot byte for byte from its npm package', async () => {
    const js = await get('/dashboard/assets/uplot.js');
    expect(js.text).toBe(readFileSync(require.resolve('uplot/dist/uPlot.iife.min.js'), 'utf8'));
    const css = await get('/dashboard/assets/uplot.css');
    expect(css.headers['content-type']).toBe('text/css; charset=utf-8');
    expect(css.text).toBe(readFileSync(require.resolve('uplot/dist/uPlot.min.css'), 'utf8'));
  });

  it('answers 304 to a matching If-None-Match and revalidates (Cache-Control: no-cache)', async () => {
    const first = await get('/dashboard/assets/dashboard.css');
    expect(first.headers['cache-control']).toBe('no-cache');
    const etag = first.headers.etag as string;
    expect(etag).toMatch(/^"[A-Za-z0-9_-]+"$/);
    expect((await get('/dashboard/assets/dashboard.css', { 'If-None-Match': etag })).status).toBe(304);
    expect((await get('/dashboard/assets/dashboard.css', { 'If-None-Match': '"other"' })).status).toBe(200);
  });

  it('serves nothing but the listed assets', async () => {
    for (const path of ['/dashboard/assets/..%2F..%2Fpackage.json', '/dashboard/assets/index.html', '/dashboard/assets/constructor', '/dashboard/assets/toString']) {
      const res = await get(path);
      expect([path, res.status]).toEqual([path, 404]);
      expect((res.data as { code: string }).code).toBe('NOT_FOUND');
    }
  });
});

interface ReplaysAnswer {
  active: Array<{ node_id: string; replay_id: string; status: string; progress_percentage: number }>;
  recent: Array<{ node_id: string; replay_id: string; status: string; error_message: string | null }>;
  nodes: Array<{ node_id: string; status: string; error: string | null; replays: number }>;
  as_of: string;
}

describe('GET /api/v1/dashboard/replays', () => {
  it('merges the nodes\' replays: every active one (newest first), then the latest finished', async () => {
    await waitFor('a and b scraped healthy', () => t.cp.scraper.nodes.filter((n) => n.status === 'healthy').length === 3);
    const res = await get('/api/v1/dashboard/replays?limit=10');
    expect(res.status).toBe(200);
    const data = res.data as ReplaysAnswer;
    expect(data.active.map((r) => [r.node_id, r.replay_id])).toEqual([
      ['b', 'b-run'],
      ['a', 'a-run'],
    ]);
    expect(data.active[0]!.progress_percentage).toBe(100); // a node claiming 250 % is clamped
    expect(data.recent.map((r) => r.replay_id)).toEqual(['a-done', 'a-failed']);
    expect(data.recent[1]!.error_message).toBe('boom');
    const byNode = Object.fromEntries(data.nodes.map((n) => [n.node_id, n]));
    expect(byNode.a).toEqual({ node_id: 'a', status: 'ok', error: null, replays: 3 });
    expect(byNode.b!.status).toBe('ok');
    expect(byNode.garbage).toEqual({ node_id: 'garbage', status: 'error', error: 'replay: not a replay list', replays: 0 });
    // The down node is never asked (the page would otherwise wait for its timeout).
    expect(byNode.down).toEqual({ node_id: 'down', status: 'skipped', error: 'unreachable at the latest scrape', replays: 0 });
    expect(Date.parse(data.as_of)).toBeGreaterThan(0);

    const limited = (await get('/api/v1/dashboard/replays?limit=1')).data as ReplaysAnswer;
    expect(limited.active).toHaveLength(2);
    expect(limited.recent.map((r) => r.replay_id)).toEqual(['a-done']);
  });

  it('asks each node at most once per refresh window however many dashboards ask', async () => {
    const before = a.replayRequests;
    const started = Date.now();
    for (let round = 0; round < 5; round++) {
      const answers = await Promise.all(Array.from({ length: 20 }, () => get('/api/v1/dashboard/replays')));
      expect(answers.every((r) => r.status === 200)).toBe(true);
    }
    const elapsed = Date.now() - started;
    const maxAge = Math.min(2000, Math.max(250, INTERVAL_MS));
    // 100 requests → one node request per window (+1 for a window boundary).
    expect(a.replayRequests - before).toBeLessThanOrEqual(Math.ceil(elapsed / maxAge) + 1);
    expect(a.replayRequests - before).toBeLessThan(100);
  });

  it('shows a replay the node starts later, once the cache window passed', async () => {
    (a.replays as { replays: unknown[] }).replays.unshift(replay('a-new', 'running', { started_at: '2026-01-01T00:00:20.000Z' }));
    await waitFor('a-new listed', async () => ((await get('/api/v1/dashboard/replays')).data as ReplaysAnswer).active[0]?.replay_id === 'a-new', 5000);
  });

  it.each(['-1', '51', 'x', '1.5'])('limit=%s is a 400', async (limit) => {
    const res = await get(`/api/v1/dashboard/replays?limit=${limit}`);
    expect(res.status).toBe(400);
    expect((res.data as { code: string }).code).toBe('INVALID_QUERY');
  });
});

describe('replay views', () => {
  it('keeps only well-formed entries and bounds their text', () => {
    expect(replayView('n', null)).toBeNull();
    expect(replayView('n', { replay_id: 1, status: 'running' })).toBeNull();
    const v = replayView('n', { replay_id: 'r', status: 'running', progress_percentage: -3, error_message: 'x'.repeat(2000), total_events: 'many' })!;
    expect(v.progress_percentage).toBe(0);
    expect(v.total_events).toBe(0);
    expect(v.error_message).toHaveLength(500);
    expect(v.projection_name).toBeNull();
  });

  it('orders finished replays by completion and bounds the active list', () => {
    const nodes: NodeReplays[] = [
      {
        node_id: 'x',
        status: 'ok',
        error: null,
        replays: Array.from({ length: 300 }, (_, i) => replayView('x', replay(`r${i}`, 'running', { started_at: new Date(i * 1000).toISOString() }))!),
      },
      { node_id: 'y', status: 'ok', error: null, replays: [replayView('y', replay('old', 'cancelled', { completed_at: '2020-01-01T00:00:00.000Z' }))!, replayView('y', replay('new', 'completed', { completed_at: '2030-01-01T00:00:00.000Z' }))!] },
    ];
    const { active, finished } = selectReplays(nodes, 5);
    expect(active).toHaveLength(200);
    expect(active[0]!.replay_id).toBe('r299');
    expect(finished.map((r) => r.replay_id)).toEqual(['new', 'old']);
  });
});
