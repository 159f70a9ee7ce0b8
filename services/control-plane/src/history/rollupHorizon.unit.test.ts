/**
 * Where the rollup takes over from the raw points: only for buckets that end before the oldest raw
 * point. The first bucket after a start begins before the first raw point but holds nothing the
 * raw points do not, so it must not drag a fresh control plane's short ranges (the dashboard's
 * 15 m and 1 h charts) down to rollup resolution.
 */
import { computeIncrease, sampleFromFamilies } from '../derive/coreSample';
import { derivedMetric } from '../derive/derivedMetrics';
import { parseExposition } from '../prometheus/textFormat';
import { History } from './history';

const STEP = 300_000;
const B = 1_800_000_000_000; // a rollup bucket boundary
const ingestion = derivedMetric('ingestion_rate')!.index;

function fill(history: History, from: number, to: number): void {
  const sample = (t: number) => sampleFromFamilies(parseExposition(`# TYPE allsource_events_ingested_total counter\nallsource_events_ingested_total ${(t - from) / 1000}\n`), t);
  let previous = sample(from);
  history.record('core-1', from, null, null);
  for (let t = from + 1000; t <= to; t += 1000) {
    const current = sample(t);
    history.record('core-1', t, computeIncrease(previous, current), null);
    previous = current;
  }
}

const options = { nodeIds: ['core-1'], scrapeIntervalMs: 1000, maxRawPoints: 100_000, rollupStepMs: STEP, rollupRetentionMs: 30 * 86_400_000 };

describe('rollup horizon', () => {
  it('answers a fresh history from its raw points even after the first bucket closed', () => {
    const history = new History({ ...options, rawRetentionMs: 86_400_000 });
    fill(history, B + 200_000, B + 400_000); // crosses the boundary B + 5 min: bucket B is closed
    const from = B + 400_000 - 15 * 60_000;
    expect(history.nativeStepMs('core-1', from)).toBe(1000);
    const points = history.query('core-1', ingestion, from, B + 400_000, null);
    expect(points).toHaveLength(201);
    expect(points[0]!.timestamp).toBe(B + 200_000);
    expect(points.slice(1).every((p) => p.value === 1)).toBe(true);
  });

  it('uses the rollup for buckets the raw points no longer reach', () => {
    const history = new History({ ...options, rawRetentionMs: 150_000 });
    fill(history, B + 200_000, B + 700_000);
    const from = B - 3_600_000;
    expect(history.nativeStepMs('core-1', from)).toBe(STEP);
    const points = history.query('core-1', ingestion, from, B + 700_000, null);
    // Bucket B ended before the oldest raw point: it comes from the rollup. Bucket B + 5 min
    // straddles the oldest raw point: the raw points stand for it (no second rollup point).
    const oldestRaw = B + 700_000 - 150_000;
    expect(points[0]!.timestamp).toBe(B);
    expect(points[1]!.timestamp).toBe(oldestRaw);
    expect(points).toHaveLength(1 + 151);
    expect(points.every((p) => p.value === 1)).toBe(true);
  });
});
