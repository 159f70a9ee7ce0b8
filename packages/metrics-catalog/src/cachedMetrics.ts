/**
 * prom-client's Counter and Histogram with a cheaper labelled hot path, same series, same output.
 *
 * prom-client redoes the whole labelled path on every call: a closure per observation, a label
 * check, the label hash, a lookup in the series map, and (histograms) the bucket bound turned into
 * a property name twice. A request touches about fifteen of these. Here each label set gets one
 * child, created by prom-client's own code path on first use and kept: later calls add to that
 * series directly. `labels(...)` returns the kept child, so call sites that hold a child skip even
 * the label hash.
 *
 * What stays true: the first use of a label set goes through prom-client (label names checked,
 * series created exactly as before); values are checked as prom-client checks them; `reset()`,
 * `remove()` and `zero()` drop the children (they replace or delete series). The children are
 * bounded by the series themselves (one per existing series) and by MAX_CHILDREN per metric, past
 * which calls take prom-client's path uncached. Relies on prom-client 15's series layout (the
 * version is pinned); `cachedMetrics.unit.test.ts` checks the output against plain prom-client.
 */
import { Counter, Gauge, Histogram, type CounterConfiguration, type HistogramConfiguration } from 'prom-client';
import type { LabelValues } from './createMetrics';

/** Upper bound on kept children per metric (label caps keep real metrics far below it). */
export const MAX_CHILDREN = 10_000;

type Labels = Record<string, string | number>;
interface CounterSeries {
  value: number;
}
interface HistogramSeries {
  bucketValues: Record<string, number>;
  sum: number;
  count: number;
}
interface Internals<S> {
  hashMap: Record<string, S>;
  sortedLabelNames: readonly string[];
  labelNames: readonly string[];
}

/** The series key prom-client 15 uses (util.hashObject with the sorted label names). */
function seriesKey(sortedNames: readonly string[], labels: Labels): string {
  let key = '';
  for (let i = 0; i < sortedNames.length; i++) {
    const name = sortedNames[i]!;
    const value = labels[name];
    if (value === undefined) continue;
    key += `${name}:${value},`;
  }
  return key;
}

/** prom-client's getLabels: an object as is, or positional values in label-name order. */
function labelsFrom(labelNames: readonly string[], args: unknown[]): Labels {
  if (typeof args[0] === 'object' && args[0] !== null) return args[0] as Labels;
  if (labelNames.length !== args.length) {
    throw new Error(
      `Invalid number of arguments (${args.length}): "${args.join(', ')}" for label names (${labelNames.length}): "${labelNames.join(', ')}".`,
    );
  }
  const labels: Labels = {};
  for (let i = 0; i < labelNames.length; i++) labels[labelNames[i]!] = args[i] as string;
  return labels;
}

/** One label set of a CachedCounter: adds to its series directly once that series exists. */
export class CachedCounterChild {
  private series: CounterSeries | undefined;
  private generation = -1;

  constructor(
    private readonly metric: CachedCounter,
    private readonly key: string,
    private readonly labels: Labels,
  ) {}

  /** Attached to its series, and that series has not been reset or removed since. */
  get attached(): boolean {
    return this.generation === this.metric.generation;
  }

  inc(value?: number): void {
    if (this.generation !== this.metric.generation) {
      // First use, or series were reset/removed since: prom-client's own path, then attach.
      this.metric.slowInc(this.labels, value);
      this.series = this.metric.seriesOf(this.key);
      if (this.series !== undefined) this.generation = this.metric.generation;
      return;
    }
    if (value === undefined || value === null) value = 1;
    else {
      if (value && !Number.isFinite(value)) throw new TypeError(`Value is not a valid number: ${String(value)}`);
      if (value < 0) throw new Error('It is not possible to decrease a counter');
    }
    this.series!.value += value;
  }
}

export class CachedCounter<T extends string = string> extends Counter<T> {
  /** Bumped whenever series are replaced or deleted: children of an older generation re-attach. */
  generation = 0;
  /** prom-client's own labelled inc. */
  readonly slowInc: (labels?: Labels | number, value?: number) => void;
  private readonly children: KeptChildren<CachedCounterChild>;

  constructor(config: CounterConfiguration<T>) {
    super(config);
    this.children = new KeptChildren(this, (key, labels) => new CachedCounterChild(this as CachedCounter, key, labels));
    this.slowInc = this.inc.bind(this) as (labels?: Labels | number, value?: number) => void;
    this.inc = ((labels?: Labels | number, value?: number): void => {
      if (typeof labels === 'object' && labels !== null) this.children.of(labels).inc(value);
      else this.children.of(NO_LABELS).inc(labels);
    }) as Counter<T>['inc'];
  }

  override labels(...args: unknown[]): CachedCounterChild {
    return this.children.of(labelsFrom(internals(this).labelNames, args));
  }

  seriesOf(key: string): CounterSeries | undefined {
    return internals<CounterSeries>(this).hashMap[key];
  }

  override reset(): void {
    super.reset();
    this.generation = (this.generation ?? 0) + 1;
  }

  override remove(...args: unknown[]): void {
    (super.remove as (...a: unknown[]) => void)(...args);
    this.generation++;
  }
}

/** One label set of a CachedHistogram: observes into its series directly once that series exists. */
export class CachedHistogramChild {
  private series: HistogramSeries | undefined;
  private generation = -1;

