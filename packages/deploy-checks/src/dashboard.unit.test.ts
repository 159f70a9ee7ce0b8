/**
 * Lints deploy/grafana/dashboards/allsource.json the way grafana/dashboard-linter would, against
 * the metrics catalogue; checks that the linter itself catches each kind of mistake; and checks
 * the dashboard covers every catalogue metric and every topic operators asked for.
 */
import { readFileSync } from 'node:fs';
import { CONTROL_PLANE_METRICS, CORE_METRICS } from '@allsource/metrics-catalog';
import { lintDashboard, parseQuery, queryPanels, resolveMetric, type Dashboard } from './index';
import { DASHBOARD_FILE, DASHBOARD_UID } from './paths';

const text = readFileSync(DASHBOARD_FILE, 'utf8');
const dashboard = JSON.parse(text) as Dashboard;
const exprs = queryPanels(dashboard).flatMap((p) => (p.targets ?? []).map((t) => t.expr ?? ''));

/** A deep copy of the dashboard changed by `edit`, linted. */
function lintEdited(edit: (d: Dashboard) => void): string[] {
  const copy = JSON.parse(text) as Dashboard;
  edit(copy);
  const edited = JSON.stringify(copy);
  return lintDashboard(copy, edited, DASHBOARD_UID);
}
const firstTarget = (d: Dashboard) => queryPanels(d)[1]!.targets![0]!;

it('passes the lint: stable uid, datasource variable everywhere, $__rate_interval, job/instance matchers, catalogue metrics, unique ids', () => {
  expect(lintDashboard(dashboard, text, DASHBOARD_UID)).toEqual([]);
  expect(dashboard.uid).toBe('allsource-overview');
  expect(queryPanels(dashboard).length).toBeGreaterThanOrEqual(30);
});

it('the linter catches each kind of mistake', () => {
  expect(lintEdited((d) => (d.uid = 'x1y2z3'))).toEqual(["uid is 'x1y2z3', expected the stable 'allsource-overview'"]);
  expect(lintEdited((d) => (queryPanels(d)[0]!.datasource = { type: 'prometheus', uid: '${DS_PROMETHEUS}' })).join('\n')).toMatch(/DS_/);
  expect(lintEdited((d) => (d.__inputs = [{ name: 'DS_PROMETHEUS' }])).join('\n')).toMatch(/__inputs/);
  expect(lintEdited((d) => (firstTarget(d).datasource = { type: 'prometheus', uid: 'abc' })).join('\n')).toMatch(/target A: datasource/);
  expect(lintEdited((d) => (d.templating!.list = d.templating!.list!.filter((v) => v.name !== 'datasource'))).join('\n')).toMatch(/variable 'datasource'/);
  expect(lintEdited((d) => (queryPanels(d)[2]!.id = queryPanels(d)[3]!.id)).join('\n')).toMatch(/is used 2 times/);
  expect(lintEdited((d) => (firstTarget(d).expr = 'sum(rate(allsource_events_ingested_total{job=~"$job", instance=~"$instance"}[5m]))'))).toEqual([
    expect.stringMatching(/range \[5m\] instead of \[\$__rate_interval\]/),
    expect.stringMatching(/rate\(allsource_events_ingested_total\) without \[\$__rate_interval\]/),
  ]);
  expect(lintEdited((d) => (firstTarget(d).expr = 'sum(allsource_storage_events_total{job=~"$job"})'))).toEqual([
    expect.stringMatching(/allsource_storage_events_total lacks instance=~"\$instance"/),
  ]);
  expect(lintEdited((d) => (firstTarget(d).expr = 'sum(allsource_events_ingested_totl{job=~"$job", instance=~"$instance"})'))).toEqual([
    expect.stringMatching(/allsource_events_ingested_totl is not a catalogue metric/),
  ]);
  expect(lintEdited((d) => (firstTarget(d).expr = 'sum(allsource_events_ingested_total{job=~"$job", instance=~"$instance"})'))).toEqual([
    expect.stringMatching(/cumulative and must be inside rate\/irate\/increase/),
  ]);
  expect(lintEdited((d) => (firstTarget(d).expr = 'rate(allsource_storage_size_bytes{job=~"$job", instance=~"$instance"}[$__rate_interval])'))).toEqual([
    expect.stringMatching(/is a gauge; rate\(\) is for counters/),
  ]);
  expect(lintEdited((d) => (firstTarget(d).expr = 'sum(allsource_storage_size_bytes{job=~"$job", instance=~"$instance", node_id="core-1"})'))).toEqual([
    expect.stringMatching(/has no label 'node_id'/),
  ]);
  expect(lintEdited((d) => (firstTarget(d).expr = 'histogram_quantile(0.9, rate(allsource_ingestion_duration_seconds{job=~"$job", instance=~"$instance"}[$__rate_interval]))')).join('\n')).toMatch(
    /allsource_ingestion_duration_seconds is not a catalogue metric/,
  );
  expect(lintEdited((d) => (firstTarget(d).expr = 'sum(rate(allsource_events_ingested_total{job=~"$job", instance=~"$instance"}[$__rate_interval])')).join('\n')).toMatch(/unbalanced/);
});

