/**
 * Turns catalogue definitions into live prom-client metrics on one given registry, or into no-op
 * stand-ins with the same interface when instrumentation is switched off (overhead benchmark).
 */
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { CachedCounter, CachedGauge, CachedHistogram } from './cachedMetrics';
import type { MetricDef, MetricType } from './catalog';

export type LabelValues<L extends string = string> = Partial<Record<L, string | number>>;
/** Stops a timer; records the elapsed seconds (labels may be added at the end). */
export type EndTimer<L extends string = string> = (labels?: LabelValues<L>) => void;

// The subset of prom-client's interface the services use. prom-client's classes satisfy it, and
// so do the no-op stand-ins, so instrumented code runs unchanged with metrics switched off.

export interface CounterChild {
  inc(value?: number): void;
}
export interface GaugeChild {
  inc(value?: number): void;
  dec(value?: number): void;
  set(value: number): void;
}
export interface HistogramChild<L extends string = string> {
  observe(value: number): void;
  startTimer(): EndTimer<L>;
}

export interface CounterHandle<L extends string = string> {
  inc(value?: number): void;
  inc(labels: LabelValues<L>, value?: number): void;
  labels(...values: string[]): CounterChild;
  labels(labels: LabelValues<L>): CounterChild;
}
export interface GaugeHandle<L extends string = string> {
  inc(value?: number): void;
  inc(labels: LabelValues<L>, value?: number): void;
  dec(value?: number): void;
  dec(labels: LabelValues<L>, value?: number): void;
  set(value: number): void;
  set(labels: LabelValues<L>, value: number): void;
  startTimer(labels?: LabelValues<L>): EndTimer<L>;
  labels(...values: string[]): GaugeChild;
  labels(labels: LabelValues<L>): GaugeChild;
}
export interface HistogramHandle<L extends string = string> {
  observe(value: number): void;
  observe(labels: LabelValues<L>, value: number): void;
  startTimer(labels?: LabelValues<L>): EndTimer<L>;
  labels(...values: string[]): HistogramChild<L>;
  labels(labels: LabelValues<L>): HistogramChild<L>;
}

// Type plumbing: with `as const` definitions (the catalogue) names and label names are checked
// at compile time; with plain MetricDef[] everything degrades to `string`.

type DefList = readonly MetricDef[];
type LabelsOf<M extends MetricDef> = M['labelNames'][number];
type Widened<D extends DefList> = string extends D[number]['name'] ? true : false;

/** Names in `D` of metrics of type `T`. */
export type MetricNameOf<D extends DefList, T extends MetricType> =
  Widened<D> extends true ? string : Extract<D[number], { type: T }>['name'];
/** Label names of the metric called `N` in `D`. */
export type LabelNameOf<D extends DefList, N extends string> = LabelsOf<Extract<D[number], { name: N }>>;

type HandleFor<T extends MetricType, L extends string> = T extends 'counter'
  ? CounterHandle<L>
  : T extends 'gauge'
    ? GaugeHandle<L>
    : HistogramHandle<L>;
type PromFor<T extends MetricType, L extends string> = T extends 'counter'
  ? Counter<L>
  : T extends 'gauge'
    ? Gauge<L>
    : Histogram<L>;

export type HandleMap<D extends DefList> = {
  readonly [M in D[number] as M['name']]: HandleFor<M['type'], LabelsOf<M>>;
};
export type PromMetricMap<D extends DefList> = {
  readonly [M in D[number] as M['name']]: PromFor<M['type'], LabelsOf<M>>;
};

/** Metrics built from definitions `D`: a map by name plus accessors that check the type. */
export interface MetricSet<D extends DefList> {
  readonly byName: HandleMap<D>;
  counter<N extends MetricNameOf<D, 'counter'>>(name: N): CounterHandle<LabelNameOf<D, N>>;
  gauge<N extends MetricNameOf<D, 'gauge'>>(name: N): GaugeHandle<LabelNameOf<D, N>>;
  histogram<N extends MetricNameOf<D, 'histogram'>>(name: N): HistogramHandle<LabelNameOf<D, N>>;
}

