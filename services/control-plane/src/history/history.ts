/**
 * Embedded history of the derived series, one series per core node plus one for the cluster.
 *
 * - raw: one point per scrape for HISTORY_RAW_RETENTION_MS (24 h), at most HISTORY_MAX_RAW_POINTS
 *   points per series (a fast scrape interval shortens the raw window instead of growing memory);
 * - rollup: one point per HISTORY_ROLLUP_STEP_MS (5 min) for HISTORY_ROLLUP_RETENTION_MS (30 d).
 *   A rollup point is computed from the increases summed over its whole bucket (rates over 5 min,
 *   quantiles from the 5-minute bucket increases, like PromQL over `[5m]`), not by averaging
 *   averages; gauges keep their last value in the bucket.
 *
 * Everything lives in preallocated typed arrays (see SeriesRing), so memory is fixed at start:
 * `memoryBytes()` reports it. The whole history is written atomically to one snapshot file in the
 * data folder (periodically and on shutdown) and read back at start, so a restart keeps it.
 */
import { createHash } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { DERIVED_METRICS, computeAll } from '../derive/derivedMetrics';
import { addIncrease, emptyGauges, zeroIncrease, type Gauges, type Increase } from '../derive/coreSample';
import { SeriesRing } from './seriesRing';

export const CLUSTER_SERIES = 'cluster';
const MAGIC = Buffer.from('ACPHIST1', 'latin1');
const FORMAT_VERSION = 1;
export const SNAPSHOT_FILE = 'history.bin';

export interface HistoryOptions {
  /** Series ids: the node ids (the cluster series is added). */
  nodeIds: readonly string[];
  scrapeIntervalMs: number;
  rawRetentionMs: number;
  maxRawPoints: number;
  rollupStepMs: number;
  rollupRetentionMs: number;
}

export interface Datapoint {
  timestamp: number;
  value: number | null;
}

interface Accumulator {
  bucketStart: number;
  inc: Increase;
  gauges: Gauges | null;
  /** Whether any increase was added (rates undefined otherwise). */
  hasIncrease: boolean;
}

class SeriesHistory {
  readonly raw: SeriesRing;
  readonly rollup: SeriesRing;
  acc: Accumulator | null = null;

  constructor(rawCapacity: number, rollupCapacity: number) {
    this.raw = new SeriesRing(rawCapacity, DERIVED_METRICS.length);
    this.rollup = new SeriesRing(rollupCapacity, DERIVED_METRICS.length);
  }
}

export class History {
  private readonly series = new Map<string, SeriesHistory>();
  readonly rawCapacity: number;
  readonly rollupCapacity: number;

  constructor(readonly options: HistoryOptions) {
    this.rawCapacity = Math.max(2, Math.min(Math.ceil(options.rawRetentionMs / options.scrapeIntervalMs) + 1, options.maxRawPoints));
    this.rollupCapacity = Math.ceil(options.rollupRetentionMs / options.rollupStepMs) + 1;
    for (const id of [CLUSTER_SERIES, ...options.nodeIds]) this.series.set(id, new SeriesHistory(this.rawCapacity, this.rollupCapacity));
  }

  /** Bytes of all preallocated rings. */
  memoryBytes(): number {
    let total = 0;
    for (const s of this.series.values()) total += s.raw.bytes + s.rollup.bytes;
    return total;
  }

  /** The time span the raw rings can hold at the configured scrape interval. */
  get rawWindowMs(): number {
    return Math.min(this.options.rawRetentionMs, (this.rawCapacity - 1) * this.options.scrapeIntervalMs);
  }

  has(id: string): boolean {
    return this.series.has(id);
  }

  seriesIds(): string[] {
    return [...this.series.keys()];
  }

