import { AllSourceError } from '@allsource/errors';
import type { Express } from 'express';
import { mergeTopEntities } from '../../cluster/topEntities';
import { DERIVED_METRIC_NAMES, computeRecord, derivedMetric } from '../../derive/derivedMetrics';
import { CLUSTER_SERIES, type Datapoint } from '../../history/history';
import type { ControlPlaneContext } from '../context';
import { formatDuration, iso, parseDuration, queryParam } from '../params';
import { clusterHealth, sumStats } from './views';

/** Accepted `range` values of the timeseries endpoint. */
export const TIMESERIES_RANGES: Readonly<Record<string, number>> = {
  '5m': 5 * 60_000,
  '15m': 15 * 60_000,
  '30m': 30 * 60_000,
  '1h': 3_600_000,
  '3h': 3 * 3_600_000,
  '6h': 6 * 3_600_000,
  '12h': 12 * 3_600_000,
  '24h': 24 * 3_600_000,
  '2d': 2 * 86_400_000,
  '7d': 7 * 86_400_000,
  '30d': 30 * 86_400_000,
};
/** Most points one series of a timeseries answer may have (Prometheus' own query_range limit). */
export const MAX_POINTS = 11_000;
/** Most points of all series of one timeseries answer together (`node=all` on many nodes). */
export const MAX_TOTAL_POINTS = 100_000;
/** Points a default step aims at. */
const DEFAULT_POINTS = 720;

