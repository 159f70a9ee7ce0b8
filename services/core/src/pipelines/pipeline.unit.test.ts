import { PipelineEvent } from './pipelineEvent';
import { feed, storedEvent as ev, testPipeline } from './testEvents';

type Json = Record<string, unknown>;

function ops(pipeline: ReturnType<typeof testPipeline>, watermarkUs?: number): Json[] {
  return (pipeline.results(watermarkUs) as { operators: Json[] }).operators;
}

function windowsOf(pipeline: ReturnType<typeof testPipeline>, index = 0, watermarkUs?: number): Json[] {
  return ops(pipeline, watermarkUs)[index]!.windows as Json[];
}

const us = (iso: string): number => Date.parse(iso) * 1000;

describe('Pipeline: source types and stats', () => {
  it('consumes only its source event types; an empty list means every type', () => {
    const only = testPipeline({ source_event_types: ['order.placed'] });
    const all = testPipeline({ source_event_types: [] });
    const events = [ev('order.placed', {}), ev('order.paid', {}), ev('user.created', {})];
    expect(feed(only, events)).toEqual({ received: 1, processed: 1, filtered: 0, failed: 0 });
    expect(feed(all, events)).toEqual({ received: 3, processed: 3, filtered: 0, failed: 0 });
    expect(only.stats()).toMatchObject({ events_processed: 1, events_filtered: 0, events_failed: 0 });
    expect(only.stats().last_processed).toMatch(/Z$/);
  });

  it('keeps last_processed null until an event of its types arrives', () => {
    const p = testPipeline({ source_event_types: ['a.b'] });
    feed(p, [ev('c.d', {})]);
    expect(p.stats().last_processed).toBeNull();
  });
});

describe('filter operator', () => {
  const cases: Array<[string, unknown, unknown[], unknown[]]> = [
    // [op, value, payload values that pass, payload values that are dropped]
    ['eq', 'eu', ['eu'], ['us', 1, null]],
    ['eq', { a: [1, 2] }, [{ a: [1, 2] }], [{ a: [2, 1] }, 'x']],
    ['eq', 1, [1], ['1', true]],
    ['ne', 'eu', ['us', 1, null], ['eu']],
    ['gt', 10, [11, 10.5], [10, 9, '11']],
    ['lt', 10, [9, -1], [10, 11, '9']],
    ['gt', 'm', ['n', 'zz'], ['a', 'm', 5]],
    ['contains', 'ell', ['hello'], ['help', 3]],
    ['contains', 2, [[1, 2, 3]], [[1, 3], 2]],
    ['contains', 'k', [{ k: 1 }], [{ j: 1 }]],
  ];

  it.each(cases)('%s %j', (op, value, pass, drop) => {
    const p = testPipeline({ operators: [{ type: 'filter', field: 'x.v', op, value }] });
    const delta = feed(p, [...pass.map((v) => ev('t.e', { x: { v } })), ...drop.map((v) => ev('t.e', { x: { v } }))]);
    expect(delta).toEqual({ received: pass.length + drop.length, processed: pass.length, filtered: drop.length, failed: 0 });
    expect(ops(p)[0]).toMatchObject({ type: 'filter', events_dropped: drop.length });
  });

  it('drops events where the field is missing, for every op (ne included)', () => {
    for (const op of ['eq', 'ne', 'gt', 'lt', 'contains']) {
      const p = testPipeline({ operators: [{ type: 'filter', field: 'missing', op, value: 1 }] });
      expect(feed(p, [ev('t.e', { other: 1 }), ev('t.e', 'not an object')]).filtered).toBe(2);
    }
  });

  it('stops at the first filter that drops: later operators do not see the event', () => {
    const p = testPipeline({
      operators: [
        { type: 'filter', field: 'keep', op: 'eq', value: true },
        { type: 'reduce', function: 'count' },
      ],
    });
    feed(p, [ev('t.e', { keep: true }), ev('t.e', { keep: false }), ev('t.e', { keep: true })]);
    expect(p.stats()).toMatchObject({ events_processed: 2, events_filtered: 1 });
    expect(ops(p)[1]!.groups).toEqual([{ group: null, count: 2, value: 2 }]);
  });
});

