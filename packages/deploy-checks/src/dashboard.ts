/**
 * The Grafana dashboard as data, and a linter with the rules of grafana/dashboard-linter that
 * matter for a shareable Prometheus dashboard, plus catalogue checks:
 *   - stable uid, no `__inputs` / `${DS_…}` import placeholders, `id` null;
 *   - a `datasource` template variable (type datasource, Prometheus), used by every panel, every
 *     target and every query variable;
 *   - `job` and `instance` query variables, and `job=~"$job"`, `instance=~"$instance"` in every
 *     selector of every target;
 *   - `$__rate_interval` as the range of every rate/irate/increase (every range, in fact);
 *   - counters (and histogram series) only inside rate/irate/increase;
 *   - every metric named exists in packages/metrics-catalog (histograms through their
 *     `_bucket`/`_sum`/`_count` series, `_bucket` only with `le`), with only its own labels;
 *   - unique panel ids, unique refIds per panel, a title, description and unit on every panel.
 */
import { findMetric, type MetricDef } from '@allsource/metrics-catalog';
import { parseQuery, PromqlLintError, type VectorSelector } from './promql';

export interface DatasourceRef {
  type?: string;
  uid?: string;
}

export interface Target {
  refId?: string;
  expr?: string;
  legendFormat?: string;
  datasource?: DatasourceRef | string | null;
}

export interface Panel {
  id?: number;
  type?: string;
  title?: string;
  description?: string;
  datasource?: DatasourceRef | string | null;
  targets?: Target[];
  panels?: Panel[];
  fieldConfig?: { defaults?: { unit?: string } };
  gridPos?: { h: number; w: number; x: number; y: number };
}

export interface TemplateVariable {
  name: string;
  type: string;
  query?: string | { query?: string };
  definition?: string;
  datasource?: DatasourceRef | string | null;
  includeAll?: boolean;
  allValue?: string;
  multi?: boolean;
}

export interface Dashboard {
  id?: number | null;
  uid?: string;
  title?: string;
  schemaVersion?: number;
  __inputs?: unknown;
  templating?: { list?: TemplateVariable[] };
  panels?: Panel[];
}

/** Series that Prometheus itself creates for every target (not in the catalogue). */
export const PROMETHEUS_SYNTHETIC_SERIES: ReadonlySet<string> = new Set(['up']);

const RATE_FUNCTIONS = new Set(['rate', 'irate', 'increase']);
const TARGET_LABELS = ['job', 'instance'];

/** Every panel, rows and the panels of collapsed rows included. */
export function allPanels(dashboard: Dashboard): Panel[] {
  const out: Panel[] = [];
  for (const p of dashboard.panels ?? []) {
    out.push(p);
    for (const inner of p.panels ?? []) out.push(inner);
  }
  return out;
}

/** Panels that query (everything but rows). */
export function queryPanels(dashboard: Dashboard): Panel[] {
  return allPanels(dashboard).filter((p) => p.type !== 'row');
}

export function variableQuery(v: TemplateVariable): string | undefined {
  return typeof v.query === 'string' ? v.query : (v.query?.query ?? v.definition);
}

/** The catalogue definition behind a series name, and which series of it the name is. */
export function resolveMetric(name: string): { def: MetricDef; series: 'value' | 'bucket' | 'sum' | 'count' } | undefined {
  const own = findMetric(name);
  if (own) return own.type === 'histogram' ? undefined : { def: own, series: 'value' };
  const m = /^(.*)_(bucket|sum|count)$/.exec(name);
  if (!m) return undefined;
  const base = findMetric(m[1]!);
  return base?.type === 'histogram' ? { def: base, series: m[2] as 'bucket' | 'sum' | 'count' } : undefined;
}

function isDatasourceVariableRef(ds: DatasourceRef | string | null | undefined): boolean {
  if (typeof ds === 'string') return ds === '$datasource' || ds === '${datasource}';
  return ds?.type === 'prometheus' && (ds.uid === '${datasource}' || ds.uid === '$datasource');
}

function lintSelector(where: string, s: VectorSelector, problems: string[]): void {
  if (s.metric === undefined) {
    problems.push(`${where}: a selector without a metric name`);
    return;
  }
  for (const label of TARGET_LABELS) {
    const m = s.matchers.find((x) => x.label === label);
    if (!m || m.op !== '=~' || m.value !== `$${label}`) problems.push(`${where}: ${s.metric} lacks ${label}=~"$${label}"`);
  }
  if (PROMETHEUS_SYNTHETIC_SERIES.has(s.metric)) return;
  const resolved = resolveMetric(s.metric);
  if (!resolved) {
    problems.push(`${where}: ${s.metric} is not a catalogue metric (packages/metrics-catalog)`);
    return;
  }
  const allowed = new Set([...resolved.def.labelNames, ...TARGET_LABELS, ...(resolved.series === 'bucket' ? ['le'] : [])]);
  for (const m of s.matchers) {
    if (!allowed.has(m.label)) problems.push(`${where}: ${s.metric} has no label '${m.label}'`);
  }
  const cumulative = resolved.def.type === 'counter' || resolved.series !== 'value';
  if (cumulative && !(s.directCall && RATE_FUNCTIONS.has(s.directCall))) {
    problems.push(`${where}: ${s.metric} is cumulative and must be inside rate/irate/increase (is in ${s.directCall ?? 'nothing'})`);
  }
  if (!cumulative && s.directCall && RATE_FUNCTIONS.has(s.directCall)) {
    problems.push(`${where}: ${s.metric} is a ${resolved.def.type}; ${s.directCall}() is for counters`);
  }
}

