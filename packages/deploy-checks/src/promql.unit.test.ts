/** The PromQL walk the dashboard linter relies on: selectors, matchers, ranges, enclosing calls. */
import { parseQuery, PromqlLintError, substituteVariables, tokenize } from './promql';

it('finds the selectors of a quantile over the rate of a bucket series, with their call chain', () => {
  const q = parseQuery('histogram_quantile(0.95, sum by (instance, le) (rate(allsource_query_duration_seconds_bucket{job=~"$job", instance=~"$instance"}[$__rate_interval])))');
  expect(q.selectors).toEqual([
    {
      metric: 'allsource_query_duration_seconds_bucket',
      matchers: [
        { label: 'job', op: '=~', value: '$job' },
        { label: 'instance', op: '=~', value: '$instance' },
      ],
      range: '$__rate_interval',
      enclosing: ['histogram_quantile', 'sum', 'rate'],
      directCall: 'rate',
    },
  ]);
  expect(q.ranges).toEqual(['$__rate_interval']);
  expect(q.calls).toEqual(['histogram_quantile', 'sum', 'rate']);
});

it('does not take grouping labels, keywords or strings for metrics', () => {
  const q = parseQuery(
    '(sum by (instance) (rate(a_total{x="by (y)"}[1m])) or sum without (le) (b) * 0) / on (instance) group_left (node_id) sum(c{z!~"q|r"}) > bool 0.5 unless d offset 5m',
  );
  expect(q.selectors.map((s) => [s.metric, s.directCall])).toEqual([
    ['a_total', 'rate'],
    ['b', 'sum'],
    ['c', 'sum'],
    ['d', undefined],
  ]);
  expect(q.selectors[0]!.matchers).toEqual([{ label: 'x', op: '=', value: 'by (y)' }]);
  expect(q.selectors[2]!.matchers).toEqual([{ label: 'z', op: '!~', value: 'q|r' }]);
});

it('handles the aggregation-then-grouping form and nested parentheses', () => {
  const q = parseQuery('sum(rate(x_total[5m])) by (job) / (vector(1) + scalar(y))');
  expect(q.selectors.map((s) => [s.metric, s.directCall, s.range])).toEqual([
    ['x_total', 'rate', '5m'],
    ['y', 'scalar', undefined],
  ]);
});

it('rejects unbalanced or malformed expressions', () => {
  expect(() => parseQuery('sum(rate(x[1m])')).toThrow(PromqlLintError);
  expect(() => parseQuery('x{job=}')).toThrow(PromqlLintError);
  expect(() => parseQuery('x{job="a"')).toThrow(PromqlLintError);
  expect(() => tokenize('x{job="a}')).toThrow(PromqlLintError);
  expect(() => parseQuery('rate(x[$__rate_interval])) ')).toThrow(PromqlLintError);
});

it('substitutes Grafana variables in every syntax and refuses unknown ones', () => {
  const values = { job: '.*', instance: '.*', __rate_interval: '1m' };
  expect(substituteVariables('rate(x{job=~"$job",instance=~"${instance}"}[$__rate_interval])', values)).toBe('rate(x{job=~".*",instance=~".*"}[1m])');
  expect(substituteVariables('x{job=~"${job:regex}", instance=~"[[instance]]"}', values)).toBe('x{job=~".*", instance=~".*"}');
  expect(() => substituteVariables('x{node_id=~"$node"}', values)).toThrow(/\$node/);
});