describe('map operator', () => {
  it.each<[string, unknown, unknown]>([
    ['uppercase', 'Hello', 'HELLO'],
    ['lowercase', 'Hello', 'hello'],
    ['trim', '  hi  ', 'hi'],
    ['multiply:2.5', 4, 10],
    ['multiply:-1', 3, -3],
    ['add:10', 5, 15],
    ['add:-0.5', 1, 0.5],
  ])('%s', (transform, input, output) => {
    const p = testPipeline({ operators: [{ type: 'map', field: 'a.b', transform }] });
    feed(p, [ev('t.e', { a: { b: input }, other: 1 })]);
    const recent = (p.results() as { recent_outputs: Json[] }).recent_outputs;
    expect(recent[0]!.payload).toEqual({ a: { b: output }, other: 1 });
  });

  it('works on a copy: the stored event and other pipelines see the original payload', () => {
    const stored = ev('t.e', { name: 'ada', n: 1 });
    const shared = new PipelineEvent(stored);
    const upper = testPipeline({ operators: [{ type: 'map', field: 'name', transform: 'uppercase' }, { type: 'reduce', function: 'count', group_by: 'name' }] });
    const plain = testPipeline({ operators: [{ type: 'reduce', function: 'count', group_by: 'name' }] });
    upper.process([shared]);
    plain.process([shared]);
    expect(ops(upper)[1]!.groups).toEqual([{ group: 'ADA', count: 1, value: 1 }]);
    expect(ops(plain)[0]!.groups).toEqual([{ group: 'ada', count: 1, value: 1 }]);
    expect(JSON.parse(stored.payloadJson)).toEqual({ name: 'ada', n: 1 });
    expect(shared.payload).toEqual({ name: 'ada', n: 1 });
  });

  it('leaves a missing field missing', () => {
    const p = testPipeline({ operators: [{ type: 'map', field: 'absent', transform: 'add:1' }] });
    expect(feed(p, [ev('t.e', { n: 1 })])).toMatchObject({ processed: 1, failed: 0 });
    expect((p.results() as { recent_outputs: Json[] }).recent_outputs[0]!.payload).toEqual({ n: 1 });
  });

  it('fails an event whose field has the wrong type, and goes on with the next events', () => {
    const p = testPipeline({ operators: [{ type: 'map', field: 'n', transform: 'multiply:2' }, { type: 'reduce', function: 'sum', field: 'n' }] });
    const bad = ev('t.e', { n: 'seven' });
    expect(feed(p, [ev('t.e', { n: 1 }), bad, ev('t.e', { n: 2 })])).toEqual({ received: 3, processed: 2, filtered: 0, failed: 1 });
    expect(p.stats().last_error).toMatchObject({ event_id: bad.id, message: expect.stringContaining("field 'n' is not a number (got string)") });
    expect(ops(p)[1]!.groups).toEqual([{ group: null, count: 2, value: 6 }]);

    const upper = testPipeline({ operators: [{ type: 'map', field: 'n', transform: 'uppercase' }] });
    expect(feed(upper, [ev('t.e', { n: 5 })]).failed).toBe(1);
    expect(upper.stats().last_error?.message).toMatch(/not a string \(got number\)/);
  });
});