/** Every problem found; an empty list means the dashboard passes. */
export function lintDashboard(dashboard: Dashboard, text: string, expectedUid: string): string[] {
  const problems: string[] = [];
  if (dashboard.uid !== expectedUid) problems.push(`uid is '${dashboard.uid}', expected the stable '${expectedUid}'`);
  if (!/^[a-zA-Z0-9_-]{1,40}$/.test(dashboard.uid ?? '')) problems.push('uid must be 1-40 of [a-zA-Z0-9_-]');
  if (dashboard.id !== null && dashboard.id !== undefined) problems.push('id must be null (Grafana assigns it)');
  if (dashboard.__inputs !== undefined) problems.push('__inputs present: the datasource must come from the template variable, not import inputs');
  if (/\$\{DS_[A-Z0-9_]+\}/.test(text)) problems.push('a ${DS_…} import placeholder is used');
  if (!dashboard.title) problems.push('no title');

  const vars = dashboard.templating?.list ?? [];
  const byName = new Map(vars.map((v) => [v.name, v]));
  const ds = byName.get('datasource');
  if (!ds || ds.type !== 'datasource' || variableQuery(ds) !== 'prometheus') {
    problems.push("templating: needs a variable 'datasource' of type datasource with query 'prometheus'");
  }
  for (const name of ['job', 'instance']) {
    const v = byName.get(name);
    if (!v || v.type !== 'query') problems.push(`templating: needs a query variable '${name}'`);
  }
  for (const v of vars) {
    if (v.type !== 'query') continue;
    if (!isDatasourceVariableRef(v.datasource)) problems.push(`templating: variable '${v.name}' does not use the datasource variable`);
    if (!variableQuery(v)) problems.push(`templating: variable '${v.name}' has no query`);
    if (v.includeAll && v.allValue !== '.*') problems.push(`templating: variable '${v.name}' includes All but its allValue is not '.*'`);
  }

  const ids = new Map<number, number>();
  for (const p of allPanels(dashboard)) {
    if (typeof p.id !== 'number') problems.push(`panel '${p.title}': no numeric id`);
    else ids.set(p.id, (ids.get(p.id) ?? 0) + 1);
  }
  for (const [id, n] of ids) if (n > 1) problems.push(`panel id ${id} is used ${n} times`);

  for (const p of allPanels(dashboard)) {
    const name = `panel ${p.id} '${p.title ?? ''}'`;
    if (p.type === 'row') {
      if ((p.targets ?? []).length > 0) problems.push(`${name}: a row with targets`);
      continue;
    }
    if (!p.title) problems.push(`${name}: no title`);
    if (!p.description) problems.push(`${name}: no description`);
    if (!p.fieldConfig?.defaults?.unit) problems.push(`${name}: no unit (fieldConfig.defaults.unit)`);
    if (!p.gridPos) problems.push(`${name}: no gridPos`);
    if (!isDatasourceVariableRef(p.datasource)) problems.push(`${name}: datasource is not the \${datasource} variable`);
    const targets = p.targets ?? [];
    if (targets.length === 0) problems.push(`${name}: no targets`);
    const refIds = new Set<string>();
    for (const t of targets) {
      const where = `${name} target ${t.refId ?? '?'}`;
      if (!t.refId) problems.push(`${where}: no refId`);
      else if (refIds.has(t.refId)) problems.push(`${where}: duplicate refId`);
      else refIds.add(t.refId);
      if (!isDatasourceVariableRef(t.datasource)) problems.push(`${where}: datasource is not the \${datasource} variable`);
      if (!t.expr || t.expr.trim() === '') {
        problems.push(`${where}: no expr`);
        continue;
      }
      let parsed;
      try {
        parsed = parseQuery(t.expr);
      } catch (err) {
        problems.push(`${where}: ${err instanceof PromqlLintError ? err.message : String(err)} in ${t.expr}`);
        continue;
      }
      if (parsed.selectors.length === 0) problems.push(`${where}: no selector`);
      for (const r of parsed.ranges) {
        if (r !== '$__rate_interval') problems.push(`${where}: range [${r}] instead of [$__rate_interval]`);
      }
      for (const s of parsed.selectors) lintSelector(where, s, problems);
      const rateCalls = parsed.calls.filter((c) => RATE_FUNCTIONS.has(c)).length;
      const rateSelectors = parsed.selectors.filter((s) => s.directCall && RATE_FUNCTIONS.has(s.directCall)).length;
      if (rateCalls !== rateSelectors) problems.push(`${where}: a rate/irate/increase whose argument is not a range selector`);
      for (const s of parsed.selectors) {
        if (s.directCall && RATE_FUNCTIONS.has(s.directCall) && s.range !== '$__rate_interval') {
          problems.push(`${where}: ${s.directCall}(${s.metric}) without [$__rate_interval]`);
        }
      }
    }
  }
  return problems;
}
