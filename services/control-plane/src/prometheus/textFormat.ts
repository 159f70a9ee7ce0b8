/**
 * A parser of the Prometheus text exposition format (version 0.0.4), the format every core node's
 * `/metrics` answers (prom-client's `registry.metrics()`).
 *
 * Why our own: the npm package `parse-prometheus-text-format` (the only small parser on npm) files
 * every `_bucket`/`_sum`/`_count` sample of a histogram into one group per family, so a labelled
 * histogram (`allsource_query_duration_seconds{query_type=...}`) comes out with the buckets of all
 * its label sets mixed; it also drops timestamps and is unmaintained. The official parsers live in
 * Go (prometheus/common/expfmt). The format is small and line-oriented, so this module implements
 * it completely and is unit-tested line by line (textFormat.unit.test.ts) against the rules of
 * https://prometheus.io/docs/instrumenting/exposition_formats/ and expfmt's behaviour:
 *
 * - `# HELP name text` (escapes `\\` and `\n`), `# TYPE name counter|gauge|histogram|summary|untyped`;
 *   other `#` lines are comments; blank lines are ignored; `\r\n` line ends are accepted.
 * - `name{label="value",...} value [timestamp_ms]`: label values escape `\\`, `\"` and `\n`; a
 *   trailing comma in the label list is allowed; whitespace is allowed around tokens.
 * - Values: decimal / exponent floats, `NaN`, `+Inf`, `-Inf`, `Inf` (any case, as Go's ParseFloat).
 * - A histogram family `x` owns `x_bucket` (with `le`), `x_sum` and `x_count`; a summary `x` owns
 *   `x` (with `quantile`), `x_sum` and `x_count`. Samples are grouped into series by their full
 *   label set, so labelled histograms never mix.
 * - Anything else is an error naming the line: a body that is not the format fails the scrape
 *   instead of yielding made-up numbers.
 */

export type MetricKind = 'counter' | 'gauge' | 'histogram' | 'summary' | 'untyped';

export interface Sample {
  /** The sample's own name (`x_bucket`, `x_sum`, ... for histograms). */
  name: string;
  labels: Readonly<Record<string, string>>;
  value: number;
  /** Milliseconds since the epoch, when the exposition gave one. */
  timestampMs?: number;
}

export interface MetricFamily {
  name: string;
  type: MetricKind;
  help?: string;
  samples: Sample[];
}

export class ExpositionParseError extends Error {
  constructor(
    readonly line: number,
    message: string,
  ) {
    super(`line ${line}: ${message}`);
    this.name = 'ExpositionParseError';
  }
}

export interface ParseOptions {
  /** Refuse bodies with more samples than this (a guard against absurd answers). Default 1 000 000. */
  maxSamples?: number;
}

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const KINDS: ReadonlySet<string> = new Set(['counter', 'gauge', 'histogram', 'summary', 'untyped']);

/** Parses a float the way Go's strconv.ParseFloat does for exposition values. */
export function parseFloatValue(raw: string): number | undefined {
  const lower = raw.toLowerCase();
  switch (lower) {
    case 'nan':
    case '+nan':
    case '-nan':
      return NaN;
    case 'inf':
    case '+inf':
    case 'infinity':
    case '+infinity':
      return Infinity;
    case '-inf':
    case '-infinity':
      return -Infinity;
  }
  // Number('') is 0 and Number('0x10') is 16: accept only decimal float syntax.
  if (!/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(raw)) return undefined;
  return Number(raw);
}

/** The family a sample name belongs to, given the families declared so far by `# TYPE`. */
function familyOf(sampleName: string, declared: ReadonlyMap<string, MetricFamily>): MetricFamily | undefined {
  const exact = declared.get(sampleName);
  if (exact && exact.type !== 'histogram') return exact;
  for (const suffix of ['_bucket', '_sum', '_count']) {
    if (!sampleName.endsWith(suffix)) continue;
    const base = declared.get(sampleName.slice(0, -suffix.length));
    if (!base) continue;
    if (base.type === 'histogram') return base;
    if (base.type === 'summary' && suffix !== '_bucket') return base;
  }
  return exact;
}