describe('reduce operator', () => {
  const events = () => [
    ev('t.e', { region: 'eu', amount: 10 }),
    ev('t.e', { region: 'us', amount: 5 }),
    ev('t.e', { region: 'eu', amount: 30 }),
    ev('t.e', { region: 'eu', amount: -4 }),
    ev('t.e', { amount: 1 }),
  ];

  it.each<[string, Array<[string | null, number]>]>([
    ['count', [[null, 1], ['eu', 3], ['us', 1]]],
    ['sum', [[null, 1], ['eu', 36], ['us', 5]]],
    ['avg', [[null, 1], ['eu', 12], ['us', 5]]],
    ['min', [[null, 1], ['eu', -4], ['us', 5]]],
    ['max', [[null, 1], ['eu', 30], ['us', 5]]],
  ])('%s by group (missing group value → group null)', (fn, expected) => {
    const p = testPipeline({ operators: [{ type: 'reduce', field: 'amount', function: fn, group_by: 'region' }] });
    feed(p, events());
    const groups = ops(p)[0]!.groups as Json[];
    expect(groups.map((g) => [g.group, g.value])).toEqual(expected);
    expect(groups.map((g) => g.count)).toEqual([1, 3, 1]);
  });

  it('aggregates everything in one group without group_by, and groups numbers/booleans by their text', () => {
    const total = testPipeline({ operators: [{ type: 'reduce', field: 'amount', function: 'sum' }] });
    feed(total, events());
    expect(ops(total)[0]!.groups).toEqual([{ group: null, count: 5, value: 42 }]);
    const byFlag = testPipeline({ operators: [{ type: 'reduce', function: 'count', group_by: 'flag' }] });
    feed(byFlag, [ev('t.e', { flag: true }), ev('t.e', { flag: 1 }), ev('t.e', { flag: true })]);
    expect((ops(byFlag)[0]!.groups as Json[]).map((g) => [g.group, g.count])).toEqual([['1', 1], ['true', 2]]);
  });

  it('fails events whose field is missing or not a number', () => {
    const p = testPipeline({ operators: [{ type: 'reduce', field: 'amount', function: 'sum' }] });
    expect(feed(p, [ev('t.e', { amount: '5' }), ev('t.e', {}), ev('t.e', { amount: 2 })])).toMatchObject({ processed: 1, failed: 2 });
    expect(p.stats().last_error?.message).toBe("field 'amount' is missing");
    expect(ops(p)[0]!.groups).toEqual([{ group: null, count: 1, value: 2 }]);
  });

  it('folds groups past the maximum into __other__ and counts the folded events', () => {
    const p = testPipeline({ operators: [{ type: 'reduce', function: 'count', group_by: 'k' }] }, { maxGroups: 2 });
    feed(p, ['a', 'b', 'c', 'a', 'd', 'c'].map((k) => ev('t.e', { k })));
    const result = ops(p)[0]!;
    expect(result.groups).toEqual([
      { group: 'a', count: 2, value: 2 },
      { group: 'b', count: 1, value: 1 },
      { group: '__other__', count: 3, value: 3, folded: true },
    ]);
    expect(result.events_folded).toBe(3);
  });

  it('sends group values longer than 256 characters to __other__, without spending the group budget', () => {
    const p = testPipeline({ operators: [{ type: 'reduce', function: 'count', group_by: 'k' }] }, { maxGroups: 2 });
    const long = 'x'.repeat(257);
    feed(p, [long, 'a', long + 'y', 'x'.repeat(256)].map((k) => ev('t.e', { k })));
    const result = ops(p)[0]!;
    expect(result.groups).toEqual([
      { group: 'a', count: 1, value: 1 },
      { group: 'x'.repeat(256), count: 1, value: 1 },
      { group: '__other__', count: 2, value: 2, folded: true },
    ]);
    expect(result.events_folded).toBe(2);
  });
});

