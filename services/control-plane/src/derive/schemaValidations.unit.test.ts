/**
 * The schema-validation series (`schema_validation_rate`, `schema_invalid_rate`) from the core's
 * `allsource_schema_validations_total{subject,result}` counter: per-series increases summed,
 * invalid ones picked by label, counter resets handled like every other counter.
 */
import { parseExposition } from '../prometheus/textFormat';
import { computeIncrease, sampleFromFamilies, type CoreSample } from './coreSample';
import { computeAll, computeRecord, derivedMetric } from './derivedMetrics';

/** `[subject, result, value]` rows as the core exposes them. */
function sample(rows: Array<[string, 'valid' | 'invalid', number]>, at: number, start = 1000): CoreSample {
  const lines = [
    '# TYPE process_start_time_seconds gauge',
    `process_start_time_seconds ${start}`,
    '# HELP allsource_schema_validations_total Events validated against a schema, by subject and result (valid/invalid).',
    '# TYPE allsource_schema_validations_total counter',
    ...rows.map(([subject, result, v]) => `allsource_schema_validations_total{subject="${subject}",result="${result}"} ${v}`),
  ];
  return sampleFromFamilies(parseExposition(lines.join('\n')), at);
}

describe('schema validation series', () => {
  it('sums validations over subjects and results, and invalid ones apart', () => {
    const a = sample([['order.placed', 'valid', 10], ['order.placed', 'invalid', 2], ['user.created', 'valid', 5]], 0);
    const b = sample([['order.placed', 'valid', 16], ['order.placed', 'invalid', 5], ['user.created', 'valid', 8], ['user.created', 'invalid', 1]], 2000);
    const inc = computeIncrease(a, b);
    expect(inc.schemaValidations).toBe(6 + 3 + 3 + 1);
    expect(inc.schemaInvalid).toBe(3 + 1);
    const r = computeRecord(inc, b.gauges);
    expect(r.schema_validation_rate).toBe(13 / 2);
    expect(r.schema_invalid_rate).toBe(4 / 2);
  });

  it('counts a restarted core from 0 (no negative rate)', () => {
    const a = sample([['s', 'valid', 100], ['s', 'invalid', 40]], 0, 1000);
    const b = sample([['s', 'valid', 3], ['s', 'invalid', 1]], 1000, 2000);
    const r = computeRecord(computeIncrease(a, b), b.gauges);
    expect(r.schema_validation_rate).toBe(4);
    expect(r.schema_invalid_rate).toBe(1);
  });

  it('is 0 (not null) between two scrapes without validations, null without an increase', () => {
    const a = sample([], 0);
    const b = sample([], 1000);
    expect(computeRecord(computeIncrease(a, b), b.gauges).schema_validation_rate).toBe(0);
    expect(computeRecord(computeIncrease(a, b), b.gauges).schema_invalid_rate).toBe(0);
    expect(computeRecord(null, null).schema_validation_rate).toBeNull();
    expect(Number.isNaN(computeAll(null, null)[derivedMetric('schema_invalid_rate')!.index])).toBe(true);
  });

  it('has the PromQL that gives the same numbers from Prometheus', () => {
    expect(derivedMetric('schema_validation_rate')!.def.promql('instance="a:1"', '60s')).toBe('sum(rate(allsource_schema_validations_total{instance="a:1"}[60s]))');
    expect(derivedMetric('schema_invalid_rate')!.def.promql('instance="a:1"', '60s')).toBe(
      '(sum(rate(allsource_schema_validations_total{instance="a:1",result="invalid"}[60s])) or vector(0))',
    );
    expect(derivedMetric('schema_invalid_rate')!.def.promql('', '60s')).toBe('(sum(rate(allsource_schema_validations_total{result="invalid"}[60s])) or vector(0))');
  });
});
