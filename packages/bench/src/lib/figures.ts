import { spread, type Spread } from './stats';

/** One figure of the suite: a value over repeated runs, optionally against a baseline and a target. */
export interface Figure {
  scenario: string;
  name: string;
  unit: string;
  value: Spread;
  baseline?: { name: string; value: Spread };
  /** Per-run value / baseline (runs paired in the order they alternated). */
  ratio?: Spread;
  target?: Target;
  /** One line of context for the table (e.g. the p50 next to a p99 figure). */
  detail?: string;
  extra?: Record<string, unknown>;
}

export interface Target {
  /** As written in the issue, e.g. "≥ 0.85". */
  text: string;
  /** Which median the target applies to. */
  on: 'value' | 'ratio';
  op: '>=' | '<=' | '<';
  threshold: number;
  met: boolean;
}

export function target(text: string, on: 'value' | 'ratio', op: Target['op'], threshold: number): Omit<Target, 'met'> {
  return { text, on, op, threshold };
}

export function figure(f: {
  scenario: string;
  name: string;
  unit: string;
  runs: number[];
  baseline?: { name: string; runs: number[] };
  /** Ratio per pair of runs; defaults to value / baseline. */
  ratioRuns?: number[];
  target?: Omit<Target, 'met'>;
  detail?: string;
  extra?: Record<string, unknown>;
}): Figure {
  const out: Figure = { scenario: f.scenario, name: f.name, unit: f.unit, value: spread(f.runs) };
  if (f.baseline) {
    out.baseline = { name: f.baseline.name, value: spread(f.baseline.runs) };
    const ratios = f.ratioRuns ?? f.runs.map((v, i) => Math.round((v / f.baseline!.runs[i]!) * 1000) / 1000);
    out.ratio = spread(ratios);
  } else if (f.ratioRuns) {
    out.ratio = spread(f.ratioRuns);
  }
  if (f.target) {
    const median = f.target.on === 'ratio' ? out.ratio?.median : out.value.median;
    const t = f.target;
    const met = median !== undefined && Number.isFinite(median) && (t.op === '>=' ? median >= t.threshold : t.op === '<=' ? median <= t.threshold : median < t.threshold);
    out.target = { ...t, met };
  }
  if (f.detail) out.detail = f.detail;
  if (f.extra) out.extra = f.extra;
  return out;
}

/** What every scenario gets: the mode's settings and a sink for its figures. */
export interface Settings {
  quick: boolean;
  /** Seconds of one throughput run. */
  seconds: number;
  /** Runs per side of each comparison (alternating). */
  repeats: number;
}

export interface ScenarioContext {
  settings: Settings;
  add(figure: Figure): void;
  /** Scenario-level facts for the JSON (sizes, settings used). */
  note(key: string, value: unknown): void;
  log(message: string): void;
}

export interface Scenario {
  id: string;
  title: string;
  run(ctx: ScenarioContext): Promise<void>;
}