  /**
   * Records one scrape-resolution point of series `id` at time `t`: `inc` is the increase since
   * the series' previous point (null right after a start, when only gauges are known).
   */
  record(id: string, t: number, inc: Increase | null, gauges: Gauges | null): void {
    const s = this.series.get(id);
    if (!s) return;
    if (!s.raw.push(t, computeAll(inc, gauges))) return;
    const step = this.options.rollupStepMs;
    const bucket = Math.floor(t / step) * step;
    if (s.acc && s.acc.bucketStart !== bucket) this.closeBucket(s);
    s.acc ??= { bucketStart: bucket, inc: zeroIncrease(), gauges: null, hasIncrease: false };
    if (inc) {
      addIncrease(s.acc.inc, inc);
      s.acc.hasIncrease = true;
    }
    if (gauges) s.acc.gauges = { ...gauges };
    this.expire(s, t);
  }

  private closeBucket(s: SeriesHistory): void {
    const acc = s.acc;
    if (!acc) return;
    s.rollup.push(acc.bucketStart, computeAll(acc.hasIncrease && acc.inc.seconds > 0 ? acc.inc : null, acc.gauges));
    s.acc = null;
  }

  private expire(s: SeriesHistory, now: number): void {
    s.raw.dropBefore(now - this.options.rawRetentionMs);
    s.rollup.dropBefore(now - this.options.rollupRetentionMs);
  }

  /** The resolution a query over [from, to] is served at: scrape interval, or the rollup step when raw points do not reach back to `from`. */
  nativeStepMs(id: string, from: number): number {
    const s = this.series.get(id);
    if (!s) return this.options.scrapeIntervalMs;
    const oldestRaw = s.raw.oldest ?? Infinity;
    const i = s.rollup.lowerBound(from);
    // A rollup bucket is only needed where it ends before the raw points begin (one that straddles
    // the oldest raw point, e.g. the first bucket after a start, is covered by the raw points).
    const rollupNeeded = i < s.rollup.size && s.rollup.timeAt(i) + this.options.rollupStepMs <= oldestRaw;
    return rollupNeeded ? this.options.rollupStepMs : this.options.scrapeIntervalMs;
  }

  /**
   * Points of one metric of series `id` in [from, to]: rollup points where raw points do not reach,
   * raw points after. With `stepMs` above the native resolution, points are grouped into
   * step-aligned buckets (timestamp = bucket start): the mean of the bucket's values, or the last
   * value for gauges. NaN (undefined) values come out as null.
   */
  query(id: string, metricIndex: number, from: number, to: number, stepMs: number | null): Datapoint[] {
    const s = this.series.get(id);
    const def = DERIVED_METRICS[metricIndex];
    if (!s || !def) return [];
    const points: Datapoint[] = [];
    const oldestRaw = s.raw.oldest ?? Infinity;
    for (let i = s.rollup.lowerBound(from); i < s.rollup.size; i++) {
      const t = s.rollup.timeAt(i);
      if (t > to || t + this.options.rollupStepMs > oldestRaw) break;
      points.push({ timestamp: t, value: nullable(s.rollup.valueAt(i, metricIndex)) });
    }
    for (let i = s.raw.lowerBound(from); i < s.raw.size; i++) {
      const t = s.raw.timeAt(i);
      if (t > to) break;
      points.push({ timestamp: t, value: nullable(s.raw.valueAt(i, metricIndex)) });
    }
    if (stepMs === null || stepMs <= this.nativeStepMs(id, from)) return points;
    return resample(points, stepMs, def.kind === 'gauge');
  }

  // --- persistence ----------------------------------------------------------------------------

