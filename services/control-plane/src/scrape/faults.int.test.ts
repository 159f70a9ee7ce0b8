/**
 * Faults: a stopped and restarted core (counter reset), nodes that answer garbage, hang or send
 * too much — reported per node, never fatal, never stalling the other nodes or the API.
 */
import { DERIVED_METRICS } from '../derive/derivedMetrics';
import { parseExposition } from '../prometheus/textFormat';
import { CoreProcess, coreNodes, events, makeTempDir, removeDir, startFakeNode, startTestCluster, startTestControlPlane, waitFor, type TestCluster, type TestControlPlane } from '../testing/harness';

const INTERVAL_MS = 300;

interface NodeView {
  id: string;
  status: string;
  last_error: string | null;
  last_scrape_at: string | null;
}

const statusOf = async (t: TestControlPlane, id: string): Promise<NodeView> => {
  const res = await t.client.raw<{ nodes: NodeView[] }>('GET', '/api/v1/cluster/status');
  return res.data.nodes.find((n) => n.id === id)!;
};

describe('a core node that stops and restarts', () => {
  let core1: CoreProcess;
  let core2: CoreProcess;
  let t: TestControlPlane;
  let cluster: TestCluster | undefined;

  beforeAll(async () => {
    cluster = await startTestCluster({ SCRAPE_INTERVAL_MS: String(INTERVAL_MS), SCRAPE_TIMEOUT_MS: String(INTERVAL_MS) });
    ({ core1, core2, t } = cluster);
    await waitFor('both nodes healthy', async () => (await statusOf(t, 'core-2')).status === 'healthy' && (await statusOf(t, 'core-1')).status === 'healthy');
  });

  afterAll(() => cluster?.stop());

  it('is marked unreachable by the first scrape after it stopped, while the API keeps answering', async () => {
    // A large counter before the restart, so the restarted (smaller) counter is a reset.
    for (let i = 0; i < 5; i++) await core2.client.ingestBatch(events(`pre-${i}`, 100));
    await t.cp.scraper.waitForCycles(2);
    await core2.stop();
    // The cycle running now may have started before the stop; the next one started after it.
    await t.cp.scraper.waitForCycles(2);
    const node = await statusOf(t, 'core-2');
    expect(node.status).toBe('unreachable');
    expect(node.last_error).toMatch(/ECONNREFUSED|ECONNRESET/);
    await waitFor('core-1 still healthy', async () => (await statusOf(t, 'core-1')).status === 'healthy');

    const overview = await t.client.raw<{ cluster: { healthy_nodes: number; total_events: number }; health: { core_status: string } }>('GET', '/api/v1/dashboard/overview');
    expect(overview.status).toBe(200);
    expect(overview.data.cluster.healthy_nodes).toBe(1);
    expect(overview.data.health.core_status).toBe('degraded');
    const coreHealth = await t.client.raw<{ nodes: Array<{ id: string; status: string }> }>('GET', '/health/core');
    expect(coreHealth.status).toBe(503);
    expect(coreHealth.data.nodes.find((n) => n.id === 'core-2')!.status).toBe('unreachable');
    const metrics = parseExposition((await t.client.raw('GET', '/metrics')).text);
    const health = metrics.find((f) => f.name === 'control_plane_core_health_status')!;
    expect(health.samples.find((s) => s.labels.node_id === 'core-2')!.value).toBe(0);
    const errors = metrics.find((f) => f.name === 'control_plane_scrapes_total')!.samples.find((s) => s.labels.node_id === 'core-2' && s.labels.result === 'error');
    expect(errors!.value).toBeGreaterThan(0);
    // Operations without a node go to the healthy one; naming the stopped one is a 503.
    const op = await t.client.raw<{ code: string }>('POST', '/api/v1/operations/snapshot', { body: { entity_id: 'pre-0', node: 'core-2' } });
    expect(op.status).toBe(503);
    expect(op.data.code).toBe('UPSTREAM_UNAVAILABLE');
  });

  it('after a restart (counters reset) every rate stays non-negative and counts only the new events', async () => {
    const restartedAt = Date.now();
    await core2.launch();
    await waitFor('core-2 healthy again', async () => (await statusOf(t, 'core-2')).status === 'healthy');
    await core2.client.ingestBatch(events('post', 20));
    await t.cp.scraper.waitForCycles(3);

    for (const node of ['core-2', 'cluster']) {
      for (const metric of DERIVED_METRICS.filter((m) => m.kind === 'rate' || m.kind === 'ratio')) {
        const res = await t.client.raw<{ datapoints: Array<{ timestamp: string; value: number | null }> }>('GET', '/api/v1/dashboard/timeseries', {
          params: { metric: metric.name, range: '5m', node, step: `${INTERVAL_MS}ms` },
        });
        expect(res.status).toBe(200);
        for (const p of res.data.datapoints) if (p.value !== null) expect(p.value).toBeGreaterThanOrEqual(0);
      }
    }
    const res = await t.client.raw<{ datapoints: Array<{ timestamp: string; value: number | null }> }>('GET', '/api/v1/dashboard/timeseries', {
      params: { metric: 'ingestion_rate', range: '5m', node: 'core-2', step: `${INTERVAL_MS}ms` },
    });
    const points = res.data.datapoints;
    let afterRestart = 0;
    for (let i = 1; i < points.length; i++) {
      const at = Date.parse(points[i]!.timestamp);
      if (at < restartedAt) continue;
      afterRestart += (points[i]!.value ?? 0) * ((at - Date.parse(points[i - 1]!.timestamp)) / 1000);
    }
    // Exactly the 20 new events: not -500 (a naive delta), not 520.
    expect(afterRestart).toBeCloseTo(20, 6);
    // Stored events survived the restart and the overview sees them.
    const stats = await core2.client.stats();
    expect(stats.total_events).toBe(520);
  });
});

