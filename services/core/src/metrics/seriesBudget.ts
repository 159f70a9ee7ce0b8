import { CORE_METRICS, type MetricDef } from '@allsource/metrics-catalog';

/**
 * The most series /metrics can expose, computed from the label caps: whatever event types,
 * subjects, pipeline names or URLs clients send, the count stays under this budget
 * (docs/metrics.md explains each term). Node.js runtime metrics are a fixed allowance.
 */
export interface SeriesBudgetInput {
  eventTypeLabelLimit: number;
  labelValueLimit: number;
  /** Number of route templates the app registers. */
  routes: number;
}

/** Distinct values each label can take. */
export function labelValueBounds(input: SeriesBudgetInput): Record<string, number> {
  const capped = input.labelValueLimit + 1; // + __other__
  return {
    event_type: input.eventTypeLabelLimit + 1,
    subject: capped,
    pipeline_name: capped,
    projection_name: capped,
    result: 2,
    query_type: 6,
    reason: 6,
    snapshot_type: 2,
    kind: 3,
    label: 4,
    version: 1,
    node_version: 1,
    node_id: 1,
  };
}

/** HTTP statuses the core answers with (2xx used, every catalogue 4xx/5xx, a margin). */
export const HTTP_STATUS_BOUND = 25;
/** Known methods + OTHER. */
export const HTTP_METHOD_BOUND = 8;
/** prom-client's collectDefaultMetrics on Linux: about 60 series today; the budget allows 150. */
export const RUNTIME_SERIES_ALLOWANCE = 150;

function seriesPerCombination(def: MetricDef): number {
  // A histogram exposes one _bucket per bucket plus +Inf, then _sum and _count.
  return def.type === 'histogram' ? (def.buckets?.length ?? 11) + 3 : 1;
}

export function seriesBudget(input: SeriesBudgetInput): { total: number; byMetric: Record<string, number> } {
  const bounds = labelValueBounds(input);
  const byMetric: Record<string, number> = {};
  let total = RUNTIME_SERIES_ALLOWANCE;
  for (const def of CORE_METRICS) {
    let combinations = 1;
    const labels = def.labelNames as readonly string[];
    if (labels.includes('endpoint')) {
      // Each route template has its method(s); `unmatched` can come with any method.
      combinations = (input.routes * 2 + HTTP_METHOD_BOUND) * (labels.includes('status') ? HTTP_STATUS_BOUND : 1);
    } else {
      for (const label of labels) {
        const bound = bounds[label];
        if (bound === undefined) throw new Error(`no bound for label ${label} of ${def.name}`);
        combinations *= bound;
      }
    }
    byMetric[def.name] = combinations * seriesPerCombination(def);
    total += byMetric[def.name]!;
  }
  return { total, byMetric };
}