  /** Serialises the whole history (see the file layout in docs/control-plane.md). */
  serialize(savedAt: number): Buffer {
    const chunks: Buffer[] = [];
    let offset = 0;
    const addArray = (arr: Float64Array): number => {
      const at = offset;
      const buf = Buffer.from(arr.buffer, arr.byteOffset, arr.byteLength);
      chunks.push(buf);
      offset += buf.byteLength;
      return at;
    };
    const seriesHeaders = [];
    for (const [id, s] of this.series) {
      const raw = s.raw.exportArrays();
      const rollup = s.rollup.exportArrays();
      seriesHeaders.push({
        id,
        raw: { points: raw.timestamps.length, timestamps: addArray(raw.timestamps), values: addArray(raw.values) },
        rollup: { points: rollup.timestamps.length, timestamps: addArray(rollup.timestamps), values: addArray(rollup.values) },
        acc: s.acc ? serializeAcc(s.acc) : null,
      });
    }
    const header = Buffer.from(
      JSON.stringify({
        version: FORMAT_VERSION,
        endianness: os.endianness(),
        saved_at: savedAt,
        metrics: DERIVED_METRICS.map((m) => m.name),
        scrape_interval_ms: this.options.scrapeIntervalMs,
        rollup_step_ms: this.options.rollupStepMs,
        series: seriesHeaders,
      }),
      'utf8',
    );
    const len = Buffer.alloc(4);
    len.writeUInt32LE(header.byteLength);
    const body = Buffer.concat([MAGIC, len, header, ...chunks]);
    return Buffer.concat([body, createHash('sha256').update(body).digest()]);
  }

