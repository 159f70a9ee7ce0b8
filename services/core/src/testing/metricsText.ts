/**
 * Test helper: reading sample values out of the Prometheus text of /metrics.
 *
 *   expect(sumSamples(await t.client.metricsText(), 'allsource_queries_total', { query_type: 'analytics' })).toBe(3);
 *   expect(await scrapeSum(t, 'allsource_pipeline_events_processed', { pipeline_name: 'p' })).toBe(1);
 */
import type { AllSourceClient } from '@allsource/client';

const SAMPLE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/;
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;

/**
 * Sum of the samples `name{…}` in `text` whose labels include every pair of `labels` (values as
 * written, escapes kept); 0 when there is none. With no `labels`, every sample of `name` counts.
 * Histograms: ask for `<name>_count` or `<name>_sum`.
 */
export function sumSamples(text: string, name: string, labels: Record<string, string> = {}): number {
  let sum = 0;
  for (const line of text.split('\n')) {
    const m = SAMPLE.exec(line);
    if (!m || m[1] !== name) continue;
    const have: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(LABEL)) have[l[1]!] = l[2]!;
    if (Object.entries(labels).every(([k, v]) => have[k] === v)) sum += Number(m[3]);
  }
  return sum;
}

/** GETs /metrics as text from the core `t` is bound to, expects 200, and returns `sumSamples` of it. */
export async function scrapeSum(t: { client: AllSourceClient }, name: string, labels: Record<string, string> = {}): Promise<number> {
  const res = await t.client.raw('GET', '/metrics', { headers: { Accept: 'text/plain' } });
  expect(res.status).toBe(200);
  return sumSamples(res.text, name, labels);
}
