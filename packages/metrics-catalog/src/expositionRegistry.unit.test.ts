import { Counter, Gauge, Histogram, Registry, Summary } from 'prom-client';
import { CONTROL_PLANE_METRICS, CORE_METRICS } from './catalog';
import { ExpositionRegistry } from './expositionRegistry';

/** The same metric objects registered on prom-client's Registry and on ours. */
function twin(): { plain: Registry; fast: ExpositionRegistry; registers: Registry[] } {
  const plain = new Registry();
  const fast = new ExpositionRegistry();
  return { plain, fast, registers: [plain, fast] };
}

describe('ExpositionRegistry', () => {
  it('renders every catalogue metric exactly as prom-client does', async () => {
    const { plain, fast, registers } = twin();
    let n = 0;
    for (const def of [...CORE_METRICS, ...CONTROL_PLANE_METRICS]) {
      const common = { name: def.name, help: def.help, labelNames: [...def.labelNames], registers };
      // One, two or three label sets per metric (values chosen to need escaping now and then).
      const labelSets = [0, 1, 2].map((k) =>
        Object.fromEntries(def.labelNames.map((l, i) => [l, k === 2 && i === 0 ? 'we"ird\\va\nlue' : `${l}-${k}`])),
      );
      if (def.type === 'counter') {
        const c = new Counter(common);
        for (const labels of labelSets) c.inc(labels, ++n);
      } else if (def.type === 'gauge') {
        const g = new Gauge(common);
        for (const labels of labelSets) g.set(labels, n++ % 3 === 0 ? -0.5 : n * 1e21);
      } else {
        const h = new Histogram({ ...common, buckets: [...(def.buckets ?? [])] });
        for (const labels of labelSets) for (const b of def.buckets ?? []) h.observe(labels, b * (n++ % 2 ? 1 : 1.5));
      }
    }
    const text = await fast.metrics();
    expect(text).toBe(await plain.metrics());
    expect(text).toContain('\\"ird\\\\va\\nlue"');
    expect(await fast.getSingleMetricAsString('allsource_query_duration_seconds')).toBe(
      await plain.getSingleMetricAsString('allsource_query_duration_seconds'),
    );
  });

  it('renders special values, unused labelled metrics, collect callbacks, summaries and odd help like prom-client', async () => {
    const { plain, fast, registers } = twin();
    const g = new Gauge({ name: 'g', help: 'a help\nwith a \\ backslash', labelNames: ['a', 'b'], registers });
    g.set({ a: 'x', b: 'y' }, NaN);
    g.set({ b: 'only b' }, Infinity);
    g.set({ a: 1 as unknown as string }, -Infinity);
    new Counter({ name: 'unused_total', help: 'no sample yet', labelNames: ['l'], registers });
    new Counter({ name: 'plain_total', help: 'no labels', registers }).inc(0.1 + 0.2);
    let calls = 0;
    new Gauge({
      name: 'collected',
      help: 'set at scrape time',
      registers,
      collect() {
        this.set(++calls);
      },
    });
    const s = new Summary({ name: 's_seconds', help: 'a summary', labelNames: ['op'], percentiles: [0.5, 0.99], registers });
    for (let i = 1; i <= 50; i++) s.observe({ op: 'read' }, i / 1000);
    const h = new Histogram({ name: 'h', help: 'default buckets', labelNames: ['x'], registers });
    h.observe({ x: 'a' }, 0.3);
    h.observe(7);
    h.zero({ x: 'zeroed' });

    const expected = await plain.metrics();
    const got = await fast.metrics();
    // The collect callback ran once per render; it set 1 then 2.
    expect(got).toBe(expected.replace('\ncollected 1\n', '\ncollected 2\n'));
  });

  it('falls back to prom-client for default labels and OpenMetrics', async () => {
    const { plain, fast, registers } = twin();
    new Counter({ name: 'c_total', help: 'c', labelNames: ['a'], registers }).inc({ a: 'x' });
    plain.setDefaultLabels({ node: 'n1' });
    fast.setDefaultLabels({ node: 'n1' });
    expect(await fast.metrics()).toBe(await plain.metrics());
    const om = new ExpositionRegistry();
    const omPlain = new Registry();
    om.setContentType(Registry.OPENMETRICS_CONTENT_TYPE as never);
    omPlain.setContentType(Registry.OPENMETRICS_CONTENT_TYPE as never);
    new Counter({ name: 'd_total', help: 'd', registers: [om, omPlain] }).inc();
    expect(await om.metrics()).toBe(await omPlain.metrics());
  });
});