  /** Writes the snapshot atomically: temp file, fsync, rename, fsync of the folder. */
  async save(dir: string, now = Date.now()): Promise<{ file: string; bytes: number }> {
    await fsp.mkdir(dir, { recursive: true });
    const file = path.join(dir, SNAPSHOT_FILE);
    const tmp = `${file}.${process.pid}.tmp`;
    const data = this.serialize(now);
    const handle = await fsp.open(tmp, 'w', 0o644);
    try {
      await handle.writeFile(data);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await fsp.rename(tmp, file);
    const dirHandle = await fsp.open(dir, 'r').catch(() => undefined);
    if (dirHandle) {
      await dirHandle.sync().catch(() => undefined);
      await dirHandle.close();
    }
    return { file, bytes: data.byteLength };
  }

  /**
   * Loads a snapshot written by `save` into this (empty) history: series of nodes no longer
   * configured are dropped, metrics are matched by name, points past retention are skipped.
   * Returns the number of points loaded; throws on a damaged file.
   */
  loadBuffer(data: Buffer, now = Date.now()): number {
    if (data.byteLength < MAGIC.byteLength + 4 + 32 || !data.subarray(0, MAGIC.byteLength).equals(MAGIC)) {
      throw new Error('not a control-plane history snapshot');
    }
    const body = data.subarray(0, data.byteLength - 32);
    if (!createHash('sha256').update(body).digest().equals(data.subarray(data.byteLength - 32))) {
      throw new Error('history snapshot checksum mismatch');
    }
    const headerLen = body.readUInt32LE(MAGIC.byteLength);
    const headerStart = MAGIC.byteLength + 4;
    const header = JSON.parse(body.subarray(headerStart, headerStart + headerLen).toString('utf8')) as SnapshotHeader;
    if (header.version !== FORMAT_VERSION) throw new Error(`unsupported history snapshot version ${header.version}`);
    if (header.endianness !== os.endianness()) throw new Error('history snapshot written on a machine of other endianness');
    const payload = body.subarray(headerStart + headerLen);
    const width = header.metrics.length;
    const map = DERIVED_METRICS.map((m) => header.metrics.indexOf(m.name));
    const readArray = (offset: number, length: number): Float64Array => {
      const bytes = length * 8;
      if (offset < 0 || offset + bytes > payload.byteLength) throw new Error('history snapshot is truncated');
      const copy = new Float64Array(length);
      Buffer.from(copy.buffer).set(payload.subarray(offset, offset + bytes));
      return copy;
    };
    let loaded = 0;
    const row = new Float64Array(DERIVED_METRICS.length);
    const fill = (ring: SeriesRing, part: SnapshotRing, minTime: number): void => {
      const ts = readArray(part.timestamps, part.points);
      const vals = readArray(part.values, part.points * width);
      for (let i = 0; i < part.points; i++) {
        const t = ts[i]!;
        if (t < minTime) continue;
        for (let m = 0; m < row.length; m++) row[m] = map[m]! >= 0 ? vals[i * width + map[m]!]! : NaN;
        if (ring.push(t, row)) loaded++;
      }
    };
    for (const sh of header.series) {
      const s = this.series.get(sh.id);
      if (!s) continue;
      fill(s.raw, sh.raw, now - this.options.rawRetentionMs);
      fill(s.rollup, sh.rollup, now - this.options.rollupRetentionMs);
      if (sh.acc && header.rollup_step_ms === this.options.rollupStepMs) s.acc = deserializeAcc(sh.acc);
    }
    return loaded;
  }

  /** Loads `dir/history.bin` if present; returns the points loaded (0 when there is no file). */
  async load(dir: string, now = Date.now()): Promise<number> {
    // Temp files of a snapshot interrupted by a crash are garbage: the rename never happened.
    const names = await fsp.readdir(dir).catch(() => [] as string[]);
    for (const name of names) {
      if (name.startsWith(`${SNAPSHOT_FILE}.`) && name.endsWith('.tmp')) await fsp.rm(path.join(dir, name), { force: true });
    }
    let data: Buffer;
    try {
      data = await fsp.readFile(path.join(dir, SNAPSHOT_FILE));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return 0;
      throw err;
    }
    return this.loadBuffer(data, now);
  }
}

interface SnapshotRing {
  points: number;
  timestamps: number;
  values: number;
}

interface SnapshotHeader {
  version: number;
  endianness: string;
  saved_at: number;
  metrics: string[];
  scrape_interval_ms: number;
  rollup_step_ms: number;
  series: Array<{ id: string; raw: SnapshotRing; rollup: SnapshotRing; acc: SerializedAcc | null }>;
}

interface SerializedAcc {
  bucket_start: number;
  has_increase: boolean;
  inc: Record<string, number | Array<[number, number]>>;
  gauges: Gauges | null;
}

function serializeAcc(acc: Accumulator): SerializedAcc {
  const inc: Record<string, number | Array<[number, number]>> = {};
  for (const [k, v] of Object.entries(acc.inc)) {
    // JSON has no Infinity: the +Inf bucket's bound is written as null.
    inc[k] = v instanceof Map ? [...(v as Map<number, number>)].map(([le, c]) => [Number.isFinite(le) ? le : (null as unknown as number), c]) : (v as number);
  }
  return { bucket_start: acc.bucketStart, has_increase: acc.hasIncrease, inc, gauges: acc.gauges };
}

function deserializeAcc(raw: SerializedAcc): Accumulator {
  const inc = zeroIncrease();
  const target = inc as unknown as Record<string, unknown>;
  for (const [k, v] of Object.entries(raw.inc)) {
    if (!(k in target)) continue;
    if (Array.isArray(v)) target[k] = new Map(v.map(([le, c]) => [le === null ? Infinity : le, c]));
    else if (typeof v === 'number') target[k] = v;
  }
  return { bucketStart: raw.bucket_start, inc, gauges: raw.gauges ? { ...emptyGauges(), ...raw.gauges } : null, hasIncrease: raw.has_increase };
}

function nullable(v: number): number | null {
  return Number.isFinite(v) ? v : null;
}

/** Groups points into step-aligned buckets (timestamp = bucket start). */
export function resample(points: readonly Datapoint[], stepMs: number, last: boolean): Datapoint[] {
  const out: Datapoint[] = [];
  let bucket = NaN;
  let sum = 0;
  let n = 0;
  let lastValue: number | null = null;
  const flush = (): void => {
    if (Number.isNaN(bucket)) return;
    out.push({ timestamp: bucket, value: last ? lastValue : n > 0 ? sum / n : null });
  };
  for (const p of points) {
    const b = Math.floor(p.timestamp / stepMs) * stepMs;
    if (b !== bucket) {
      flush();
      bucket = b;
      sum = 0;
      n = 0;
      lastValue = null;
    }
    if (p.value !== null) {
      sum += p.value;
      n++;
      lastValue = p.value;
    }
  }
  flush();
  return out;
}
