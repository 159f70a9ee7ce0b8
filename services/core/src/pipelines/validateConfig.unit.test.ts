import { AllSourceError } from '@allsource/errors';
import { validatePipelineConfig } from './validateConfig';

const limits = { maxOperators: 4 };

function base(extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { name: 'p', source_event_types: [], operators: [], ...extra };
}

function rejects(body: unknown, reason: RegExp): void {
  let caught: unknown;
  try {
    validatePipelineConfig(body, limits);
  } catch (err) {
    caught = err;
  }
  expect(caught).toBeInstanceOf(AllSourceError);
  const err = caught as AllSourceError;
  expect(err.status).toBe(400);
  expect(err.code).toBe('INVALID_INPUT');
  expect(err.toBody().error).toMatch(/^Invalid input: /);
  expect(err.message).toMatch(reason);
}

function op(operator: Record<string, unknown>): Record<string, unknown> {
  return base({ operators: [operator] });
}

describe('validatePipelineConfig', () => {
  it('accepts a full config and returns its canonical form', () => {
    const config = validatePipelineConfig(
      {
        id: 'orders-eu',
        name: 'Orders',
        description: 'EU orders',
        source_event_types: ['order.placed', 'order.placed', 'order.paid'],
        enabled: false,
        operators: [
          { type: 'filter', field: 'region', op: 'eq', value: 'eu' },
          { type: 'map', field: 'amount', transform: 'multiply:1.5' },
          { type: 'map', field: 'name', transform: 'trim' },
          { type: 'window', config: { window_type: 'sliding', size_seconds: 60, slide_seconds: 10 }, aggregation: { function: 'sum', field: 'amount', group_by: 'country' } },
        ],
      },
      limits,
    );
    expect(config).toEqual({
      id: 'orders-eu',
      name: 'Orders',
      description: 'EU orders',
      source_event_types: ['order.placed', 'order.paid'],
      enabled: false,
      operators: [
        { type: 'filter', field: 'region', op: 'eq', value: 'eu' },
        { type: 'map', field: 'amount', transform: 'multiply:1.5' },
        { type: 'map', field: 'name', transform: 'trim' },
        {
          type: 'window',
          config: { window_type: 'sliding', size_seconds: 60, slide_seconds: 10, session_timeout_seconds: null },
          aggregation: { type: 'reduce', function: 'sum', field: 'amount', group_by: 'country' },
        },
      ],
    });
  });

  it('generates an id, defaults enabled to true and description to null', () => {
    const config = validatePipelineConfig(base(), limits);
    expect(config.id).toMatch(/^[0-9a-f-]{36}$/);
    expect(config.enabled).toBe(true);
    expect(config.description).toBeNull();
  });

  it('accepts every operator kind', () => {
    const config = validatePipelineConfig(
      base({
        operators: [
          { type: 'reduce', function: 'count' },
          { type: 'enrich', source: 'entity:customer.id', fields: ['tier', 'address.city'] },
          { type: 'branch', field: 'kind', branches: { a: 'route-a', __proto__x: 'x' }, default_route: 'rest' },
          { type: 'window', config: { window_type: 'session', session_timeout_seconds: 30 }, aggregation: { type: 'reduce', function: 'max', field: 'n' } },
        ],
      }),
      limits,
    );
    expect(config.operators.map((o) => o.type)).toEqual(['reduce', 'enrich', 'branch', 'window']);
    expect(config.operators[0]).toEqual({ type: 'reduce', function: 'count', field: null, group_by: null });
  });

  it.each<[string, unknown, RegExp]>([
    ['a non-object body', [1], /must be a JSON object/],
    ['a missing name', { source_event_types: [], operators: [] }, /'name' is required/],
    ['a blank name', base({ name: '  ' }), /'name' must not be blank/],
    ['an unknown top-level field', base({ operator: [] }), /unknown field 'operator'/],
    ['a bad id', base({ id: '../etc' }), /'id' must be/],
    ['the reserved id stats', base({ id: 'stats' }), /reserved/],
    ['missing source_event_types', { name: 'p', operators: [] }, /'source_event_types' is required/],
    ['source_event_types not an array', base({ source_event_types: 'a.b' }), /must be an array/],
    ['an empty event type', base({ source_event_types: [''] }), /source_event_types\[0\]/],
    ['missing operators', { name: 'p', source_event_types: [] }, /'operators' is required/],
    ['enabled not a boolean', base({ enabled: 'yes' }), /'enabled' must be true or false/],
    ['too many operators', base({ operators: Array.from({ length: 5 }, () => ({ type: 'reduce', function: 'count' })) }), /at most 4 operators/],
    ['an operator that is not an object', base({ operators: ['filter'] }), /operators\[0\]: an operator must be an object/],
    ['an unknown operator type', op({ type: 'join' }), /operators\[0\]: unknown operator type string "join"/],
    ['a missing operator type', op({ field: 'a' }), /unknown operator type undefined/],
    ['a filter without field', op({ type: 'filter', op: 'eq', value: 1 }), /\(filter\): 'field' is required/],
    ['a filter with a bad op', op({ type: 'filter', field: 'a', op: 'gte', value: 1 }), /'op' must be one of eq, ne, gt, lt, contains/],
    ['a filter without value', op({ type: 'filter', field: 'a', op: 'eq' }), /'value' is required/],
    ['gt against an object', op({ type: 'filter', field: 'a', op: 'gt', value: {} }), /compares numbers or strings/],
    ['an empty path segment', op({ type: 'filter', field: 'a..b', op: 'eq', value: 1 }), /empty segment/],
    ['a __proto__ path', op({ type: 'map', field: '__proto__.x', transform: 'trim' }), /reserved segment '__proto__'/],
    ['an unknown map transform', op({ type: 'map', field: 'a', transform: 'reverse' }), /'transform' must be uppercase/],
    ['a multiply without number', op({ type: 'map', field: 'a', transform: 'multiply:' }), /'transform' must be/],
    ['a multiply with a bad number', op({ type: 'map', field: 'a', transform: 'multiply:2x' }), /'transform' must be/],
    ['an infinite add', op({ type: 'map', field: 'a', transform: 'add:1e400' }), /out of range/],
    ['an unknown reduce function', op({ type: 'reduce', field: 'a', function: 'median' }), /'function' must be one of count, sum, avg, min, max/],
    ['a sum without field', op({ type: 'reduce', function: 'sum' }), /\(reduce\): 'field' is required/],
    ['an unknown reduce field', op({ type: 'reduce', function: 'count', groupby: 'a' }), /unknown field 'groupby'/],
    ['a window without config', op({ type: 'window', aggregation: { function: 'count' } }), /'config' must be an object/],
    ['an unknown window type', op({ type: 'window', config: { window_type: 'hopping', size_seconds: 1 }, aggregation: { function: 'count' } }), /'window_type' must be one of tumbling, sliding, session/],
    ['a tumbling window without size', op({ type: 'window', config: { window_type: 'tumbling' }, aggregation: { function: 'count' } }), /'size_seconds' is required for tumbling/],
    ['a zero size', op({ type: 'window', config: { window_type: 'tumbling', size_seconds: 0 }, aggregation: { function: 'count' } }), /'size_seconds' must be between/],
    ['a negative size', op({ type: 'window', config: { window_type: 'tumbling', size_seconds: -5 }, aggregation: { function: 'count' } }), /must be between/],
    ['a size given as text', op({ type: 'window', config: { window_type: 'tumbling', size_seconds: '60' }, aggregation: { function: 'count' } }), /'size_seconds' must be a number/],
    ['sliding without slide_seconds', op({ type: 'window', config: { window_type: 'sliding', size_seconds: 60 }, aggregation: { function: 'count' } }), /'slide_seconds' is required for sliding windows/],
    ['a slide larger than the size', op({ type: 'window', config: { window_type: 'sliding', size_seconds: 10, slide_seconds: 20 }, aggregation: { function: 'count' } }), /must not exceed/],
    ['too many overlapping windows', op({ type: 'window', config: { window_type: 'sliding', size_seconds: 1000, slide_seconds: 1 }, aggregation: { function: 'count' } }), /at most 100/],
    ['slide_seconds on a tumbling window', op({ type: 'window', config: { window_type: 'tumbling', size_seconds: 10, slide_seconds: 5 }, aggregation: { function: 'count' } }), /only applies to sliding/],
    ['a session without timeout', op({ type: 'window', config: { window_type: 'session', size_seconds: 60 }, aggregation: { function: 'count' } }), /'session_timeout_seconds' is required/],
    ['a session timeout on a tumbling window', op({ type: 'window', config: { window_type: 'tumbling', size_seconds: 10, session_timeout_seconds: 5 }, aggregation: { function: 'count' } }), /only applies to session/],
    ['a window without aggregation', op({ type: 'window', config: { window_type: 'tumbling', size_seconds: 10 } }), /'aggregation' must be a reduce operator/],
    ['a window aggregation of another type', op({ type: 'window', config: { window_type: 'tumbling', size_seconds: 10 }, aggregation: { type: 'filter', function: 'count' } }), /must be a reduce operator/],
    ['an unknown enrich source', op({ type: 'enrich', source: 'http://x', fields: ['a'] }), /'source' must be metadata, event, entity/],
    ['an enrich without fields', op({ type: 'enrich', source: 'metadata', fields: [] }), /non-empty array/],
    ['an unknown event field', op({ type: 'enrich', source: 'event', fields: ['payload'] }), /must be one of id, entity_id/],
    ['a bad entity path', op({ type: 'enrich', source: 'entity:', fields: ['a'] }), /the path in 'source' must not be empty/],
    ['a branch without branches', op({ type: 'branch', field: 'a', branches: {} }), /at least one value/],
    ['a branch route that is not a string', op({ type: 'branch', field: 'a', branches: { x: 1 } }), /must be a string/],
    ['a blank branch route', op({ type: 'branch', field: 'a', branches: { x: ' ' } }), /must not be blank/],
  ])('rejects %s', (_what, body, reason) => {
    rejects(body, reason);
  });

  it('bounds the whole config: 256 KiB of JSON (filter values and branch values are otherwise open)', () => {
    const config = (value: string) => ({ name: 'p', source_event_types: [], operators: [{ type: 'filter', field: 'a', op: 'eq', value }] });
    expect(validatePipelineConfig(config('v'.repeat(200_000)), limits).operators).toHaveLength(1);
    expect(() => validatePipelineConfig(config('v'.repeat(300_000)), limits)).toThrow(/the config is \d+ bytes as JSON, more than 262144/);
  });

  it('keeps branch values as plain data (no prototype)', () => {
    const config = validatePipelineConfig(JSON.parse('{"name":"p","source_event_types":[],"operators":[{"type":"branch","field":"a","branches":{"__proto__":"proto","toString":"ts"}}]}'), limits);
    const branch = config.operators[0];
    if (branch?.type !== 'branch') throw new Error('expected a branch');
    expect(Object.getPrototypeOf(branch.branches)).toBeNull();
    expect(Object.keys(branch.branches).sort()).toEqual(['__proto__', 'toString']);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });
});