/** Parses `{a="x",b="y"}` starting at `text[start] === '{'`; returns the labels and the index after `}`. */
function parseLabels(text: string, start: number, line: number): { labels: Record<string, string>; end: number } {
  const labels: Record<string, string> = {};
  let i = start + 1;
  const n = text.length;
  const skipSpaces = (): void => {
    while (i < n && (text[i] === ' ' || text[i] === '\t')) i++;
  };
  for (;;) {
    skipSpaces();
    if (i >= n) throw new ExpositionParseError(line, 'unterminated label set');
    if (text[i] === '}') return { labels, end: i + 1 };
    const nameStart = i;
    while (i < n && isNameChar(text.charCodeAt(i), false)) i++;
    const name = text.slice(nameStart, i);
    if (!LABEL_NAME.test(name)) throw new ExpositionParseError(line, `invalid label name '${name || text[i] || ''}'`);
    skipSpaces();
    if (text[i] !== '=') throw new ExpositionParseError(line, `expected '=' after label '${name}'`);
    i++;
    skipSpaces();
    if (text[i] !== '"') throw new ExpositionParseError(line, `expected '"' to open the value of label '${name}'`);
    i++;
    let value = '';
    let closed = false;
    while (i < n) {
      // Copy the run up to the next quote or backslash in one slice.
      let j = i;
      while (j < n) {
        const code = text.charCodeAt(j);
        if (code === 34 || code === 92) break;
        j++;
      }
      if (j > i) {
        value += text.slice(i, j);
        i = j;
        if (i >= n) break;
      }
      const c = text[i]!;
      if (c === '\\') {
        const next = text[i + 1];
        if (next === 'n') value += '\n';
        else if (next === '\\') value += '\\';
        else if (next === '"') value += '"';
        else throw new ExpositionParseError(line, `invalid escape '\\${next ?? ''}' in the value of label '${name}'`);
        i += 2;
        continue;
      }
      if (c === '"') {
        closed = true;
        i++;
        break;
      }
      value += c;
      i++;
    }
    if (!closed) throw new ExpositionParseError(line, `unterminated value of label '${name}'`);
    if (Object.prototype.hasOwnProperty.call(labels, name)) throw new ExpositionParseError(line, `duplicate label '${name}'`);
    // A label called __proto__ must stay a plain property.
    if (name === '__proto__') Object.defineProperty(labels, name, { value, enumerable: true, writable: true, configurable: true });
    else labels[name] = value;
    skipSpaces();
    if (text[i] === ',') {
      i++;
      continue;
    }
    if (text[i] === '}') return { labels, end: i + 1 };
    throw new ExpositionParseError(line, `expected ',' or '}' after the value of label '${name}'`);
  }
}

