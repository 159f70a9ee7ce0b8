import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { emptyGauges, zeroIncrease, type Increase } from '../derive/coreSample';
import { DERIVED_METRICS, derivedMetric } from '../derive/derivedMetrics';
import { CLUSTER_SERIES, History, SNAPSHOT_FILE, resample, type HistoryOptions } from './history';
import { SeriesRing } from './seriesRing';

const idx = (name: string): number => derivedMetric(name)!.index;

const opts = (over: Partial<HistoryOptions> = {}): HistoryOptions => ({
  nodeIds: ['n1'],
  scrapeIntervalMs: 1000,
  rawRetentionMs: 60_000,
  maxRawPoints: 1000,
  rollupStepMs: 10_000,
  rollupRetentionMs: 600_000,
  ...over,
});

const inc = (seconds: number, ingested: number, queryBuckets?: Array<[number, number]>): Increase => {
  const i = zeroIncrease(seconds);
  i.ingested = ingested;
  for (const [le, c] of queryBuckets ?? []) i.queryBuckets.set(le, c);
  return i;
};

describe('SeriesRing', () => {
  it('keeps the newest `capacity` points in order and ignores out-of-order ones', () => {
    const r = new SeriesRing(3, 2);
    for (let t = 1; t <= 5; t++) expect(r.push(t, [t, t * 10])).toBe(true);
    expect(r.push(5, [0, 0])).toBe(false);
    expect(r.size).toBe(3);
    expect([0, 1, 2].map((i) => [r.timeAt(i), r.valueAt(i, 1)])).toEqual([
      [3, 30],
      [4, 40],
      [5, 50],
    ]);
    expect(r.lowerBound(4)).toBe(1);
    expect(r.lowerBound(0)).toBe(0);
    expect(r.lowerBound(9)).toBe(3);
    r.dropBefore(5);
    expect(r.size).toBe(1);
    expect(r.exportArrays().timestamps).toEqual(new Float64Array([5]));
    expect(r.bytes).toBe(3 * 8 + 3 * 2 * 8);
  });
});