describe('tumbling windows', () => {
  const config = { window_type: 'tumbling', size_seconds: 60 };
  const sumByRegion = { type: 'window', config, aggregation: { type: 'reduce', function: 'sum', field: 'amount', group_by: 'region' } };

  it('aggregates per window and group, closes a window once event time passes its end, counts late events', () => {
    const p = testPipeline({ operators: [sumByRegion] });
    feed(p, [
      ev('t.e', { region: 'eu', amount: 10 }, { at: '2026-01-01T00:00:05Z' }),
      ev('t.e', { region: 'us', amount: 1 }, { at: '2026-01-01T00:00:30Z' }),
      ev('t.e', { region: 'eu', amount: 5 }, { at: '2026-01-01T00:00:59.999Z' }),
      ev('t.e', { region: 'eu', amount: 7 }, { at: '2026-01-01T00:01:10Z' }),
    ]);
    expect(windowsOf(p)).toEqual([
      {
        window_start: '2026-01-01T00:00:00.000000Z',
        window_end: '2026-01-01T00:01:00.000000Z',
        status: 'closed',
        events: 3,
        groups: [
          { group: 'eu', count: 2, value: 15 },
          { group: 'us', count: 1, value: 1 },
        ],
      },
      {
        window_start: '2026-01-01T00:01:00.000000Z',
        window_end: '2026-01-01T00:02:00.000000Z',
        status: 'open',
        events: 1,
        groups: [{ group: 'eu', count: 1, value: 7 }],
      },
    ]);
    // An event for the closed window is late: dropped and counted.
    feed(p, [ev('t.e', { region: 'eu', amount: 100 }, { at: '2026-01-01T00:00:50Z' })]);
    const result = ops(p)[0]!;
    expect(result.late_events).toBe(1);
    expect((result.windows as Json[])[0]!.events).toBe(3);
    expect(result.watermark).toBe('2026-01-01T00:01:10.000000Z');
  });

  it('closes open windows when results are read with a later watermark (wall clock)', () => {
    const p = testPipeline({ operators: [sumByRegion] });
    feed(p, [ev('t.e', { region: 'eu', amount: 1 }, { at: '2026-01-01T00:00:05Z' })]);
    expect(windowsOf(p)[0]!.status).toBe('open');
    expect(windowsOf(p, 0, us('2026-01-01T00:05:00Z'))[0]!.status).toBe('closed');
  });

  it('keeps a window open for the allowed lateness', () => {
    const p = testPipeline({ operators: [sumByRegion] }, { windowLatenessUs: 10_000_000 });
    feed(p, [
      ev('t.e', { region: 'eu', amount: 1 }, { at: '2026-01-01T00:00:05Z' }),
      ev('t.e', { region: 'eu', amount: 2 }, { at: '2026-01-01T00:01:05Z' }),
      ev('t.e', { region: 'eu', amount: 3 }, { at: '2026-01-01T00:00:58Z' }),
    ]);
    let windows = windowsOf(p);
    expect(windows.map((w) => [w.status, w.events])).toEqual([['open', 2], ['open', 1]]);
    feed(p, [ev('t.e', { region: 'eu', amount: 4 }, { at: '2026-01-01T00:01:10Z' })]);
    windows = windowsOf(p);
    expect(windows.map((w) => [w.status, w.events])).toEqual([['closed', 2], ['open', 2]]);
    expect((windows[0]!.groups as Json[])[0]!.value).toBe(4);
  });

  it('keeps at most PIPELINE_MAX_CLOSED_WINDOWS closed windows, oldest dropped first', () => {
    const p = testPipeline({ operators: [{ type: 'window', config, aggregation: { function: 'count' } }] }, { maxClosedWindows: 2 });
    feed(p, [0, 1, 2, 3, 4].map((m) => ev('t.e', {}, { at: `2026-01-01T00:0${m}:30Z` })));
    const result = ops(p)[0]!;
    expect((result.windows as Json[]).map((w) => [w.window_start, w.status])).toEqual([
      ['2026-01-01T00:02:00.000000Z', 'closed'],
      ['2026-01-01T00:03:00.000000Z', 'closed'],
      ['2026-01-01T00:04:00.000000Z', 'open'],
    ]);
    expect(result.closed_windows_dropped).toBe(2);
  });

  it('bounds the groups over open windows and folds the rest into __other__', () => {
    const p = testPipeline({ operators: [{ type: 'window', config, aggregation: { function: 'count', group_by: 'k' } }] }, { maxGroups: 2 });
    feed(p, ['a', 'b', 'c', 'd'].map((k) => ev('t.e', { k }, { at: '2026-01-01T00:00:10Z' })));
    // The closed window gives its groups back to the budget.
    feed(p, ['e', 'f'].map((k) => ev('t.e', { k }, { at: '2026-01-01T00:01:10Z' })));
    const result = ops(p)[0]!;
    const windows = result.windows as Json[];
    expect(windows[0]!.groups).toEqual([
      { group: 'a', count: 1, value: 1 },
      { group: 'b', count: 1, value: 1 },
      { group: '__other__', count: 2, value: 2, folded: true },
    ]);
    expect(windows[1]!.groups).toEqual([
      { group: 'e', count: 1, value: 1 },
      { group: 'f', count: 1, value: 1 },
    ]);
    expect(result.events_folded).toBe(2);
  });
});

