import type { NodeState } from '../../scrape/scraper';
import { iso } from '../params';

/** Scrape bookkeeping of one node (for /health). */
export function nodeScrapeSummary(n: NodeState) {
  return {
    status: n.status,
    last_scrape_at: iso(n.lastScrapeAt),
    last_success_at: iso(n.lastSuccessAt),
    last_error: n.lastError,
    scrape_duration_ms: n.lastDurationMs,
    scrapes_succeeded: n.scrapesSucceeded,
    scrapes_failed: n.scrapesFailed,
  };
}

/** A node as /api/v1/cluster/status lists it. */
export function clusterNodeView(n: NodeState) {
  return {
    id: n.node.id,
    type: 'event-store',
    status: n.status,
    url: n.node.url,
    version: typeof n.health?.version === 'string' ? n.health.version : null,
    stats: n.stats,
    last_scrape_at: iso(n.lastScrapeAt),
    last_success_at: iso(n.lastSuccessAt),
    last_error: n.lastError,
    scrape_duration_ms: n.lastDurationMs,
  };
}

/** `healthy` when every node is, `unhealthy` when none is, `degraded` in between, `unknown` before the first scrape. */
export function clusterHealth(nodes: readonly NodeState[]): 'healthy' | 'degraded' | 'unhealthy' | 'unknown' {
  if (nodes.every((n) => n.status === 'unknown')) return 'unknown';
  const healthy = nodes.filter((n) => n.status === 'healthy').length;
  if (healthy === nodes.length) return 'healthy';
  return healthy === 0 ? 'unhealthy' : 'degraded';
}

/** Sum of a numeric stats field over the nodes whose latest scrape returned stats (null when none did). */
export function sumStats(nodes: readonly NodeState[], field: string): number | null {
  let total: number | null = null;
  for (const n of nodes) {
    const v = n.stats?.[field];
    if (typeof v === 'number' && Number.isFinite(v)) total = (total ?? 0) + v;
  }
  return total;
}