describe('nodes that answer garbage, hang or send too much', () => {
  let core: CoreProcess;
  let t: TestControlPlane;
  const fakes: Array<{ url: string; close(): Promise<void> }> = [];
  const hung: Array<import('node:http').ServerResponse> = [];

  beforeAll(async () => {
    core = await CoreProcess.start();
    fakes.push(
      // Answers everything with 200 and nonsense.
      await startFakeNode((req, res) => {
        if (req.url === '/metrics') res.end('garbage{{{ not metrics\n');
        else if (req.url === '/health') res.end('OK');
        else res.end('<html>hello</html>');
      }),
      // Accepts connections and never answers.
      await startFakeNode((_req, res) => {
        hung.push(res);
      }),
      // Healthy-looking, but /metrics is an endless stream past the size cap.
      await startFakeNode((req, res) => {
        if (req.url === '/metrics') {
          res.setHeader('Content-Type', 'text/plain');
          const line = `${'x'.repeat(60)} 1\n`.repeat(1000);
          let sent = 0;
          const pump = (): void => {
            while (sent < 4 * 1024 * 1024) {
              sent += line.length;
              if (!res.write(line)) {
                res.once('drain', pump);
                return;
              }
            }
            res.end();
          };
          pump();
          return;
        }
        res.setHeader('Content-Type', 'application/json');
        if (req.url === '/health') res.end('{"status":"healthy","service":"allsource-core","version":"0"}');
        else if (req.url === '/api/v1/stats') res.end('{"total_events":1,"total_entities":1,"total_event_types":1,"total_ingested":1}');
        else res.end('{"entities":[],"total_entities":0}');
      }),
    );
    t = await startTestControlPlane({
      CORE_NODES: `core-1=${core.url},garbage=${fakes[0]!.url},hanging=${fakes[1]!.url},huge=${fakes[2]!.url}`,
      SCRAPE_INTERVAL_MS: String(INTERVAL_MS),
      SCRAPE_TIMEOUT_MS: '250',
      SCRAPE_MAX_BYTES: String(1024 * 1024),
    });
    await t.cp.scraper.waitForCycles(2);
  });

  afterAll(async () => {
    await t?.stop(true);
    for (const res of hung) res.destroy();
    await Promise.all(fakes.map((f) => f.close()));
    await core?.destroy();
  });

  it('reports each broken node with what went wrong', async () => {
    const garbage = await statusOf(t, 'garbage');
    expect(garbage.status).toBe('unhealthy');
    expect(garbage.last_error).toMatch(/health: HTTP 200, not a health answer/);
    expect(garbage.last_error).toMatch(/metrics: line 1: /);
    expect(garbage.last_error).toMatch(/stats: /);
    const hanging = await statusOf(t, 'hanging');
    expect(hanging.status).toBe('unreachable');
    expect(hanging.last_error).toMatch(/timeout after 250 ms/);
    const huge = await statusOf(t, 'huge');
    expect(huge.status).toBe('unhealthy');
    expect(huge.last_error).toMatch(/metrics: .*maxContentLength size of 1048576 exceeded/);
  });

  it('keeps scraping the healthy node every interval and keeps answering', async () => {
    const before = await t.client.raw<{ metrics: { scrape: { nodes: Record<string, { scrapes_succeeded: number }> } } }>('GET', '/health');
    const succeeded = before.data.metrics.scrape.nodes['core-1']!.scrapes_succeeded;
    await core.client.ingestBatch(events('e', 10));
    await t.cp.scraper.waitForCycles(5);
    const after = await t.client.raw<{ metrics: { scrape: { nodes: Record<string, { scrapes_succeeded: number; scrapes_failed: number }> } } }>('GET', '/health');
    // core-1 is scraped in every cycle (one slack for a slow machine) while the hanging node
    // timed out in every one of them.
    expect(after.data.metrics.scrape.nodes['core-1']!.scrapes_succeeded).toBeGreaterThanOrEqual(succeeded + 4);
    expect(after.data.metrics.scrape.nodes['hanging']!.scrapes_failed).toBeGreaterThanOrEqual(5);
    for (const path of ['/api/v1/cluster/status', '/api/v1/dashboard/overview', '/api/v1/metrics', '/api/v1/dashboard/top_entities', '/metrics', '/health']) {
      expect((await t.client.raw('GET', path)).status).toBe(200);
    }
    const overview = await t.client.raw<{ cluster: { total_events: number; healthy_nodes: number } }>('GET', '/api/v1/dashboard/overview');
    // The fake "huge" node's stats count (it answered them); garbage and hanging ones do not.
    expect(overview.data.cluster.total_events).toBe(10 + 1);
    expect(overview.data.cluster.healthy_nodes).toBe(1);
  });
});