/** Same as MetricSet but exposing the prom-client objects (get(), reset(), remove(), ...). */
export interface PromMetricSet<D extends DefList> {
  readonly byName: PromMetricMap<D>;
  counter<N extends MetricNameOf<D, 'counter'>>(name: N): Counter<LabelNameOf<D, N>>;
  gauge<N extends MetricNameOf<D, 'gauge'>>(name: N): Gauge<LabelNameOf<D, N>>;
  histogram<N extends MetricNameOf<D, 'histogram'>>(name: N): Histogram<LabelNameOf<D, N>>;
}

export type GaugeCollector<L extends string = string> = (gauge: Gauge<L>) => void | Promise<void>;

/** Scrape-time callbacks for gauges that describe state (sizes, counts, connections). */
export type GaugeCollectors<D extends DefList> =
  Widened<D> extends true
    ? Partial<Record<string, GaugeCollector>>
    : { readonly [M in Extract<D[number], { type: 'gauge' }> as M['name']]?: GaugeCollector<LabelsOf<M>> };

/**
 * Registers one prom-client metric per definition on `registry` only (never prom-client's global
 * registry, so two instances can live in one process). `collectors` wires gauges' `collect()`,
 * which prom-client calls on every scrape; a collector that throws fails the scrape.
 */
export function createMetrics<const D extends DefList>(
  registry: Registry,
  defs: D,
  collectors: GaugeCollectors<D> = {} as GaugeCollectors<D>,
): PromMetricSet<D> {
  const collectorByName = collectors as Partial<Record<string, GaugeCollector>>;
  for (const name of Object.keys(collectorByName)) {
    const def = defs.find((d) => d.name === name);
    if (def?.type !== 'gauge') throw new Error(`Collector given for ${name}, which is not a gauge in these definitions`);
  }
  const set = checkedSet(defs, (def) => build(registry, def, collectorByName[def.name]));
  return set as unknown as PromMetricSet<D>;
}

/** Same interface as createMetrics, but nothing is registered and every method does nothing. */
export function createNoopMetrics<const D extends DefList>(defs: D): MetricSet<D> {
  return checkedSet(defs, () => NOOP_METRIC) as unknown as MetricSet<D>;
}

function build(registry: Registry, def: MetricDef, collect: GaugeCollector | undefined): Counter | Gauge | Histogram {
  const common = { name: def.name, help: def.help, labelNames: [...def.labelNames], registers: [registry] };
  switch (def.type) {
    case 'counter':
      return new CachedCounter(common);
    case 'gauge':
      return new CachedGauge(
        collect
          ? {
              ...common,
              collect() {
                return collect(this);
              },
            }
          : common,
      );
    case 'histogram':
      // Only pass buckets when defined: an explicit `undefined` would not fall back to defaults.
      return new CachedHistogram(def.buckets ? { ...common, buckets: [...def.buckets] } : common);
  }
}

function checkedSet(defs: DefList, make: (def: MetricDef) => unknown) {
  const entries = new Map<string, { type: MetricType; metric: unknown }>();
  for (const def of defs) {
    if (entries.has(def.name)) throw new Error(`Metric ${def.name} is defined twice`);
    entries.set(def.name, { type: def.type, metric: make(def) });
  }
  const get = (name: string, type: MetricType): unknown => {
    const entry = entries.get(name);
    if (!entry) throw new Error(`Unknown metric ${name}`);
    if (entry.type !== type) throw new Error(`Metric ${name} is a ${entry.type}, not a ${type}`);
    return entry.metric;
  };
  return {
    byName: Object.freeze(Object.fromEntries([...entries].map(([name, e]) => [name, e.metric]))),
    counter: (name: string) => get(name, 'counter'),
    gauge: (name: string) => get(name, 'gauge'),
    histogram: (name: string) => get(name, 'histogram'),
  };
}

function noop(): void {}

// One stateless object serves as every no-op counter, gauge, histogram and child.
const NOOP_METRIC: CounterHandle & GaugeHandle & HistogramHandle & GaugeChild & HistogramChild = {
  inc: noop,
  dec: noop,
  set: noop,
  observe: noop,
  startTimer: () => noop,
  labels: () => NOOP_METRIC,
};
