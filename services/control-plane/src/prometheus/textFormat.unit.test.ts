import { Counter, Gauge, Histogram, Registry, Summary } from 'prom-client';
import { ExpositionParseError, histogramSeries, labelKey, parseExposition, parseFloatValue, type MetricFamily } from './textFormat';

const family = (families: MetricFamily[], name: string): MetricFamily => {
  const f = families.find((x) => x.name === name);
  if (!f) throw new Error(`no family ${name}`);
  return f;
};

describe('parseFloatValue', () => {
  it.each([
    ['1', 1],
    ['-1.5', -1.5],
    ['+2', 2],
    ['1e3', 1000],
    ['1.5E-3', 0.0015],
    ['.5', 0.5],
    ['5.', 5],
    ['+Inf', Infinity],
    ['Inf', Infinity],
    ['inf', Infinity],
    ['-Inf', -Infinity],
    ['+infinity', Infinity],
    ['-Infinity', -Infinity],
    ['9007199254740993', 9007199254740992],
  ])('%s → %d', (raw, expected) => {
    expect(parseFloatValue(raw)).toBe(expected);
  });

  it.each(['NaN', 'nan', 'NAN'])('%s → NaN', (raw) => {
    expect(parseFloatValue(raw)).toBeNaN();
  });

  it.each(['', 'abc', '0x10', '1,5', '1_000', '--1', '1e', 'e5', 'Infx', '1 2'])('rejects %j', (raw) => {
    expect(parseFloatValue(raw)).toBeUndefined();
  });
});

