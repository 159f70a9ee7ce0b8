import fs from 'node:fs';
import path from 'node:path';
import {
  ALL_CONTROL_PLANE_METRIC_NAMES,
  ALL_CORE_METRIC_NAMES,
  BATCH_SIZE_BUCKETS,
  CONTROL_PLANE_METRICS,
  CORE_METRICS,
  FSYNC_BUCKETS,
  HTTP_BUCKETS,
  INGESTION_BUCKETS,
  LONG_OPERATION_BUCKETS,
  type MetricDef,
  PER_EVENT_BUCKETS,
  PER_EVENT_BY_NAME_BUCKETS,
  QUERY_BUCKETS,
  SCRAPE_BUCKETS,
  SEGMENT_FLUSH_BUCKETS,
  USER_FED_LABELS,
  findMetric,
} from './index';

// The spec lives beside the repo (shared/spec), both locally and in CI.
const SPEC_PATH = path.resolve(__dirname, '../../../../shared/spec/metrics-catalog.md');

interface SpecRow {
  name: string;
  type: string;
  labels: string[];
  group: string;
}

/**
 * Reads every table row naming a metric. Core rows are `group | metric | type | labels` with the
 * group left blank after its first row; control-plane rows are `metric | type | labels`.
 */
function parseSpec(markdown: string): SpecRow[] {
  const rows: SpecRow[] = [];
  let group = '';
  for (const line of markdown.split('\n')) {
    if (!line.startsWith('|')) continue;
    const cells = line.split('|').slice(1, -1).map((c) => c.trim());
    const nameAt = cells.findIndex((c) => /^`(allsource|control_plane)_[a-z0-9_]+`$/.test(c));
    if (nameAt < 0) continue;
    const name = cells[nameAt]!.slice(1, -1);
    if (nameAt === 1 && cells[0]) group = cells[0].replace(/\s+/g, '_');
    if (nameAt === 0) group = 'control_plane';
    // Parenthesised text holds example values, not label names.
    const labelCell = (cells[nameAt + 2] ?? '').replace(/\([^)]*\)/g, '');
    const labels = [...labelCell.matchAll(/`([^`]+)`/g)].map((m) => m[1]!);
    rows.push({ name, type: cells[nameAt + 1]!, labels, group });
  }
  return rows;
}

const spec = parseSpec(fs.readFileSync(SPEC_PATH, 'utf8'));
const specCore = spec.filter((r) => r.name.startsWith('allsource_'));
const specControlPlane = spec.filter((r) => r.name.startsWith('control_plane_'));
const ALL: readonly MetricDef[] = [...CORE_METRICS, ...CONTROL_PLANE_METRICS];
const specNames = new Set(spec.map((r) => r.name));

describe('catalogue against the spec tables', () => {
  it('parses the whole spec (41 core + 8 control-plane metrics)', () => {
    expect(specCore).toHaveLength(41);
    expect(specControlPlane).toHaveLength(8);
    expect(specNames.size).toBe(spec.length);
  });

  it.each(specCore)('core $name is defined exactly once with its type, labels and group', (row) => {
    const defs = CORE_METRICS.filter((d) => d.name === row.name);
    expect(defs).toHaveLength(1);
    const def: MetricDef = defs[0]!;
    expect(def.type).toBe(row.type);
    expect([...def.labelNames]).toEqual(row.labels);
    expect(def.group).toBe(row.group);
    expect(def.extra).toBeUndefined();
  });

  it.each(specControlPlane)('control plane $name is defined exactly once with its type and labels', (row) => {
    const defs = CONTROL_PLANE_METRICS.filter((d) => d.name === row.name);
    expect(defs).toHaveLength(1);
    const def: MetricDef = defs[0]!;
    expect(def.type).toBe(row.type);
    expect([...def.labelNames]).toEqual(row.labels);
    expect(def.group).toBe('control_plane');
  });

  it('defines nothing beyond the spec except entries marked extra', () => {
    const unmarked = ALL.filter((d) => !d.extra).map((d) => d.name);
    expect(unmarked.sort()).toEqual([...specNames].sort());
    for (const def of ALL.filter((d) => d.extra)) expect(specNames.has(def.name)).toBe(false);
  });

  it('has the requested extras', () => {
    const extras = CORE_METRICS.filter((d: MetricDef) => d.extra).map((d) => [d.name, d.type, [...d.labelNames]]);
    expect(extras).toEqual([
      ['allsource_wal_fsync_duration_seconds', 'histogram', []],
      ['allsource_wal_group_commit_batch_events', 'histogram', []],
      ['allsource_wal_corruptions_total', 'counter', ['kind']],
      ['allsource_wal_bytes_truncated_total', 'counter', []],
      ['allsource_segment_flushes_total', 'counter', []],
      ['allsource_segment_flush_duration_seconds', 'histogram', []],
      ['allsource_segment_cache_hits_total', 'counter', []],
      ['allsource_segment_cache_misses_total', 'counter', []],
      ['allsource_metric_label_values_folded_total', 'counter', ['label']],
      ['allsource_build_info', 'gauge', ['version', 'node_version']],
    ]);
    expect(CONTROL_PLANE_METRICS.some((d: MetricDef) => d.extra)).toBe(false);
  });
});

describe('Prometheus naming', () => {
  it.each(ALL.map((d) => [d.name, d] as const))('%s is well formed', (name, def) => {
    expect(name).toMatch(/^[a-zA-Z_:][a-zA-Z0-9_:]*$/);
    expect(name).toMatch(def.group === 'control_plane' ? /^control_plane_/ : /^allsource_/);
    expect(def.help.trim()).not.toBe('');
    expect(def.help).not.toMatch(/\n/);
    expect(new Set(def.labelNames).size).toBe(def.labelNames.length);
    for (const label of def.labelNames) {
      expect(label).toMatch(/^[a-zA-Z_][a-zA-Z0-9_]*$/);
      expect(label).not.toMatch(/^__/); // reserved for Prometheus
      expect(['le', 'quantile', 'entity_id', 'event_id', 'tenant_id', 'url', 'path']).not.toContain(label);
    }
  });

  it('keeps non-conforming names only where the spec dictates them', () => {
    const counterWithoutTotal = ALL.filter((d) => d.type === 'counter' && !d.name.endsWith('_total'));
    const nonCounterWithTotal = ALL.filter((d) => d.type !== 'counter' && d.name.endsWith('_total'));
    for (const def of [...counterWithoutTotal, ...nonCounterWithTotal]) {
      expect([def.name, specNames.has(def.name)]).toEqual([def.name, true]);
    }
  });

  it('gives every histogram increasing positive buckets and its unit in the name', () => {
    for (const def of ALL) {
      if (def.type !== 'histogram') {
        expect(def.buckets).toBeUndefined();
        continue;
      }
      const buckets = def.buckets ?? [];
      expect(buckets.length).toBeGreaterThan(5);
      expect(buckets[0]).toBeGreaterThan(0);
      buckets.forEach((b, i) => i > 0 && expect(b).toBeGreaterThan(buckets[i - 1]!));
      expect(def.name).toMatch(/_(seconds|events)$/);
    }
  });

  it('gives user-fed labels only to metrics the spec says are capped', () => {
    const fed = new Set<string>(USER_FED_LABELS);
    const withFedLabels = ALL.filter((d) => d.labelNames.some((l) => fed.has(l))).map((d) => d.name);
    expect(withFedLabels.sort()).toEqual([
      'allsource_events_ingested_by_type',
      'allsource_pipeline_events_filtered',
      'allsource_pipeline_events_processed',
      'allsource_pipeline_processing_duration_seconds',
      'allsource_projection_errors_total',
      'allsource_projection_events_processed',
      'allsource_projection_processing_duration_seconds',
      'allsource_schema_validations_total',
    ]);
  });
});

describe('buckets', () => {
  it.each([
    ['INGESTION_BUCKETS', INGESTION_BUCKETS, 0.0001, 2.5],
    ['QUERY_BUCKETS', QUERY_BUCKETS, 0.00005, 1],
    ['HTTP_BUCKETS', HTTP_BUCKETS, 0.0001, 5],
    ['PER_EVENT_BUCKETS', PER_EVENT_BUCKETS, 0.000005, 0.1],
    ['PER_EVENT_BY_NAME_BUCKETS', PER_EVENT_BY_NAME_BUCKETS, 0.0000001, 0.001],
    ['LONG_OPERATION_BUCKETS', LONG_OPERATION_BUCKETS, 0.001, 600],
    ['SCRAPE_BUCKETS', SCRAPE_BUCKETS, 0.001, 10],
    ['FSYNC_BUCKETS', FSYNC_BUCKETS, 0.00005, 2.5],
    ['SEGMENT_FLUSH_BUCKETS', SEGMENT_FLUSH_BUCKETS, 0.0005, 10],
    ['BATCH_SIZE_BUCKETS', BATCH_SIZE_BUCKETS, 1, 10000],
  ] as const)('%s spans its operation and is frozen', (_name, buckets, first, last) => {
    expect(buckets[0]).toBe(first);
    expect(buckets[buckets.length - 1]).toBe(last);
    expect(Object.isFrozen(buckets)).toBe(true);
  });

  it('are attached to the right histograms', () => {
    const bucketsOf = (name: string) => findMetric(name)?.buckets;
    expect(bucketsOf('allsource_ingestion_duration_seconds')).toBe(INGESTION_BUCKETS);
    expect(bucketsOf('allsource_query_duration_seconds')).toBe(QUERY_BUCKETS);
    expect(bucketsOf('allsource_http_request_duration_seconds')).toBe(HTTP_BUCKETS);
    expect(bucketsOf('control_plane_http_request_duration_seconds')).toBe(HTTP_BUCKETS);
    expect(bucketsOf('allsource_projection_processing_duration_seconds')).toBe(PER_EVENT_BY_NAME_BUCKETS);
    expect(bucketsOf('allsource_pipeline_processing_duration_seconds')).toBe(PER_EVENT_BY_NAME_BUCKETS);
    expect(bucketsOf('allsource_schema_validation_duration_seconds')).toBe(PER_EVENT_BUCKETS);
    expect(bucketsOf('allsource_snapshot_creation_duration_seconds')).toBe(LONG_OPERATION_BUCKETS);
    expect(bucketsOf('allsource_compaction_duration_seconds')).toBe(LONG_OPERATION_BUCKETS);
    expect(bucketsOf('allsource_replay_duration_seconds')).toBe(LONG_OPERATION_BUCKETS);
    expect(bucketsOf('control_plane_scrape_duration_seconds')).toBe(SCRAPE_BUCKETS);
    expect(bucketsOf('allsource_wal_fsync_duration_seconds')).toBe(FSYNC_BUCKETS);
    expect(bucketsOf('allsource_wal_group_commit_batch_events')).toBe(BATCH_SIZE_BUCKETS);
  });
});

describe('lookups', () => {
  it('lists every core and control-plane name in order', () => {
    expect(ALL_CORE_METRIC_NAMES).toEqual(CORE_METRICS.map((d) => d.name));
    expect(ALL_CONTROL_PLANE_METRIC_NAMES).toEqual(CONTROL_PLANE_METRICS.map((d) => d.name));
    expect(ALL_CORE_METRIC_NAMES).toHaveLength(51);
  });

  it('finds definitions of both services by name', () => {
    expect(findMetric('allsource_queries_total')).toBe(CORE_METRICS.find((d) => d.name === 'allsource_queries_total'));
    expect(findMetric('control_plane_uptime_seconds')?.type).toBe('gauge');
    expect(findMetric('allsource_nope')).toBeUndefined();
  });
});