describe('sliding windows', () => {
  it('adds each event to every window that covers it', () => {
    const p = testPipeline({
      operators: [{ type: 'window', config: { window_type: 'sliding', size_seconds: 60, slide_seconds: 30 }, aggregation: { function: 'sum', field: 'n' } }],
    });
    feed(p, [
      ev('t.e', { n: 1 }, { at: '2026-01-01T00:00:10Z' }), // [23:59:30, 00:00:30) and [00:00, 00:01)
      ev('t.e', { n: 2 }, { at: '2026-01-01T00:00:45Z' }), // [00:00, 00:01) and [00:00:30, 00:01:30)
    ]);
    expect(windowsOf(p).map((w) => [w.window_start, w.window_end, w.status, w.events, (w.groups as Json[])[0]!.value])).toEqual([
      ['2025-12-31T23:59:30.000000Z', '2026-01-01T00:00:30.000000Z', 'closed', 1, 1],
      ['2026-01-01T00:00:00.000000Z', '2026-01-01T00:01:00.000000Z', 'open', 2, 3],
      ['2026-01-01T00:00:30.000000Z', '2026-01-01T00:01:30.000000Z', 'open', 1, 2],
    ]);
    feed(p, [ev('t.e', { n: 4 }, { at: '2026-01-01T00:01:00Z' })]);
    expect(windowsOf(p).map((w) => [w.window_start, w.status, (w.groups as Json[])[0]!.value])).toEqual([
      ['2025-12-31T23:59:30.000000Z', 'closed', 1],
      ['2026-01-01T00:00:00.000000Z', 'closed', 3],
      ['2026-01-01T00:00:30.000000Z', 'open', 6],
      ['2026-01-01T00:01:00.000000Z', 'open', 4],
    ]);
  });
});

describe('session windows', () => {
  it('keeps one session per group while events come less than the timeout apart', () => {
    const p = testPipeline({
      operators: [{ type: 'window', config: { window_type: 'session', session_timeout_seconds: 30 }, aggregation: { function: 'count', group_by: 'user' } }],
    });
    feed(p, [
      ev('t.e', { user: 'a' }, { at: '2026-01-01T00:00:00Z' }),
      ev('t.e', { user: 'b' }, { at: '2026-01-01T00:00:05Z' }),
      ev('t.e', { user: 'a' }, { at: '2026-01-01T00:00:10Z' }),
      ev('t.e', { user: 'a' }, { at: '2026-01-01T00:00:20Z' }),
    ]);
    expect(windowsOf(p).map((w) => [w.window_start, w.window_end, w.status, (w.groups as Json[])[0]!.group, w.events])).toEqual([
      ['2026-01-01T00:00:00.000000Z', '2026-01-01T00:00:20.000000Z', 'open', 'a', 3],
      ['2026-01-01T00:00:05.000000Z', '2026-01-01T00:00:05.000000Z', 'open', 'b', 1],
    ]);
    // 50 s later: both sessions have timed out; a new session starts for a.
    feed(p, [ev('t.e', { user: 'a' }, { at: '2026-01-01T00:01:10Z' })]);
    expect(windowsOf(p).map((w) => [w.window_start, w.status, (w.groups as Json[])[0]!.group, w.events])).toEqual([
      ['2026-01-01T00:00:00.000000Z', 'closed', 'a', 3],
      ['2026-01-01T00:00:05.000000Z', 'closed', 'b', 1],
      ['2026-01-01T00:01:10.000000Z', 'open', 'a', 1],
    ]);
    // An event older than a closed session's end + timeout is late.
    feed(p, [ev('t.e', { user: 'c' }, { at: '2026-01-01T00:00:01Z' })]);
    expect(ops(p)[0]!.late_events).toBe(1);
    // Reading results with a later watermark closes the open session.
    expect(windowsOf(p, 0, us('2026-01-01T00:10:00Z')).every((w) => w.status === 'closed')).toBe(true);
  });

  it('splits a session that reaches size_seconds (the longest session)', () => {
    const p = testPipeline({
      operators: [{ type: 'window', config: { window_type: 'session', session_timeout_seconds: 30, size_seconds: 30 }, aggregation: { function: 'sum', field: 'n' } }],
    });
    feed(p, [0, 10, 20, 30, 40].map((s) => ev('t.e', { n: s }, { at: `2026-01-01T00:00:${String(s).padStart(2, '0')}Z` })));
    expect(windowsOf(p).map((w) => [w.window_start, w.status, w.events, (w.groups as Json[])[0]!.value])).toEqual([
      ['2026-01-01T00:00:00.000000Z', 'closed', 3, 30],
      ['2026-01-01T00:00:30.000000Z', 'open', 2, 70],
    ]);
  });

  it('folds sessions past the group maximum into one __other__ session', () => {
    const p = testPipeline(
      { operators: [{ type: 'window', config: { window_type: 'session', session_timeout_seconds: 60 }, aggregation: { function: 'count', group_by: 'user' } }] },
      { maxGroups: 1 },
    );
    feed(p, ['a', 'b', 'c'].map((user) => ev('t.e', { user }, { at: '2026-01-01T00:00:00Z' })));
    const result = ops(p)[0]!;
    expect((result.windows as Json[]).map((w) => w.groups)).toEqual([
      [{ group: 'a', count: 1, value: 1 }],
      [{ group: '__other__', count: 2, value: 2, folded: true }],
    ]);
    expect(result.events_folded).toBe(2);
  });

  it('sends group values longer than 256 characters to the __other__ session, without spending the group budget', () => {
    const p = testPipeline(
      { operators: [{ type: 'window', config: { window_type: 'session', session_timeout_seconds: 60 }, aggregation: { function: 'count', group_by: 'user' } }] },
      { maxGroups: 1 },
    );
    feed(p, ['z'.repeat(300), 'a', 'z'.repeat(257)].map((user) => ev('t.e', { user }, { at: '2026-01-01T00:00:00Z' })));
    const result = ops(p)[0]!;
    expect((result.windows as Json[]).map((w) => w.groups)).toEqual([
      [{ group: '__other__', count: 2, value: 2, folded: true }],
      [{ group: 'a', count: 1, value: 1 }],
    ]);
    expect(result.events_folded).toBe(2);
  });
});