  constructor(
    private readonly metric: CachedHistogram,
    private readonly key: string,
    private readonly labels: Labels,
  ) {}

  get attached(): boolean {
    return this.generation === this.metric.generation;
  }

  observe(value: number): void {
    if (this.generation !== this.metric.generation) {
      this.metric.slowObserve(this.labels, value);
      this.series = this.metric.seriesOf(this.key);
      if (this.series !== undefined) this.generation = this.metric.generation;
      return;
    }
    if (!Number.isFinite(value)) throw new TypeError(`Value is not a valid number: ${String(value)}`);
    const bounds = this.metric.bounds;
    for (let i = 0; i < bounds.length; i++) {
      if (value <= bounds[i]!) {
        this.series!.bucketValues[this.metric.boundKeys[i]!]! += 1;
        break;
      }
    }
    this.series!.sum += value;
    this.series!.count += 1;
  }

  startTimer(): (labels?: LabelValues) => number {
    const started = performance.now();
    return (labels) => {
      const seconds = (performance.now() - started) / 1000;
      if (labels && Object.keys(labels).length > 0) this.metric.observe({ ...this.labels, ...labels }, seconds);
      else this.observe(seconds);
      return seconds;
    };
  }
}

export class CachedHistogram<T extends string = string> extends Histogram<T> {
  generation = 0;
  /** The bucket bounds, and each as prom-client's property name for it. */
  readonly bounds: readonly number[];
  readonly boundKeys: readonly string[];
  /** prom-client's own observe. */
  readonly slowObserve: (labels: Labels | number, value?: number) => void;
  private readonly children: KeptChildren<CachedHistogramChild>;

  constructor(config: HistogramConfiguration<T>) {
    super(config);
    this.children = new KeptChildren(this, (key, labels) => new CachedHistogramChild(this as CachedHistogram, key, labels));
    this.bounds = (this as unknown as { upperBounds: readonly number[] }).upperBounds;
    this.boundKeys = this.bounds.map((b) => String(b));
    this.slowObserve = this.observe.bind(this) as (labels: Labels | number, value?: number) => void;
    this.observe = ((labels: Labels | number, value?: number): void => {
      if (typeof labels === 'object' && labels !== null) this.children.of(labels).observe(value!);
      else this.children.of(NO_LABELS).observe(labels);
    }) as Histogram<T>['observe'];
  }

  override labels(...args: unknown[]): CachedHistogramChild {
    return this.children.of(labelsFrom(internals(this).labelNames, args));
  }

  seriesOf(key: string): HistogramSeries | undefined {
    return internals<HistogramSeries>(this).hashMap[key];
  }

  override reset(): void {
    super.reset();
    this.generation = (this.generation ?? 0) + 1;
  }

  override remove(...args: unknown[]): void {
    (super.remove as (...a: unknown[]) => void)(...args);
    this.generation++;
  }

  override zero(labels: LabelValues<T>): void {
    super.zero(labels as Parameters<Histogram<T>['zero']>[0]);
    this.generation++;
  }
}

/** The children of one metric by series key, at most MAX_CHILDREN. */
class KeptChildren<C extends { readonly attached: boolean }> {
  private readonly byKey = new Map<string, C>();

  constructor(
    private readonly metric: object,
    private readonly make: (key: string, labels: Labels) => C,
  ) {}

  /** The kept child of `labels` while it is attached to its series; else a new one (kept while there is room). */
  of(labels: Labels): C {
    const key = seriesKey(internals(this.metric).sortedLabelNames, labels);
    const kept = this.byKey.get(key);
    if (kept !== undefined && kept.attached) return kept;
    // A series not created yet, or replaced since: the caller's labels create it, as in prom-client.
    const child = this.make(key, labels);
    if (kept !== undefined || this.byKey.size < MAX_CHILDREN) this.byKey.set(key, child);
    return child;
  }

  get size(): number {
    return this.byKey.size;
  }
}

const NO_LABELS: Labels = Object.freeze({}) as Labels;

function internals<S = unknown>(metric: object): Internals<S> {
  return metric as unknown as Internals<S>;
}

/**
 * prom-client's Gauge with a direct path for `inc()` / `dec()` without labels (the in-flight
 * gauge moves twice per request): it adds to the unlabelled series as prom-client does, skipping
 * the label object, label check and hash. Labelled calls and set() are prom-client's own (set()
 * replaces the series object, so nothing is kept: the series is looked up on each call).
 */
export class CachedGauge<T extends string = string> extends Gauge<T> {
  override inc(labels?: LabelValues<T> | number, value?: number): void {
    if (typeof labels !== 'object' || labels === null) {
      const series = internals<{ value: number }>(this).hashMap[''];
      const delta = labels === undefined ? 1 : labels;
      if (series !== undefined && typeof delta === 'number') {
        series.value += delta;
        return;
      }
    }
    (super.inc as (labels?: unknown, value?: number) => void)(labels, value);
  }

  override dec(labels?: LabelValues<T> | number, value?: number): void {
    if (typeof labels !== 'object' || labels === null) {
      const series = internals<{ value: number }>(this).hashMap[''];
      const delta = labels === undefined ? 1 : labels;
      if (series !== undefined && typeof delta === 'number') {
        series.value -= delta;
        return;
      }
    }
    (super.dec as (labels?: unknown, value?: number) => void)(labels, value);
  }
}
