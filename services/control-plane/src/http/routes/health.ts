import type { Express } from 'express';
import type { ControlPlaneContext } from '../context';
import { iso } from '../params';
import { nodeScrapeSummary } from './views';

export function healthRoutes(app: Express, ctx: ControlPlaneContext): void {
  /**
   * The control plane's own health. `metrics.registry` is whether its Prometheus registry renders;
   * `metrics.scrape` is the last scrape of each core node. Core nodes being down does not make the
   * control plane unhealthy (it is the thing that reports them); a broken registry does (503).
   */
  app.get('/health', async (_req, res) => {
    let registry: { status: 'ok' | 'error'; error?: string; series?: number };
    try {
      const metrics = await ctx.metrics.registry.getMetricsAsJSON();
      registry = { status: 'ok', series: metrics.reduce((n, m) => n + (m.values?.length ?? 0), 0) };
    } catch (err) {
      registry = { status: 'error', error: (err as Error).message };
    }
    const { scraper, history, historyStatus } = ctx;
    const healthy = scraper.nodes.filter((n) => n.status === 'healthy').length;
    res.status(registry.status === 'ok' ? 200 : 503).json({
      status: registry.status === 'ok' ? 'healthy' : 'unhealthy',
      service: 'allsource-control-plane',
      version: ctx.version,
      timestamp: new Date().toISOString(),
      uptime_seconds: (Date.now() - ctx.startedAt) / 1000,
      metrics: {
        registry,
        scrape: {
          interval_ms: ctx.config.scrapeIntervalMs,
          timeout_ms: ctx.config.scrapeTimeoutMs,
          cycles_completed: scraper.cycles,
          last_cycle_at: iso(scraper.lastCycleAt),
          last_cycle_duration_ms: scraper.lastCycleDurationMs,
          healthy_nodes: healthy,
          total_nodes: scraper.nodes.length,
          nodes: Object.fromEntries(scraper.nodes.map((n) => [n.node.id, nodeScrapeSummary(n)])),
        },
        history: {
          source: ctx.prometheus ? 'prometheus' : 'embedded',
          memory_bytes: history.memoryBytes(),
          raw_points_per_series: history.rawCapacity,
          rollup_points_per_series: history.rollupCapacity,
          loaded_points: historyStatus.loadedPoints,
          load_error: historyStatus.loadError,
          last_snapshot_at: iso(historyStatus.lastSaveAt),
          last_snapshot_bytes: historyStatus.lastSaveBytes,
          last_snapshot_error: historyStatus.lastSaveError,
        },
      },
    });
  });

  /** Each core node's `/health` answer as of the latest scrape; 503 when a node is unreachable (or not scraped yet). */
  app.get('/health/core', (_req, res) => {
    const nodes = ctx.scraper.nodes.map((n) => ({
      id: n.node.id,
      url: n.node.url,
      status: n.status,
      http_status: n.healthStatusCode,
      health: n.health,
      last_scrape_at: iso(n.lastScrapeAt),
      last_error: n.lastError,
    }));
    const healthy = nodes.filter((n) => n.status === 'healthy').length;
    const anyUnreachable = nodes.some((n) => n.status === 'unreachable' || n.status === 'unknown');
    res.status(anyUnreachable ? 503 : 200).json({
      status: healthy === nodes.length ? 'healthy' : healthy === 0 ? 'unhealthy' : 'degraded',
      healthy_nodes: healthy,
      total_nodes: nodes.length,
      nodes,
      timestamp: new Date().toISOString(),
    });
  });

  app.get('/metrics', async (_req, res) => {
    const { contentType, body } = await ctx.metrics.render();
    res.setHeader('Content-Type', contentType);
    res.send(body);
  });
}