/** [a-zA-Z0-9_] (and ':' in metric names). */
function isNameChar(c: number, colon: boolean): boolean {
  return (
    (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || (c >= 48 && c <= 57) || c === 95 || (colon && c === 58)
  );
}

function unescapeHelp(text: string): string {
  return text.replace(/\\(\\|n)/g, (_m, c: string) => (c === 'n' ? '\n' : '\\'));
}

/**
 * Parses a whole exposition body into families, in the order they first appear. Samples without
 * a `# TYPE` become `untyped` families of their own name.
 */
export function parseExposition(body: string, options: ParseOptions = {}): MetricFamily[] {
  const maxSamples = options.maxSamples ?? 1_000_000;
  const families = new Map<string, MetricFamily>();
  let samples = 0;
  let lineNo = 0;
  let pos = 0;
  const len = body.length;
  while (pos < len) {
    let nl = body.indexOf('\n', pos);
    if (nl < 0) nl = len;
    let line = body.slice(pos, nl);
    pos = nl + 1;
    lineNo++;
    if (line.endsWith('\r')) line = line.slice(0, -1);
    const trimmed = line.trim();
    if (trimmed === '') continue;

    if (trimmed.startsWith('#')) {
      const m = /^#\s+(HELP|TYPE)\s+(\S+)(?:\s(.*))?$/.exec(trimmed);
      if (!m) continue; // a plain comment (or `# EOF` of OpenMetrics)
      const [, keyword, name, rest = ''] = m as unknown as [string, string, string, string | undefined];
      if (!METRIC_NAME.test(name)) throw new ExpositionParseError(lineNo, `invalid metric name '${name}'`);
      let family = families.get(name);
      if (keyword === 'TYPE') {
        const kind = rest.trim();
        if (!KINDS.has(kind)) throw new ExpositionParseError(lineNo, `unknown metric type '${kind}'`);
        if (family) {
          if (family.samples.length > 0 || family.type !== 'untyped') {
            throw new ExpositionParseError(lineNo, `second TYPE line for '${name}'`);
          }
          family.type = kind as MetricKind;
        } else {
          families.set(name, { name, type: kind as MetricKind, samples: [] });
        }
      } else {
        if (!family) {
          family = { name, type: 'untyped', samples: [] };
          families.set(name, family);
        }
        family.help = unescapeHelp(rest.replace(/^\s+/, ''));
      }
      continue;
    }

    // A sample line.
    let i = 0;
    const n = trimmed.length;
    while (i < n && isNameChar(trimmed.charCodeAt(i), true)) i++;
    const name = trimmed.slice(0, i);
    if (!METRIC_NAME.test(name)) throw new ExpositionParseError(lineNo, `invalid metric name in '${clip(trimmed)}'`);
    let labels: Record<string, string> = {};
    while (i < n && (trimmed[i] === ' ' || trimmed[i] === '\t')) i++;
    if (trimmed[i] === '{') {
      const parsed = parseLabels(trimmed, i, lineNo);
      labels = parsed.labels;
      i = parsed.end;
    }
    const rest = trimmed.slice(i).trim().split(/[ \t]+/);
    if (rest.length < 1 || rest[0] === '' || rest.length > 2) {
      throw new ExpositionParseError(lineNo, `expected 'value [timestamp]' in '${clip(trimmed)}'`);
    }
    const value = parseFloatValue(rest[0]!);
    if (value === undefined) throw new ExpositionParseError(lineNo, `invalid value '${clip(rest[0]!)}'`);
    let timestampMs: number | undefined;
    if (rest.length === 2) {
      const ts = rest[1]!;
      if (!/^-?\d+$/.test(ts)) throw new ExpositionParseError(lineNo, `invalid timestamp '${clip(ts)}'`);
      timestampMs = Number(ts);
    }

    let family = familyOf(name, families);
    if (!family) {
      family = { name, type: 'untyped', samples: [] };
      families.set(name, family);
    }
    if (family.type === 'histogram') {
      if (name === family.name) throw new ExpositionParseError(lineNo, `histogram '${name}' has a sample without _bucket/_sum/_count`);
      if (name === `${family.name}_bucket`) {
        const le = labels['le'];
        if (le === undefined) throw new ExpositionParseError(lineNo, `histogram bucket '${name}' without an 'le' label`);
        if (parseFloatValue(le) === undefined) throw new ExpositionParseError(lineNo, `invalid 'le' value '${clip(le)}'`);
      }
    }
    if (family.type === 'summary' && name === family.name) {
      const q = labels['quantile'];
      if (q === undefined || parseFloatValue(q) === undefined) {
        throw new ExpositionParseError(lineNo, `summary sample '${name}' without a valid 'quantile' label`);
      }
    }
    if (++samples > maxSamples) throw new ExpositionParseError(lineNo, `more than ${maxSamples} samples`);
    const sample: Sample = { name, labels, value };
    if (timestampMs !== undefined) sample.timestampMs = timestampMs;
    family.samples.push(sample);
  }
  return [...families.values()];
}

function clip(text: string): string {
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

/** A stable key of a label set (sorted by name), `except` names left out. */
export function labelKey(labels: Readonly<Record<string, string>>, except: readonly string[] = []): string {
  const names = Object.keys(labels)
    .filter((k) => !except.includes(k))
    .sort();
  return names.map((k) => `${k}=${JSON.stringify(labels[k])}`).join(',');
}

export interface HistogramBucket {
  /** Upper bound (`le`), `Infinity` for `+Inf`. */
  le: number;
  /** Cumulative count of observations ≤ le. */
  count: number;
}

/** One series of a histogram family: its labels (without `le`), buckets, sum and count. */
export interface HistogramSeries {
  labels: Record<string, string>;
  key: string;
  buckets: HistogramBucket[];
  sum: number;
  count: number;
}

/** Groups a histogram family's samples into series by their labels (without `le`). */
export function histogramSeries(family: MetricFamily): HistogramSeries[] {
  if (family.type !== 'histogram') return [];
  const byKey = new Map<string, HistogramSeries>();
  const get = (labels: Readonly<Record<string, string>>): HistogramSeries => {
    const key = labelKey(labels, ['le']);
    let series = byKey.get(key);
    if (!series) {
      const own: Record<string, string> = {};
      for (const [k, v] of Object.entries(labels)) if (k !== 'le') own[k] = v;
      series = { labels: own, key, buckets: [], sum: NaN, count: NaN };
      byKey.set(key, series);
    }
    return series;
  };
  for (const s of family.samples) {
    const series = get(s.labels);
    if (s.name === `${family.name}_bucket`) series.buckets.push({ le: parseFloatValue(s.labels['le']!)!, count: s.value });
    else if (s.name === `${family.name}_sum`) series.sum = s.value;
    else if (s.name === `${family.name}_count`) series.count = s.value;
  }
  for (const series of byKey.values()) series.buckets.sort((a, b) => a.le - b.le);
  return [...byKey.values()];
}
