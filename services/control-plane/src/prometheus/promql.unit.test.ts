import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { counterIncrease, histogramQuantile } from './promql';
import type { HistogramBucket } from './textFormat';

const b = (pairs: Array<[number, number]>): HistogramBucket[] => pairs.map(([le, count]) => ({ le, count }));

describe('counterIncrease', () => {
  it('is the difference while the counter grows', () => {
    expect(counterIncrease(10, 15)).toBe(5);
    expect(counterIncrease(10, 10)).toBe(0);
  });
  it('is the new value after a reset (process restart), never negative', () => {
    expect(counterIncrease(1000, 3)).toBe(3);
    expect(counterIncrease(1000, 0)).toBe(0);
  });
  it('counts the whole value of a series without a previous sample', () => {
    expect(counterIncrease(undefined, 7)).toBe(7);
  });
  it('ignores non-finite and negative values', () => {
    expect(counterIncrease(1, NaN)).toBe(0);
    expect(counterIncrease(1, -5)).toBe(0);
    expect(counterIncrease(NaN, 4)).toBe(4);
  });
});

describe('histogramQuantile', () => {
  const h = b([
    [0.1, 3],
    [0.5, 7],
    [Infinity, 10],
  ]);

  it('interpolates linearly inside the bucket holding the rank', () => {
    // rank 5 → bucket (0.1, 0.5] holding observations 4..7: 0.1 + 0.4 × (5-3)/4
    expect(histogramQuantile(0.5, h)).toBeCloseTo(0.3, 12);
    // rank 1.5 → first bucket, from 0: 0.1 × 1.5/3
    expect(histogramQuantile(0.15, h)).toBeCloseTo(0.05, 12);
  });

  it('answers the highest finite bound for a rank in the +Inf bucket', () => {
    expect(histogramQuantile(0.95, h)).toBe(0.5);
    expect(histogramQuantile(1, h)).toBe(0.5);
  });

  it('follows Prometheus for q outside [0, 1] and NaN', () => {
    expect(histogramQuantile(-0.1, h)).toBe(-Infinity);
    expect(histogramQuantile(1.1, h)).toBe(Infinity);
    expect(histogramQuantile(NaN, h)).toBeNaN();
  });

  it('is NaN without observations, without a +Inf bucket or with fewer than two buckets', () => {
    expect(histogramQuantile(0.5, b([[0.1, 0], [Infinity, 0]]))).toBeNaN();
    expect(histogramQuantile(0.5, b([[0.1, 1], [1, 2]]))).toBeNaN();
    expect(histogramQuantile(0.5, b([[Infinity, 5]]))).toBeNaN();
    expect(histogramQuantile(0.5, [])).toBeNaN();
  });

  it('sorts buckets, merges equal bounds and makes counts monotonic', () => {
    const shuffled = b([[Infinity, 10], [0.5, 7], [0.1, 3]]);
    expect(histogramQuantile(0.5, shuffled)).toBeCloseTo(0.3, 12);
    // Same bound twice (e.g. two series summed without `by (le)` care): counts add.
    expect(histogramQuantile(0.5, b([[0.1, 1], [0.1, 2], [0.5, 7], [Infinity, 10]]))).toBeCloseTo(0.3, 12);
    // A non-monotonic input (bucket increases across a partial reset) is flattened.
    expect(histogramQuantile(0.5, b([[0.1, 6], [0.5, 4], [Infinity, 10]]))).toBeCloseTo(0.1 * (5 / 6), 12);
  });

  it('answers the first bound when it is ≤ 0 and the rank falls in it', () => {
    expect(histogramQuantile(0.1, b([[-1, 5], [0, 8], [Infinity, 10]]))).toBe(-1);
  });

  /**
   * Reference: the real Prometheus engine. `promtool test rules` evaluates
   * histogram_quantile over the same buckets and must get exactly our numbers.
   */
  it('agrees with Prometheus itself (promtool test rules) on 60 random histograms', () => {
    let seed = 42;
    const rand = (): number => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    const bounds = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, Infinity];
    const cases: Array<{ id: number; buckets: HistogramBucket[]; q: number }> = [];
    const qs = [0.5, 0.9, 0.95, 0.99, 0.01, 0.75];
    for (let id = 0; id < 60; id++) {
      let cumulative = 0;
      const buckets = bounds.map((le) => {
        cumulative += Math.floor(rand() * (rand() < 0.3 ? 0 : 50));
        return { le, count: cumulative };
      });
      if (cumulative === 0) buckets[buckets.length - 1]!.count = 1;
      cases.push({ id, buckets, q: qs[id % qs.length]! });
    }
    const dir = mkdtempSync(path.join(os.tmpdir(), 'cp-promtool-'));
    try {
      const series = cases.flatMap((c) =>
        c.buckets.map((bk) => `      - series: 'h_bucket{case="${c.id}",le="${Number.isFinite(bk.le) ? bk.le : '+Inf'}"}'\n        values: '${bk.count}'`),
      );
      const tests = cases.map((c) => {
        const expected = histogramQuantile(c.q, c.buckets);
        expect(Number.isFinite(expected)).toBe(true);
        return [
          `      - expr: 'histogram_quantile(${c.q}, h_bucket{case="${c.id}"})'`,
          '        eval_time: 0m',
          '        exp_samples:',
          `          - labels: '{case="${c.id}"}'`,
          `            value: ${expected}`,
        ].join('\n');
      });
      writeFileSync(path.join(dir, 'rules.yml'), 'groups: []\n');
      writeFileSync(
        path.join(dir, 'test.yml'),
        ['rule_files: [rules.yml]', 'evaluation_interval: 1m', 'tests:', '  - interval: 1m', '    input_series:', ...series, '    promql_expr_test:', ...tests, ''].join('\n'),
      );
      const run = spawnSync('promtool', ['test', 'rules', 'test.yml'], { cwd: dir, encoding: 'utf8' });
      if (run.error) throw new Error(`promtool could not run (${run.error.message}); npm test installs Debian's prometheus package`);
      expect(`${run.stdout}${run.stderr}`).not.toMatch(/FAILED/);
      expect(run.status).toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