it('resolves histogram series through their base metric only', () => {
  expect(resolveMetric('allsource_query_duration_seconds_bucket')?.series).toBe('bucket');
  expect(resolveMetric('control_plane_scrape_duration_seconds_count')?.series).toBe('count');
  expect(resolveMetric('allsource_query_duration_seconds')).toBeUndefined();
  expect(resolveMetric('allsource_queries_total_count')).toBeUndefined();
  expect(resolveMetric('control_plane_core_health_status')?.def.type).toBe('gauge');
});

it('charts every metric of the spec catalogue, core and control plane', () => {
  const used = new Set(exprs.flatMap((e) => parseQuery(e).selectors.map((s) => resolveMetric(s.metric ?? '')?.def.name)));
  const missing = [...CORE_METRICS, ...CONTROL_PLANE_METRICS].filter((m) => !('extra' in m && m.extra)).map((m) => m.name).filter((n) => !used.has(n));
  expect(missing).toEqual([]);
});

it('has the panels operators asked for', () => {
  const titles = queryPanels(dashboard).map((p) => p.title ?? '');
  const wanted = [
    /^Ingestion rate$/,
    /^Ingestion latency p50 \/ p95 \/ p99$/,
    /^Query latency p50 \/ p95 \/ p99$/,
    /Error ratio/,
    /^Storage size$/,
    /^Storage growth$/,
    /^Events and entities stored$/,
    /^WAL segments and Parquet files$/,
    /^WebSocket connections$/,
    /^Projection processing time/,
    /^Schema validations$/,
    /^Replay progress$/,
    /^Pipeline throughput$/,
    /^Snapshots created$/,
    /^Compactions/,
    /^HTTP requests by endpoint and status$/,
    /^Core node health \(control plane\)$/,
  ];
  expect(wanted.filter((re) => !titles.some((t) => re.test(t))).map(String)).toEqual([]);
  // p50/p95/p99 really are the three quantiles.
  for (const title of ['Ingestion latency p50 / p95 / p99', 'Query latency p50 / p95 / p99']) {
    const p = queryPanels(dashboard).find((x) => x.title === title)!;
    expect(p.targets!.map((t) => /^histogram_quantile\((0\.\d+),/.exec(t.expr!)?.[1])).toEqual(['0.5', '0.95', '0.99']);
  }
});

it('offers job, instance and node variables that fall back to .* for All', () => {
  const vars = dashboard.templating!.list!;
  expect(vars.map((v) => v.name)).toEqual(['datasource', 'job', 'instance', 'node']);
  for (const v of vars.slice(1)) expect([v.includeAll, v.multi, v.allValue]).toEqual([true, true, '.*']);
});
