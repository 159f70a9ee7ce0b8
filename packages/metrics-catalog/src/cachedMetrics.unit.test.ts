import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { CachedCounter, CachedGauge, CachedHistogram, MAX_CHILDREN } from './cachedMetrics';

/** The same operations on a plain prom-client metric and on the cached one, rendered by prom-client. */
function twins() {
  const plain = new Registry();
  const cached = new Registry();
  const config = { name: 'c_total', help: 'c', labelNames: ['a', 'b'] as const };
  const hConfig = { name: 'h_seconds', help: 'h', labelNames: ['a', 'b'] as const, buckets: [0.001, 0.01, 0.1, 1, 2.5] };
  return {
    plain,
    cached,
    counters: [new Counter({ ...config, registers: [plain] }), new CachedCounter({ ...config, registers: [cached] })] as const,
    histograms: [new Histogram({ ...hConfig, registers: [plain] }), new CachedHistogram({ ...hConfig, registers: [cached] })] as const,
    unlabelled: [
      new Histogram({ name: 'u_seconds', help: 'u', buckets: [0.5, 1], registers: [plain] }),
      new CachedHistogram({ name: 'u_seconds', help: 'u', buckets: [0.5, 1], registers: [cached] }),
    ] as const,
  };
}

describe('CachedCounter, CachedHistogram and CachedGauge', () => {
  it('keep exactly the series prom-client keeps, through children, resets, removals and zero()', async () => {
    const t = twins();
    // Children taken before any series exists, and held across everything below.
    const held = t.counters.map((c) => c.labels('x', 'y'));
    const heldH = t.histograms.map((h) => h.labels({ a: 'x', b: 'y' }));
    let seed = 7;
    const rand = (): number => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    for (let step = 0; step < 3000; step++) {
      const a = `a${Math.floor(rand() * 5)}`;
      const b = rand() < 0.2 ? undefined : `b${Math.floor(rand() * 3)}`;
      const v = rand() * 3; // some above the largest bound
      const op = Math.floor(rand() * 12);
      for (const i of [0, 1] as const) {
        const c = t.counters[i] as Counter<'a' | 'b'>;
        const h = t.histograms[i] as Histogram<'a' | 'b'>;
        switch (op) {
          case 0: c.inc({ a, b }); break;
          case 1: c.inc({ b, a }, v); break;
          case 2: c.labels(a, b ?? 'none').inc(v); break;
          case 3: held[i]!.inc(); break;
          case 4: h.observe({ a, b }, v); break;
          case 5: h.labels(a, b ?? 'none').observe(v); break;
          case 6: heldH[i]!.observe(v); break;
          case 7: t.unlabelled[i].observe(v); break;
          case 8: if (step % 50 === 0) { c.reset(); h.reset(); } break;
          case 9: if (step % 7 === 0) { c.remove({ a: 'x', b: 'y' }); h.remove('x', 'y'); } break;
          case 10: if (step % 11 === 0) h.zero({ a, b: 'z' }); break;
          case 11: h.observe({ a }, 0.001); break;
        }
      }
    }
    expect(await t.cached.metrics()).toBe(await t.plain.metrics());
    expect(await t.cached.metrics()).toContain('h_seconds_count{a="x",b="y"}');
  });

  it('CachedGauge moves like prom-client, with and without labels, across set() and reset()', async () => {
    const plain = new Registry();
    const cached = new Registry();
    const gauges = [
      [new Gauge({ name: 'g', help: 'g', registers: [plain] }), new CachedGauge({ name: 'g', help: 'g', registers: [cached] })],
      [new Gauge({ name: 'l', help: 'l', labelNames: ['k'], registers: [plain] }), new CachedGauge({ name: 'l', help: 'l', labelNames: ['k'], registers: [cached] })],
    ] as const;
    for (const [i, g] of [gauges[0][0], gauges[0][1]].entries()) {
      const l = gauges[1][i]!;
      g.inc();
      g.inc(2.5);
      g.dec();
      g.set(10);
      g.dec(4);
      g.inc();
      l.inc({ k: 'a' });
      l.dec({ k: 'a' }, 3);
      l.inc();
      l.reset();
      l.dec();
      l.inc(0.5);
    }
    expect(await cached.metrics()).toBe(await plain.metrics());
    expect(await cached.metrics()).toContain('\ng 7\n');
    expect(() => gauges[0][1].inc('x' as never)).toThrow('Delta is not a valid number');
  });

  it('check labels and values like prom-client', () => {
    const t = twins();
    const [, c] = t.counters;
    const [, h] = t.histograms;
    expect(() => c.inc({ nope: 'x' } as never)).toThrow('Added label "nope" is not included');
    expect(() => c.labels('only-one')).toThrow('Invalid number of arguments');
    expect(() => c.inc({ a: 'x' }, -1)).toThrow('It is not possible to decrease a counter');
    c.inc({ a: 'x' });
    expect(() => c.inc({ a: 'x' }, -1)).toThrow('It is not possible to decrease a counter');
    expect(() => c.labels({ a: 'x' }).inc(Infinity)).toThrow('Value is not a valid number');
    expect(() => h.observe({ a: 'x' }, NaN)).toThrow('Value is not a valid number');
    h.observe({ a: 'x' }, 1);
    expect(() => h.observe({ a: 'x' }, NaN)).toThrow('Value is not a valid number');
    expect(() => h.labels('x', 'y').observe(Infinity)).toThrow('Value is not a valid number');
  });

  it('time with children and startTimer like prom-client', async () => {
    const t = twins();
    const [, h] = t.histograms;
    h.labels('x', 'y').startTimer()();
    h.startTimer({ a: 'x' })({ b: 'y' });
    h.labels({ a: 'x' }).startTimer()({ b: 'y' });
    const text = await t.cached.metrics();
    expect(text).toContain('h_seconds_count{a="x",b="y"} 3');
  });

  it(`keeps at most ${MAX_CHILDREN} children per metric and stays right past that`, async () => {
    const registry = new Registry();
    const c = new CachedCounter({ name: 'many_total', help: 'm', labelNames: ['k'], registers: [registry] });
    for (let i = 0; i < MAX_CHILDREN + 50; i++) c.inc({ k: String(i) });
    c.inc({ k: String(MAX_CHILDREN + 10) }, 4);
    expect((c as unknown as { children: { size: number } }).children.size).toBe(MAX_CHILDREN);
    const text = await registry.metrics();
    expect(text).toContain(`many_total{k="${MAX_CHILDREN + 10}"} 5`);
    expect(text.split('\n').filter((l) => l.startsWith('many_total{')).length).toBe(MAX_CHILDREN + 50);
  });
});