describe('enrich operator', () => {
  it('copies fields from metadata and from the event envelope', () => {
    const p = testPipeline({
      operators: [
        { type: 'enrich', source: 'metadata', fields: ['source', 'trace.id', 'absent'] },
        { type: 'enrich', source: 'event', fields: ['entity_id', 'version', 'timestamp'] },
      ],
    });
    feed(p, [ev('t.e', { n: 1 }, { entity: 'order-7', version: 3, metadata: { source: 'web', trace: { id: 'x1' } }, at: '2026-01-01T00:00:01Z' })]);
    expect((p.results() as { recent_outputs: Json[] }).recent_outputs[0]!.payload).toEqual({
      n: 1,
      source: 'web',
      trace: { id: 'x1' },
      entity_id: 'order-7',
      version: 3,
      timestamp: '2026-01-01T00:00:01.000000Z',
    });
    feed(p, [ev('t.e', { n: 2 })]); // no metadata: a miss, nothing copied
    expect(ops(p)[0]).toMatchObject({ type: 'enrich', hits: 1, misses: 1 });
  });

  it('copies fields from entity states (own entity or the entity a payload field names); a miss asks to load it', () => {
    const states: Record<string, unknown> = { 'cust-1': { tier: 'gold', address: { city: 'Oslo' } } };
    const missed: string[] = [];
    const p = testPipeline(
      {
        operators: [
          { type: 'enrich', source: 'entity:customer_id', fields: ['tier', 'address.city'] },
          { type: 'reduce', function: 'sum', field: 'amount', group_by: 'tier' },
        ],
      },
      { entityState: (id) => states[id], onEntityMiss: (id) => missed.push(id) },
    );
    feed(p, [ev('order.placed', { customer_id: 'cust-1', amount: 5 }), ev('order.placed', { customer_id: 'cust-2', amount: 7 }), ev('order.placed', { amount: 1 })]);
    expect(ops(p)[1]!.groups).toEqual([
      { group: null, count: 2, value: 8 },
      { group: 'gold', count: 1, value: 5 },
    ]);
    expect(ops(p)[0]).toMatchObject({ hits: 1, misses: 2 });
    expect(missed).toEqual(['cust-2']);
    expect((p.results() as { recent_outputs: Json[] }).recent_outputs[0]!.payload).toEqual({ customer_id: 'cust-1', amount: 5, tier: 'gold', address: { city: 'Oslo' } });
    // The copy is deep: changing the output does not change the entity state.
    expect(states['cust-1']).toEqual({ tier: 'gold', address: { city: 'Oslo' } });

    const own = testPipeline({ operators: [{ type: 'enrich', source: 'entity', fields: ['tier'] }] }, { entityState: (id) => states[id] });
    feed(own, [ev('t.e', {}, { entity: 'cust-1' })]);
    expect((own.results() as { recent_outputs: Json[] }).recent_outputs[0]!.payload).toEqual({ tier: 'gold' });
  });

  it('fails the event when the payload is not an object to write into', () => {
    const p = testPipeline({ operators: [{ type: 'enrich', source: 'event', fields: ['id'] }] });
    expect(feed(p, [ev('t.e', [1, 2])]).failed).toBe(1);
    expect(p.stats().last_error?.message).toMatch(/not a JSON object/);
  });
});