describe('History', () => {
  it('allocates a fixed memory bound: raw points = min(retention / interval + 1, max), rollup = retention / step + 1', () => {
    const h = new History(opts({ nodeIds: ['a', 'b'] }));
    expect(h.rawCapacity).toBe(61);
    expect(h.rollupCapacity).toBe(61);
    const perPoint = (DERIVED_METRICS.length + 1) * 8;
    expect(h.memoryBytes()).toBe(3 * (61 + 61) * perPoint);
    // Defaults: 24 h at 15 s and 30 d at 5 min.
    const d = new History(opts({ scrapeIntervalMs: 15_000, rawRetentionMs: 86_400_000, maxRawPoints: 20_000, rollupStepMs: 300_000, rollupRetentionMs: 30 * 86_400_000 }));
    expect(d.rawCapacity).toBe(5761);
    expect(d.rollupCapacity).toBe(8641);
    // A fast interval is capped by the point budget instead of growing memory.
    expect(new History(opts({ scrapeIntervalMs: 100, rawRetentionMs: 86_400_000, maxRawPoints: 500 })).rawCapacity).toBe(500);
  });

  it('serves raw points at scrape resolution with null for undefined values', () => {
    const h = new History(opts());
    h.record('n1', 1000, null, { ...emptyGauges(), events_stored: 5 });
    h.record('n1', 2000, inc(1, 10), { ...emptyGauges(), events_stored: 15 });
    h.record('n1', 3000, inc(1, 4), { ...emptyGauges(), events_stored: 19 });
    expect(h.query('n1', idx('ingestion_rate'), 0, 10_000, null)).toEqual([
      { timestamp: 1000, value: null },
      { timestamp: 2000, value: 10 },
      { timestamp: 3000, value: 4 },
    ]);
    expect(h.query('n1', idx('events_stored'), 1500, 10_000, null).map((p) => p.value)).toEqual([15, 19]);
    expect(h.query('n1', idx('query_latency_p95_ms'), 0, 10_000, null).map((p) => p.value)).toEqual([null, null, null]);
  });

  it('rolls up over whole buckets: rates over the bucket, quantiles from summed bucket increases, last gauge', () => {
    const h = new History(opts({ rawRetentionMs: 60_000 }));
    // Bucket [0, 10 s): 3 points; the next bucket's first point closes it.
    h.record('n1', 2000, inc(1, 10, [[0.01, 1], [Infinity, 1]]), { ...emptyGauges(), events_stored: 10 });
    h.record('n1', 5000, inc(3, 50, [[0.01, 0], [Infinity, 9]]), { ...emptyGauges(), events_stored: 60 });
    h.record('n1', 9000, inc(4, 0), { ...emptyGauges(), events_stored: 60 });
    h.record('n1', 12_000, inc(3, 30), { ...emptyGauges(), events_stored: 90 });
    // Push the raw window past the first bucket so the query has to use the rollup.
    const far = 200_000;
    h.record('n1', far, inc(1, 1), null);
    const rate = h.query('n1', idx('ingestion_rate'), 0, 20_000, null);
    expect(rate).toEqual([
      { timestamp: 0, value: 60 / 8 },
      { timestamp: 10_000, value: 30 / 3 },
    ]);
    expect(h.query('n1', idx('events_stored'), 0, 20_000, null)).toEqual([
      { timestamp: 0, value: 60 },
      { timestamp: 10_000, value: 90 },
    ]);
    // p95 over the bucket's summed increases (1 in ≤0.01, 9 above 0.01 → highest finite bound 0.01).
    expect(h.query('n1', idx('query_latency_p50_ms'), 0, 20_000, null)[0]!.value).toBeCloseTo(10, 9);
    expect(h.nativeStepMs('n1', 0)).toBe(10_000);
    expect(h.nativeStepMs('n1', far - 1000)).toBe(1000);
  });

  it('drops raw points past retention', () => {
    const h = new History(opts({ rawRetentionMs: 60_000 }));
    h.record('n1', 1000, inc(1, 1), null);
    h.record('n1', 100_000, inc(1, 2), null);
    expect(h.query('n1', idx('ingestion_rate'), 0, 200_000, null).filter((p) => p.timestamp >= 1000 && p.timestamp < 10_000)).toEqual([]);
  });

  it('resamples to a coarser step: mean of rates, last of gauges, bucket-start timestamps', () => {
    const pts = [
      { timestamp: 1000, value: 2 },
      { timestamp: 4000, value: 4 },
      { timestamp: 6000, value: null },
      { timestamp: 11_000, value: 9 },
      { timestamp: 25_000, value: null },
    ];
    expect(resample(pts, 10_000, false)).toEqual([
      { timestamp: 0, value: 3 },
      { timestamp: 10_000, value: 9 },
      { timestamp: 20_000, value: null },
    ]);
    expect(resample(pts, 10_000, true)[0]).toEqual({ timestamp: 0, value: 4 });
  });

  it('persists atomically and loads back the same points, open rollup bucket included', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'cp-history-'));
    try {
      const h = new History(opts({ nodeIds: ['n1', 'n2'] }));
      for (let t = 1000; t <= 30_000; t += 1000) {
        h.record('n1', t, inc(1, t / 1000), { ...emptyGauges(), events_stored: t });
        h.record(CLUSTER_SERIES, t, inc(1, t / 500), null);
      }
      const { bytes } = await h.save(dir, 30_000);
      expect(bytes).toBeGreaterThan(0);
      // Same node list minus n2, plus n3: n1 and the cluster come back, n3 starts empty.
      const back = new History(opts({ nodeIds: ['n1', 'n3'] }));
      expect(await back.load(dir, 30_000)).toBeGreaterThan(0);
      for (const id of ['n1', CLUSTER_SERIES]) {
        for (const m of ['ingestion_rate', 'events_stored']) {
          expect(back.query(id, idx(m), 0, 40_000, null)).toEqual(h.query(id, idx(m), 0, 40_000, null));
        }
      }
      // The open rollup bucket [30 s, 40 s) was saved too: closing it after the restart includes the point at 30 s.
      back.record('n1', 41_000, inc(1, 0), null);
      h.record('n1', 41_000, inc(1, 0), null);
      expect(back.query('n1', idx('ingestion_rate'), 0, 50_000, 10_000)).toEqual(h.query('n1', idx('ingestion_rate'), 0, 50_000, 10_000));
      expect(back.query('n3', idx('ingestion_rate'), 0, 50_000, null)).toEqual([]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('refuses a damaged snapshot (checksum) and a file that is not one', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'cp-history-'));
    try {
      const h = new History(opts());
      h.record('n1', 1000, inc(1, 1), null);
      await h.save(dir);
      const file = path.join(dir, SNAPSHOT_FILE);
      const data = await readFile(file);
      data[data.length - 40]! ^= 0xff;
      await writeFile(file, data);
      await expect(new History(opts()).load(dir)).rejects.toThrow(/checksum/);
      await writeFile(file, 'hello');
      await expect(new History(opts()).load(dir)).rejects.toThrow(/not a control-plane history snapshot/);
      // No file at all is not an error.
      await rm(file);
      await expect(new History(opts()).load(dir)).resolves.toBe(0);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