describe('history across a control-plane restart', () => {
  it('is written on shutdown and read back, by the real process (SIGTERM) too', async () => {
    const { spawn } = await import('node:child_process');
    const { stat } = await import('node:fs/promises');
    const path = await import('node:path');
    const { CONTROL_PLANE_MAIN, freePort } = await import('../testing/harness');
    const core = await CoreProcess.start();
    const dataDir = await makeTempDir('cp-restart-');
    const port = await freePort();
    const env = {
      ...process.env,
      CORE_NODES: coreNodes(core),
      SCRAPE_INTERVAL_MS: String(INTERVAL_MS),
      DATA_DIR: dataDir,
      PORT: String(port),
      HOST: '127.0.0.1',
      LOG_LEVEL: 'warn',
    };
    const { AllSourceClient } = await import('@allsource/client');
    const client = new AllSourceClient({ baseUrl: `http://127.0.0.1:${port}`, timeoutMs: 5000 });
    const launch = async () => {
      const child = spawn(process.execPath, [CONTROL_PLANE_MAIN], { env, stdio: ['ignore', 'ignore', 'pipe'] });
      let stderr = '';
      child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
      await waitFor('control plane process', async () => {
        if (child.exitCode !== null) throw new Error(`exited ${child.exitCode}: ${stderr}`);
        return (await client.raw('GET', '/health', { timeoutMs: 1000 })).status === 200;
      });
      return child;
    };
    const series = async () =>
      (await client.raw<{ datapoints: Array<{ timestamp: string; value: number | null }> }>('GET', '/api/v1/dashboard/timeseries', {
        params: { metric: 'events_stored', range: '5m', node: 'core-1', step: `${INTERVAL_MS}ms` },
      })).data.datapoints;
    try {
      const first = await launch();
      await core.client.ingestBatch(events('h', 25));
      const before = await waitFor('points that saw the events', async () => {
        const pts = await series();
        return pts.filter((p) => p.value === 25).length >= 3 ? pts : undefined;
      });
      const exited = new Promise<number | null>((resolve) => first.once('exit', (code) => resolve(code)));
      first.kill('SIGTERM');
      expect(await exited).toBe(0);
      expect((await stat(path.join(dataDir, 'history.bin'))).size).toBeGreaterThan(0);

      const second = await launch();
      try {
        const health = await client.raw<{ metrics: { history: { loaded_points: number; load_error: string | null } } }>('GET', '/health');
        expect(health.data.metrics.history.load_error).toBeNull();
        expect(health.data.metrics.history.loaded_points).toBeGreaterThan(0);
        const after = await series();
        // Every point seen before the restart is still there, unchanged.
        const byTime = new Map(after.map((p) => [p.timestamp, p.value]));
        for (const p of before) expect(byTime.get(p.timestamp)).toBe(p.value);
      } finally {
        const exited2 = new Promise<void>((resolve) => second.once('exit', () => resolve()));
        second.kill('SIGTERM');
        await exited2;
      }
    } finally {
      await removeDir(dataDir);
      await core.destroy();
    }
  });

  it('is also snapshotted periodically while running (atomic rename, stale temp files removed at start)', async () => {
    const { readdir, writeFile } = await import('node:fs/promises');
    const path = await import('node:path');
    const core = await CoreProcess.start();
    const t = await startTestControlPlane({ CORE_NODES: coreNodes(core), SCRAPE_INTERVAL_MS: String(INTERVAL_MS), HISTORY_SNAPSHOT_INTERVAL_MS: '200' });
    try {
      const health = await waitFor('a periodic snapshot', async () => {
        const res = await t.client.raw<{ metrics: { history: { last_snapshot_at: string | null; last_snapshot_bytes: number | null } } }>('GET', '/health');
        return res.data.metrics.history.last_snapshot_at !== null ? res.data.metrics.history : undefined;
      });
      expect(health.last_snapshot_bytes).toBeGreaterThan(0);
      expect(await readdir(t.dataDir)).toContain('history.bin');
      await t.stop();
      await writeFile(path.join(t.dataDir, 'history.bin.12345.tmp'), 'half-written');
      const again = await startTestControlPlane({ CORE_NODES: coreNodes(core), SCRAPE_INTERVAL_MS: '3600000' }, t.dataDir);
      await again.stop();
      expect((await readdir(t.dataDir)).filter((n) => n.endsWith('.tmp'))).toEqual([]);
    } finally {
      await t.stop(true);
      await core.destroy();
    }
  });

  it('in-process: close() snapshots, a new instance on the same folder serves the old points', async () => {
    const core = await CoreProcess.start();
    try {
      const first = await startTestControlPlane({ CORE_NODES: coreNodes(core), SCRAPE_INTERVAL_MS: String(INTERVAL_MS) });
      await core.client.ingestBatch(events('i', 7));
      await first.cp.scraper.waitForCycles(4);
      const query = { metric: 'ingestion_rate', range: '5m', node: 'all', step: `${INTERVAL_MS}ms` };
      const before = (await first.client.raw<{ datapoints: unknown[]; nodes: Record<string, unknown[]> }>('GET', '/api/v1/dashboard/timeseries', { params: query })).data;
      await first.stop();
      const second = await startTestControlPlane({ CORE_NODES: coreNodes(core), SCRAPE_INTERVAL_MS: '3600000' }, first.dataDir);
      try {
        const after = (await second.client.raw<{ datapoints: unknown[]; nodes: Record<string, unknown[]> }>('GET', '/api/v1/dashboard/timeseries', { params: query })).data;
        expect(after.datapoints.slice(0, before.datapoints.length)).toEqual(before.datapoints);
        expect(after.nodes['core-1']!.slice(0, before.nodes['core-1']!.length)).toEqual(before.nodes['core-1']);
      } finally {
        await second.stop(true);
      }
    } finally {
      await core.destroy();
    }
  });
});

