import type { Express, Request, Response } from 'express';
import { computeRecord } from '../../derive/derivedMetrics';
import type { ControlPlaneContext } from '../context';
import { iso } from '../params';
import { clusterHealth, clusterNodeView, sumStats } from './views';

export function clusterRoutes(app: Express, ctx: ControlPlaneContext): void {
  const { scraper } = ctx;

  /** Every node from the latest scrape (never a hard-coded status). */
  app.get('/api/v1/cluster/status', (_req, res) => {
    const nodes = scraper.nodes.map(clusterNodeView);
    res.json({
      cluster_id: ctx.config.clusterId,
      status: clusterHealth(scraper.nodes),
      nodes,
      total_nodes: nodes.length,
      healthy_nodes: nodes.filter((n) => n.status === 'healthy').length,
      timestamp: new Date().toISOString(),
    });
  });

  /**
   * Totals: the control plane's own counters and, per node and summed, the core's counters as of
   * the latest scrape (`*_total` counters are since each core process started) plus the rates
   * over RATE_WINDOW_MS.
   */
  const metricsJson = async (_req: Request, res: Response): Promise<void> => {
    const now = Date.now();
    const nodes: Record<string, unknown> = {};
    const sum = { ingested_total: 0, queries_total: 0, ingestion_errors_total: 0, http_requests_total: 0 };
    for (const n of scraper.nodes) {
      const totals = n.sampleFresh ? n.sample?.totals : undefined;
      if (totals) {
        sum.ingested_total += totals.ingested;
        sum.queries_total += totals.queries;
        sum.ingestion_errors_total += totals.ingest_errors;
        sum.http_requests_total += totals.http_requests;
      }
      const gauges = scraper.gaugesOf(n);
      const rates = computeRecord(scraper.windowIncrease(n, now), gauges);
      nodes[n.node.id] = {
        status: n.status,
        events_total: n.stats?.total_events ?? null,
        entities_total: n.stats?.total_entities ?? null,
        ingested_total: totals?.ingested ?? null,
        queries_total: totals?.queries ?? null,
        ingestion_errors_total: totals?.ingest_errors ?? null,
        http_requests_total: totals?.http_requests ?? null,
        storage_bytes: gauges?.storage_bytes ?? null,
        wal_segments: gauges?.wal_segments ?? null,
        websocket_connections: gauges?.websocket_connections ?? null,
        ingestion_rate: rates.ingestion_rate,
        query_rate: rates.query_rate,
        last_scrape_at: iso(n.lastScrapeAt),
      };
    }
    const clusterGauges = scraper.clusterGauges();
    const clusterRates = computeRecord(scraper.clusterWindowIncrease(now), clusterGauges);
    res.json({
      control_plane: {
        uptime_seconds: (now - ctx.startedAt) / 1000,
        requests_total: await ctx.metrics.counterTotal('control_plane_http_requests_total'),
        scrapes_total: await ctx.metrics.counterTotal('control_plane_scrapes_total'),
        scrape_errors_total: await ctx.metrics.counterTotal('control_plane_scrapes_total', { result: 'error' }),
        scrape_cycles: scraper.cycles,
      },
      core_nodes: {
        total: scraper.nodes.length,
        healthy: scraper.nodes.filter((n) => n.status === 'healthy').length,
        events_total: sumStats(scraper.nodes, 'total_events'),
        entities_total: sumStats(scraper.nodes, 'total_entities'),
        ...sum,
        storage_bytes: clusterGauges?.storage_bytes ?? null,
        wal_segments: clusterGauges?.wal_segments ?? null,
        websocket_connections: clusterGauges?.websocket_connections ?? null,
        ingestion_rate: clusterRates.ingestion_rate,
        query_rate: clusterRates.query_rate,
        rate_window_seconds: ctx.config.rateWindowMs / 1000,
        nodes,
      },
      timestamp: new Date(now).toISOString(),
    });
  };
  app.get('/api/v1/metrics', metricsJson);
  app.get('/api/v1/metrics/json', metricsJson);
}