describe('branch operator', () => {
  it('routes by value, counts per route and splits later aggregations by route', () => {
    const p = testPipeline({
      operators: [
        { type: 'branch', field: 'kind', branches: { refund: 'refunds', sale: 'sales', '1': 'ones' } },
        { type: 'reduce', function: 'sum', field: 'amount', group_by: 'region' },
      ],
    });
    feed(p, [
      ev('t.e', { kind: 'sale', region: 'eu', amount: 10 }),
      ev('t.e', { kind: 'refund', region: 'eu', amount: 3 }),
      ev('t.e', { kind: 'sale', region: 'eu', amount: 5 }),
      ev('t.e', { kind: 'other', region: 'us', amount: 1 }),
      ev('t.e', { kind: 1, region: 'us', amount: 2 }),
      ev('t.e', { kind: 'toString', region: 'us', amount: 4 }),
    ]);
    const [branch, reduce] = ops(p);
    expect(branch!.routes).toEqual([
      { route: 'default', count: 2 },
      { route: 'ones', count: 1 },
      { route: 'refunds', count: 1 },
      { route: 'sales', count: 2 },
    ]);
    expect(reduce!.groups).toEqual([
      { route: 'default', group: 'us', count: 2, value: 5 },
      { route: 'ones', group: 'us', count: 1, value: 2 },
      { route: 'refunds', group: 'eu', count: 1, value: 3 },
      { route: 'sales', group: 'eu', count: 2, value: 15 },
    ]);
    const recent = (p.results() as { recent_outputs: Json[] }).recent_outputs;
    expect(recent[0]!.route).toBe('sales');
  });

  it('uses default_route for unmatched and missing values', () => {
    const p = testPipeline({ operators: [{ type: 'branch', field: 'kind', branches: { a: 'A' }, default_route: 'rest' }] });
    feed(p, [ev('t.e', {}), ev('t.e', { kind: 'a' })]);
    expect(ops(p)[0]!.routes).toEqual([
      { route: 'A', count: 1 },
      { route: 'rest', count: 1 },
    ]);
  });
});

describe('reset and recent outputs', () => {
  it('reset forgets aggregates, windows, stats and outputs but keeps the config', () => {
    const p = testPipeline({
      operators: [
        { type: 'filter', field: 'n', op: 'gt', value: 0 },
        { type: 'reduce', function: 'count' },
        { type: 'window', config: { window_type: 'tumbling', size_seconds: 1 }, aggregation: { function: 'count' } },
      ],
    });
    feed(p, [ev('t.e', { n: 1 }), ev('t.e', { n: 0 }), ev('t.e', { n: 'x' })]);
    expect(p.stats()).toMatchObject({ events_processed: 1, events_filtered: 2 });
    p.reset();
    expect(p.stats()).toMatchObject({ events_processed: 0, events_filtered: 0, events_failed: 0, last_processed: null, last_error: null });
    const results = p.results() as { operators: Json[]; recent_outputs: unknown[] };
    expect(results.operators[0]!.events_dropped).toBe(0);
    expect(results.operators[1]!.groups).toEqual([]);
    expect(results.operators[2]!.windows).toEqual([]);
    expect(results.recent_outputs).toEqual([]);
    expect(p.config.operators).toHaveLength(3);
    // It goes on working after a reset (windows start again).
    feed(p, [ev('t.e', { n: 2 }, { at: '2025-01-01T00:00:00Z' })]);
    expect((ops(p)[2]!.windows as Json[])[0]!.events).toBe(1);
  });

  it('keeps only the latest PIPELINE_RECENT_OUTPUTS outputs, and none with 0', () => {
    const p = testPipeline({}, { recentOutputs: 2 });
    feed(p, [1, 2, 3].map((n) => ev('t.e', { n })));
    expect((p.results() as { recent_outputs: Json[] }).recent_outputs.map((r) => r.payload)).toEqual([{ n: 2 }, { n: 3 }]);
    const none = testPipeline({}, { recentOutputs: 0 });
    feed(none, [ev('t.e', { n: 1 })]);
    expect((none.results() as { recent_outputs: Json[] }).recent_outputs).toEqual([]);
  });
});