describe('CORE_API_KEY', () => {
  it('is sent to the core as a bearer token on every scrape', async () => {
    const seen = new Set<string>();
    // A minimal core that requires the key.
    const node = await startFakeNode((req, res) => {
      seen.add(`${req.url} ${req.headers.authorization ?? '-'}`);
      if (req.headers.authorization !== 'Bearer s3cret') {
        res.statusCode = 401;
        res.setHeader('Content-Type', 'application/json');
        res.end('{"error":"Unauthorized: missing key","code":"UNAUTHORIZED"}');
        return;
      }
      res.setHeader('Content-Type', req.url === '/metrics' ? 'text/plain' : 'application/json');
      if (req.url === '/metrics') res.end('# TYPE allsource_events_ingested_total counter\nallsource_events_ingested_total 3\n');
      else if (req.url === '/health') res.end('{"status":"healthy","service":"allsource-core","version":"0"}');
      else if (req.url === '/api/v1/stats') res.end('{"total_events":3,"total_entities":1,"total_event_types":1,"total_ingested":3}');
      else res.end('{"entities":[{"entity_id":"x","event_count":3,"last_event_at":"2024-01-01T00:00:00.000Z"}],"total_entities":1}');
    });
    const withKey = await startTestControlPlane({ CORE_NODES: `k=${node.url}`, SCRAPE_INTERVAL_MS: String(INTERVAL_MS), CORE_API_KEY: 's3cret' });
    const withoutKey = await startTestControlPlane({ CORE_NODES: `k=${node.url}`, SCRAPE_INTERVAL_MS: String(INTERVAL_MS) });
    try {
      await Promise.all([withKey.cp.scraper.waitForCycles(1), withoutKey.cp.scraper.waitForCycles(1)]);
      expect((await statusOf(withKey, 'k')).status).toBe('healthy');
      const denied = await statusOf(withoutKey, 'k');
      expect(denied.status).toBe('unhealthy');
      expect(denied.last_error).toMatch(/HTTP 401 UNAUTHORIZED: Unauthorized: missing key/);
      for (const path of ['/health', '/metrics', '/api/v1/stats']) expect(seen).toContain(`${path} Bearer s3cret`);
      expect([...seen].some((s) => s.startsWith('/api/v1/entities/top') && s.endsWith('Bearer s3cret'))).toBe(true);
    } finally {
      await Promise.all([withKey.stop(true), withoutKey.stop(true)]);
      await node.close();
    }
  });
});