export function dashboardRoutes(app: Express, ctx: ControlPlaneContext): void {
  const { scraper, history, config } = ctx;

  app.get('/api/v1/dashboard/overview', (_req, res) => {
    const now = Date.now();
    const gauges = scraper.clusterGauges();
    const window = computeRecord(scraper.clusterWindowIncrease(now), gauges);
    const storageBytes = sumStats(scraper.nodes, 'storage_bytes') ?? gauges?.storage_bytes ?? null;
    const capacity = config.storageCapacityBytes * scraper.nodes.length;
    res.json({
      timestamp: new Date(now).toISOString(),
      cluster: {
        cluster_id: config.clusterId,
        total_nodes: scraper.nodes.length,
        healthy_nodes: scraper.nodes.filter((n) => n.status === 'healthy').length,
        total_events: sumStats(scraper.nodes, 'total_events'),
        total_entities: sumStats(scraper.nodes, 'total_entities'),
        ingestion_rate: window.ingestion_rate,
      },
      performance: {
        avg_ingestion_latency_ms: window.avg_ingestion_latency_ms,
        p95_query_latency_ms: window.query_latency_p95_ms,
        events_per_second: window.ingestion_rate,
        query_rate: window.query_rate,
        error_ratio: window.error_ratio,
        ingestion_latency_p95_ms: window.ingestion_latency_p95_ms,
        query_latency_p50_ms: window.query_latency_p50_ms,
        query_latency_p99_ms: window.query_latency_p99_ms,
        window_seconds: config.rateWindowMs / 1000,
      },
      health: {
        core_status: clusterHealth(scraper.nodes),
        storage_usage_percent: capacity > 0 && storageBytes !== null ? (storageBytes / capacity) * 100 : null,
        storage_bytes: storageBytes,
        wal_segments: sumStats(scraper.nodes, 'wal_segments') ?? gauges?.wal_segments ?? null,
        websocket_connections: gauges?.websocket_connections ?? null,
      },
    });
  });

  app.get('/api/v1/dashboard/timeseries', async (req, res) => {
    const metricName = queryParam(req, 'metric') ?? 'ingestion_rate';
    const metric = derivedMetric(metricName);
    if (!metric) {
      throw new AllSourceError('INVALID_QUERY', `unknown metric '${metricName}'; valid metrics: ${DERIVED_METRIC_NAMES.join(', ')}`, {
        valid_metrics: DERIVED_METRIC_NAMES,
      });
    }
    const rangeName = queryParam(req, 'range') ?? '1h';
    const rangeMs = TIMESERIES_RANGES[rangeName];
    if (rangeMs === undefined) {
      throw new AllSourceError('INVALID_QUERY', `invalid range '${rangeName}'; valid ranges: ${Object.keys(TIMESERIES_RANGES).join(', ')}`, {
        valid_ranges: Object.keys(TIMESERIES_RANGES),
      });
    }
    const nodeParam = queryParam(req, 'node') ?? CLUSTER_SERIES;
    const validNodes = [CLUSTER_SERIES, 'all', ...config.nodes.map((n) => n.id)];
    if (!validNodes.includes(nodeParam)) {
      throw new AllSourceError('INVALID_QUERY', `unknown node '${nodeParam}'; valid values: ${validNodes.join(', ')}`, { valid_nodes: validNodes });
    }
    const stepRaw = queryParam(req, 'step');
    let requestedStepMs: number | null = null;
    if (stepRaw !== undefined && stepRaw !== '') {
      const parsed = parseDuration(stepRaw);
      if (parsed === undefined || parsed > rangeMs) {
        throw new AllSourceError(
          'INVALID_QUERY',
          `invalid step '${stepRaw}': give a duration such as 15s, 1m, 5m, 1h (or a number of seconds), at most the range`,
        );
      }
      if (rangeMs / parsed > MAX_POINTS) {
        throw new AllSourceError('INVALID_QUERY', `step '${stepRaw}' gives more than ${MAX_POINTS} points over ${rangeName}; use a step of at least ${formatDuration(Math.ceil(rangeMs / MAX_POINTS))}`);
      }
      requestedStepMs = parsed;
    }

    const to = Date.now();
    const from = to - rangeMs;
    const seriesIds = nodeParam === 'all' ? [CLUSTER_SERIES, ...config.nodes.map((n) => n.id)] : [nodeParam];
    // The native resolution: scrape interval (raw points) or rollup step (beyond raw history).
    const nativeMs = ctx.prometheus ? config.scrapeIntervalMs : history.nativeStepMs(seriesIds[0]!, from);
    const defaultStep = Math.max(nativeMs, Math.ceil(rangeMs / DEFAULT_POINTS / 1000) * 1000);
    const stepMs = Math.max(requestedStepMs ?? defaultStep, ctx.prometheus ? 1 : nativeMs);
    if ((Math.ceil(rangeMs / stepMs) + 1) * seriesIds.length > MAX_TOTAL_POINTS) {
      throw new AllSourceError(
        'INVALID_QUERY',
        `${seriesIds.length} series at step ${formatDuration(stepMs)} over ${rangeName} exceed ${MAX_TOTAL_POINTS} points; use a step of at least ${formatDuration(Math.ceil((rangeMs * seriesIds.length) / MAX_TOTAL_POINTS / 1000) * 1000)}`,
      );
    }

    const series: Record<string, Datapoint[]> = {};
    if (ctx.prometheus) {
      const prom = ctx.prometheus;
      const results = await Promise.all(
        seriesIds.map((id) => prom.queryRange(metric.def, id === CLUSTER_SERIES ? null : config.nodes.find((n) => n.id === id)!, from, to, stepMs)),
      );
      seriesIds.forEach((id, i) => (series[id] = results[i]!));
    } else {
      for (const id of seriesIds) series[id] = history.query(id, metric.index, from, to, stepMs);
    }
    const view = (points: Datapoint[]) => points.map((p) => ({ timestamp: iso(p.timestamp), value: p.value }));
    const body: Record<string, unknown> = {
      metric: metric.def.name,
      unit: metric.def.unit,
      range: rangeName,
      step: formatDuration(stepMs),
      step_seconds: stepMs / 1000,
      node: nodeParam,
      source: ctx.prometheus ? 'prometheus' : 'embedded',
      from: iso(from),
      to: iso(to),
      datapoints: view(series[seriesIds[0]!] ?? []),
    };
    if (nodeParam === 'all') {
      body.nodes = Object.fromEntries(config.nodes.map((n) => [n.id, view(series[n.id] ?? [])]));
    }
    res.json(body);
  });

  app.get('/api/v1/dashboard/top_entities', (req, res) => {
    const raw = queryParam(req, 'limit') ?? '10';
    const limit = Number(raw);
    if (!/^\d+$/.test(raw) || limit < 1 || limit > config.topEntitiesLimit) {
      throw new AllSourceError('INVALID_QUERY', `limit must be an integer from 1 to ${config.topEntitiesLimit}, got '${raw}'`);
    }
    const perNode = scraper.nodes.map((n) => ({ nodeId: n.node.id, top: n.topEntities }));
    res.json({
      entities: mergeTopEntities(perNode, limit),
      nodes_reporting: perNode.filter((p) => p.top !== null).map((p) => p.nodeId),
      // The oldest of the lists merged (each is refreshed on every scrape cycle).
      as_of: iso(perNode.reduce<number | null>((min, p) => (p.top && (min === null || p.top.at < min) ? p.top.at : min), null)),
      timestamp: new Date().toISOString(),
    });
  });
}