describe('parseExposition', () => {
  it('reads HELP, TYPE and samples of every kind', () => {
    const text = [
      '# HELP up Whether the target is up.',
      '# TYPE up gauge',
      'up 1',
      '# HELP reqs_total Requests.',
      '# TYPE reqs_total counter',
      'reqs_total{method="GET",code="200"} 10',
      'reqs_total{method="POST",code="500"} 2 1700000000000',
      '',
      'no_type_metric 3.5',
    ].join('\n');
    const families = parseExposition(text);
    expect(families.map((f) => [f.name, f.type])).toEqual([
      ['up', 'gauge'],
      ['reqs_total', 'counter'],
      ['no_type_metric', 'untyped'],
    ]);
    expect(family(families, 'up').help).toBe('Whether the target is up.');
    expect(family(families, 'reqs_total').samples).toEqual([
      { name: 'reqs_total', labels: { method: 'GET', code: '200' }, value: 10 },
      { name: 'reqs_total', labels: { method: 'POST', code: '500' }, value: 2, timestampMs: 1700000000000 },
    ]);
    expect(family(families, 'no_type_metric').samples[0]!.value).toBe(3.5);
  });

  it('unescapes label values (\\\\, \\" and \\n) and HELP text (\\\\ and \\n)', () => {
    const text = [
      '# HELP m A help with a \\\\ backslash\\nand a newline.',
      '# TYPE m counter',
      'm{path="C:\\\\dir\\\\file",quote="say \\"hi\\"",nl="a\\nb",brace="}{,=",empty=""} 1',
    ].join('\n');
    const [m] = parseExposition(text);
    expect(m!.help).toBe('A help with a \\ backslash\nand a newline.');
    expect(m!.samples[0]!.labels).toEqual({ path: 'C:\\dir\\file', quote: 'say "hi"', nl: 'a\nb', brace: '}{,=', empty: '' });
  });

  it('accepts whitespace around tokens, a trailing comma, CRLF line ends, comments and # EOF', () => {
    const text = '# a comment\r\n# TYPE x gauge\r\nx { a = "1" , b="2", } \t 7   \r\n#EOF-ish comment\r\n# EOF\r\n';
    const [x] = parseExposition(text);
    expect(x!.samples).toEqual([{ name: 'x', labels: { a: '1', b: '2' }, value: 7 }]);
  });

  it('keeps a label named __proto__ as a plain label', () => {
    const [m] = parseExposition('m{__proto__="x",constructor="y"} 1');
    const labels = m!.samples[0]!.labels;
    expect(Object.keys(labels)).toEqual(['__proto__', 'constructor']);
    expect(Object.getOwnPropertyDescriptor(labels, '__proto__')?.value).toBe('x');
    expect(Object.getPrototypeOf(labels)).toBe(Object.prototype);
  });

  it('reads NaN, +Inf and -Inf values', () => {
    const families = parseExposition('a NaN\nb +Inf\nc -Inf\n');
    expect(family(families, 'a').samples[0]!.value).toBeNaN();
    expect(family(families, 'b').samples[0]!.value).toBe(Infinity);
    expect(family(families, 'c').samples[0]!.value).toBe(-Infinity);
  });

  it('groups a labelled histogram into one series per label set (the bug of parse-prometheus-text-format)', () => {
    const text = [
      '# HELP d Duration.',
      '# TYPE d histogram',
      'd_bucket{le="0.1",type="a"} 1',
      'd_bucket{le="1",type="a"} 3',
      'd_bucket{le="+Inf",type="a"} 4',
      'd_sum{type="a"} 2.5',
      'd_count{type="a"} 4',
      'd_bucket{type="b",le="0.1"} 0',
      'd_bucket{type="b",le="1"} 5',
      'd_bucket{type="b",le="+Inf"} 5',
      'd_sum{type="b"} 3',
      'd_count{type="b"} 5',
    ].join('\n');
    const families = parseExposition(text);
    expect(families).toHaveLength(1);
    const series = histogramSeries(families[0]!);
    expect(series).toEqual([
      {
        labels: { type: 'a' },
        key: 'type="a"',
        buckets: [
          { le: 0.1, count: 1 },
          { le: 1, count: 3 },
          { le: Infinity, count: 4 },
        ],
        sum: 2.5,
        count: 4,
      },
      {
        labels: { type: 'b' },
        key: 'type="b"',
        buckets: [
          { le: 0.1, count: 0 },
          { le: 1, count: 5 },
          { le: Infinity, count: 5 },
        ],
        sum: 3,
        count: 5,
      },
    ]);
  });

  it('files _sum/_count of a summary with the summary and keeps quantile samples', () => {
    const text = ['# TYPE s summary', 's{quantile="0.5"} 1', 's{quantile="0.9"} NaN', 's_sum 10', 's_count 4', 'other_sum 1'].join('\n');
    const families = parseExposition(text);
    expect(families.map((f) => f.name)).toEqual(['s', 'other_sum']);
    expect(family(families, 's').samples.map((s) => s.name)).toEqual(['s', 's', 's_sum', 's_count']);
  });

  it('does not take a counter named x_count for part of a histogram x', () => {
    const text = ['# TYPE x histogram', 'x_bucket{le="+Inf"} 1', 'x_sum 1', 'x_count 1', '# TYPE y_count counter', 'y_count 5'].join('\n');
    const families = parseExposition(text);
    expect(families.map((f) => [f.name, f.type, f.samples.length])).toEqual([
      ['x', 'histogram', 3],
      ['y_count', 'counter', 1],
    ]);
  });

  it('parses what prom-client renders, exactly (all metric kinds, labels to escape, NaN/Inf)', async () => {
    const registry = new Registry();
    const c = new Counter({ name: 'c_total', help: 'a "counter" \\ with\nnewline', labelNames: ['l'], registers: [registry] });
    c.inc({ l: 'a"b\\c\nd' }, 3);
    c.inc({ l: 'plain' }, 1.5);
    const g = new Gauge({ name: 'g', help: 'g', registers: [registry] });
    g.set(NaN);
    const g2 = new Gauge({ name: 'g2', help: 'g2', registers: [registry] });
    g2.set(-Infinity);
    const h = new Histogram({ name: 'h_seconds', help: 'h', labelNames: ['t'], buckets: [0.001, 0.01, 0.1], registers: [registry] });
    for (const [t, v] of [['x', 0.0005], ['x', 0.05], ['y', 1], ['y', 0.005]] as const) h.observe({ t }, v);
    const s = new Summary({ name: 'sm', help: 'sm', percentiles: [0.5, 0.99], registers: [registry] });
    s.observe(1);
    s.observe(3);
    const families = parseExposition(await registry.metrics());
    const counter = family(families, 'c_total');
    expect(counter.type).toBe('counter');
    expect(counter.help).toBe('a "counter" \\ with\nnewline');
    expect(counter.samples.map((x) => [x.labels.l, x.value])).toEqual([
      ['a"b\\c\nd', 3],
      ['plain', 1.5],
    ]);
    expect(family(families, 'g').samples[0]!.value).toBeNaN();
    expect(family(families, 'g2').samples[0]!.value).toBe(-Infinity);
    const hs = histogramSeries(family(families, 'h_seconds'));
    expect(hs.map((x) => [x.labels.t, x.buckets.map((b) => b.count), x.count])).toEqual([
      ['x', [1, 1, 2, 2], 2],
      ['y', [0, 1, 1, 2], 2],
    ]);
    expect(hs[0]!.buckets.map((b) => b.le)).toEqual([0.001, 0.01, 0.1, Infinity]);
    expect(hs[1]!.sum).toBeCloseTo(1.005, 12);
    const sm = family(families, 'sm');
    expect(sm.type).toBe('summary');
    expect(sm.samples.find((x) => x.name === 'sm_count')!.value).toBe(2);
  });

  it('parses a large body (60 000 series) within the sample cap and refuses one past it', () => {
    const lines = ['# TYPE big counter'];
    for (let i = 0; i < 60_000; i++) lines.push(`big{i="${i}"} ${i}`);
    const text = lines.join('\n');
    const [big] = parseExposition(text);
    expect(big!.samples).toHaveLength(60_000);
    expect(big!.samples[59_999]!.value).toBe(59_999);
    expect(() => parseExposition(text, { maxSamples: 1000 })).toThrow(/more than 1000 samples/);
  });

  it.each([
    ['a value that is not a number', 'm abc', /line 1: invalid value/],
    ['no value', 'm', /line 1: expected 'value/],
    ['no value after labels', 'm{a="1"}', /expected 'value/],
    ['too many fields', 'm 1 2 3', /expected 'value/],
    ['a timestamp that is not an integer', 'm 1 1.5', /invalid timestamp/],
    ['an unterminated label set', 'm{a="1" 1', /expected ',' or '}'/],
    ['an unterminated label value', 'm{a="1} 1', /unterminated value/],
    ['an unquoted label value', 'm{a=1} 1', /expected '"'/],
    ['a bad escape', 'm{a="\\t"} 1', /invalid escape/],
    ['a duplicate label', 'm{a="1",a="2"} 1', /duplicate label 'a'/],
    ['a bad label name', 'm{1a="1"} 1', /invalid label name/],
    ['a bad metric name', '1m 1', /invalid metric name/],
    ['a missing =', 'm{a "1"} 1', /expected '='/],
    ['an unknown type', '# TYPE m countr', /unknown metric type/],
    ['a second TYPE', '# TYPE m counter\nm 1\n# TYPE m gauge', /line 3: second TYPE/],
    ['a bucket without le', '# TYPE h histogram\nh_bucket{a="1"} 1', /without an 'le'/],
    ['a bucket with a bad le', '# TYPE h histogram\nh_bucket{le="x"} 1', /invalid 'le'/],
    ['a bare histogram sample', '# TYPE h histogram\nh 1', /without _bucket/],
    ['a summary sample without quantile', '# TYPE s summary\ns 1', /quantile/],
    ['HTML', '<html><body>502 Bad Gateway</body></html>', /line 1/],
    ['JSON', '{"status":"healthy"}', /line 1/],
  ])('rejects %s', (_what, text, message) => {
    expect(() => parseExposition(text)).toThrow(ExpositionParseError);
    expect(() => parseExposition(text)).toThrow(message);
  });

  it('names the failing line', () => {
    try {
      parseExposition('a 1\nb 2\nc ???\n');
      throw new Error('expected a parse error');
    } catch (err) {
      expect(err).toBeInstanceOf(ExpositionParseError);
      expect((err as ExpositionParseError).line).toBe(3);
    }
  });
});

describe('labelKey', () => {
  it('is independent of label order and leaves out the given names', () => {
    expect(labelKey({ b: '2', a: '1' })).toBe(labelKey({ a: '1', b: '2' }));
    expect(labelKey({ le: '0.1', a: '1' }, ['le'])).toBe('a="1"');
    expect(labelKey({ a: 'x,y="z"' })).not.toBe(labelKey({ a: 'x', y: 'z' }));
  });
});
