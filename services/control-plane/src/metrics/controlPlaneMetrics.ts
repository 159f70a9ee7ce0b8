import { CONTROL_PLANE_METRICS, createMetrics, type PromMetricSet } from '@allsource/metrics-catalog';
import { Registry, collectDefaultMetrics } from 'prom-client';

/**
 * The control plane's own instruments, on one registry per instance (never prom-client's global
 * one): the catalogue's `control_plane_*` metrics plus Node.js runtime metrics. `node_id` label
 * values only ever come from the configured node list.
 */
export class ControlPlaneMetrics {
  readonly registry = new Registry();
  readonly m: PromMetricSet<typeof CONTROL_PLANE_METRICS>;

  constructor(
    readonly startedAt: number,
    nodeIds: readonly string[],
  ) {
    this.m = createMetrics(this.registry, CONTROL_PLANE_METRICS, {
      control_plane_uptime_seconds: (g) => g.set((Date.now() - this.startedAt) / 1000),
    });
    collectDefaultMetrics({ register: this.registry });
    // Every node's series exists from the start (0 until its first healthy scrape).
    for (const id of nodeIds) this.m.gauge('control_plane_core_health_status').set({ node_id: id }, 0);
  }

  async render(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }

  /** Sum of all series of a counter of this registry (e.g. requests answered). */
  async counterTotal(name: 'control_plane_http_requests_total' | 'control_plane_scrapes_total', filter?: Record<string, string>): Promise<number> {
    const data = await this.m.counter(name).get();
    let total = 0;
    for (const v of data.values) {
      const labels = v.labels as Record<string, string | number | undefined>;
      if (filter && !Object.entries(filter).every(([k, want]) => String(labels[k]) === want)) continue;
      total += v.value;
    }
    return total;
  }
}
