/**
 * Stream pipelines through the HTTP API of a real core (real sockets, real data directory):
 * create, ingest, results, stats, reset, delete, errors, metrics, and configs across a restart.
 */
import { readdir } from 'node:fs/promises';
import * as path from 'node:path';
import type { PipelineConfig } from '@allsource/client';
import { scrapeSum } from '../testing/metricsText';
import { makeTempDir, removeDir } from '../testing/tempDirs';
import { startTestCore, useTestCore } from '../testing/testCore';

type Json = Record<string, unknown>;

const salesConfig = {
  id: 'sales-by-region',
  name: 'sales_by_region',
  description: 'sum of amounts per region per minute',
  source_event_types: ['order.placed'],
  enabled: true,
  operators: [
    { type: 'filter', field: 'amount', op: 'gt', value: 0 },
    { type: 'map', field: 'region', transform: 'uppercase' },
    { type: 'window', config: { window_type: 'tumbling', size_seconds: 60 }, aggregation: { type: 'reduce', field: 'amount', function: 'sum', group_by: 'region' } },
    { type: 'reduce', field: 'amount', function: 'sum', group_by: 'region' },
  ],
} as unknown as PipelineConfig;

describe('stream pipelines over HTTP', () => {
  const t = useTestCore({ PIPELINE_MAX: '4' });

  it('creates a pipeline with a tumbling window and a reduce, and aggregates the live stream', async () => {
    const before = {
      processed: await scrapeSum(t, 'allsource_pipeline_events_processed', { pipeline_name: 'sales_by_region' }),
      filtered: await scrapeSum(t, 'allsource_pipeline_events_filtered', { pipeline_name: 'sales_by_region' }),
      timed: await scrapeSum(t, 'allsource_pipeline_processing_duration_seconds_count', { pipeline_name: 'sales_by_region' }),
    };
    expect(await t.client.pipelines.create(salesConfig)).toEqual({ pipeline_id: 'sales-by-region', name: 'sales_by_region', enabled: true });
    expect(await scrapeSum(t, 'allsource_pipelines_registered_total')).toBe(1);

    await t.client.ingest({ event_type: 'order.placed', entity_id: 'o1', payload: { region: 'eu', amount: 10 } });
    await t.client.ingest({ event_type: 'order.placed', entity_id: 'o2', payload: { region: 'us', amount: 4 } });
    await t.client.ingestBatch({
      events: [
        { event_type: 'order.placed', entity_id: 'o3', payload: { region: 'eu', amount: 5 } },
        { event_type: 'order.placed', entity_id: 'o4', payload: { region: 'eu', amount: 0 } }, // filtered
        { event_type: 'order.paid', entity_id: 'o1', payload: { region: 'eu', amount: 99 } }, // other type
      ],
    });

    const results = (await t.client.pipelines.results('sales-by-region')) as unknown as { operators: Json[]; recent_outputs: Json[] } & Json;
    expect(results).toMatchObject({ pipeline_id: 'sales-by-region', events_processed: 3, events_filtered: 1, events_failed: 0 });
    const reduce = results.operators[3]!;
    expect(reduce.groups).toEqual([
      { group: 'EU', count: 2, value: 15 },
      { group: 'US', count: 1, value: 4 },
    ]);
    // The events may straddle a minute boundary: add the windows up.
    const window = results.operators[2]!;
    expect(window).toMatchObject({ type: 'window', window_type: 'tumbling', size_seconds: 60, function: 'sum', group_by: 'region', late_events: 0 });
    const perRegion: Record<string, number> = {};
    for (const w of window.windows as Array<{ groups: Array<{ group: string; value: number }>; window_start: string; window_end: string }>) {
      expect(Date.parse(w.window_end) - Date.parse(w.window_start)).toBe(60_000);
      for (const g of w.groups) perRegion[g.group] = (perRegion[g.group] ?? 0) + g.value;
    }
    expect(perRegion).toEqual({ EU: 15, US: 4 });
    expect(results.recent_outputs.map((r) => r.payload)).toEqual([
      { region: 'EU', amount: 10 },
      { region: 'US', amount: 4 },
      { region: 'EU', amount: 5 },
    ]);

    const stats = await t.client.pipelines.pipelineStats('sales-by-region');
    expect(stats).toMatchObject({ pipeline_id: 'sales-by-region', events_processed: 3, events_filtered: 1, events_failed: 0 });
    expect(Date.parse(stats.last_processed!)).not.toBeNaN();

    // The stored events are unchanged by the map.
    const stored = await t.client.queryEvents({ entity_id: 'o1', event_type: 'order.placed' });
    expect(stored.events[0]!.payload).toEqual({ region: 'eu', amount: 10 });

    // Metrics moved.
    expect(await scrapeSum(t, 'allsource_pipeline_events_processed', { pipeline_name: 'sales_by_region' })).toBe(before.processed + 3);
    expect(await scrapeSum(t, 'allsource_pipeline_events_filtered', { pipeline_name: 'sales_by_region' })).toBe(before.filtered + 1);
    // One observation per commit group that had events of the pipeline's types (3 ingest calls).
    expect(await scrapeSum(t, 'allsource_pipeline_processing_duration_seconds_count', { pipeline_name: 'sales_by_region' })).toBe(before.timed + 3);
  });

  it('lists pipelines, their configs and all stats', async () => {
    const list = await t.client.pipelines.list();
    expect(list.total).toBe(1);
    expect(list.pipelines[0]).toMatchObject({ id: 'sales-by-region', name: 'sales_by_region', source_event_types: ['order.placed'], enabled: true });
    const one = await t.client.pipelines.get('sales-by-region');
    expect(one.operators).toHaveLength(4);
    expect(one.created_at).toEqual(expect.stringMatching(/Z$/));
    const all = (await t.client.pipelines.stats()) as { stats: Json[]; total: number };
    expect(all.total).toBe(1);
    expect(all.stats[0]).toMatchObject({ pipeline_id: 'sales-by-region', events_processed: 3 });
  });

  it('counts failures per pipeline and never fails ingestion', async () => {
    await t.client.pipelines.create({
      id: 'fragile',
      name: 'fragile',
      source_event_types: ['reading.taken'],
      enabled: true,
      operators: [{ type: 'map', field: 'value', transform: 'multiply:2' }],
    });
    const ok = await t.client.ingest({ event_type: 'reading.taken', entity_id: 's1', payload: { value: 'not a number' } });
    expect(ok.version).toBe(1);
    await t.client.ingest({ event_type: 'reading.taken', entity_id: 's1', payload: { value: 21 } });
    const stats = await t.client.pipelines.pipelineStats('fragile');
    expect(stats).toMatchObject({ events_processed: 1, events_failed: 1 });
    expect((stats as unknown as { last_error: { message: string } }).last_error.message).toMatch(/not a number/);
    expect(((await t.client.pipelines.results('fragile')) as unknown as { recent_outputs: Json[] }).recent_outputs[0]!.payload).toEqual({ value: 42 });
  });

  it('enriches from the state of another entity', async () => {
    await t.client.pipelines.create({
      id: 'orders-by-tier',
      name: 'orders_by_tier',
      source_event_types: ['shop.order'],
      enabled: true,
      operators: [
        { type: 'enrich', source: 'entity:customer_id', fields: ['tier'] },
        { type: 'reduce', field: 'total', function: 'count', group_by: 'tier' },
      ],
    } as unknown as PipelineConfig);
    await t.client.ingest({ event_type: 'shop.customer', entity_id: 'cust-1', payload: { tier: 'gold' } });
    await t.client.ingest({ event_type: 'shop.order', entity_id: 'ord-1', payload: { customer_id: 'cust-1', total: 3 } });
    const reduce = ((await t.client.pipelines.results('orders-by-tier')) as unknown as { operators: Json[] }).operators[1]!;
    expect(reduce.groups).toEqual([{ group: 'gold', count: 1, value: 1 }]);
    await t.client.pipelines.delete('orders-by-tier');
  });

  it('resets state and stats', async () => {
    const before = await scrapeSum(t, 'allsource_pipeline_events_processed', { pipeline_name: 'sales_by_region' });
    const res = await t.client.raw('PUT', '/api/v1/pipelines/sales-by-region/reset');
    expect(res.status).toBe(200);
    expect(res.data).toEqual({ pipeline_id: 'sales-by-region', reset: true });
    expect(await t.client.pipelines.pipelineStats('sales-by-region')).toMatchObject({ events_processed: 0, events_filtered: 0, events_failed: 0, last_processed: null });
    const results = (await t.client.pipelines.results('sales-by-region')) as unknown as { operators: Json[] };
    expect(results.operators[2]!.windows).toEqual([]);
    expect(results.operators[3]!.groups).toEqual([]);
    // Counters only go up.
    expect(await scrapeSum(t, 'allsource_pipeline_events_processed', { pipeline_name: 'sales_by_region' })).toBe(before);
  });

  it('answers 400 for invalid configs and bodies, 409 for a duplicate id, 404 for unknown pipelines', async () => {
    const bad = await t.client.raw('POST', '/api/v1/pipelines', {
      body: { name: 'x', source_event_types: [], operators: [{ type: 'window', config: { window_type: 'sliding', size_seconds: 60 }, aggregation: { function: 'count' } }] },
    });
    expect(bad.status).toBe(400);
    expect(bad.data).toEqual({ error: "Invalid input: operators[0] (window): config: 'slide_seconds' is required for sliding windows", code: 'INVALID_INPUT' });

    const malformed = await t.client.raw('POST', '/api/v1/pipelines', { body: '{"name":', headers: { 'Content-Type': 'application/json' } });
    expect(malformed.status).toBe(400);
    const wrongType = await t.client.raw('POST', '/api/v1/pipelines', { body: 'name=x', headers: { 'Content-Type': 'text/plain' } });
    expect(wrongType.status).toBe(415);

    const dup = await t.client.raw('POST', '/api/v1/pipelines', { body: salesConfig });
    expect(dup.status).toBe(409);
    expect((dup.data as Json).code).toBe('CONFLICT');

    for (const [method, url] of [
      ['GET', '/api/v1/pipelines/nope'],
      ['DELETE', '/api/v1/pipelines/nope'],
      ['GET', '/api/v1/pipelines/nope/stats'],
      ['PUT', '/api/v1/pipelines/nope/reset'],
      ['GET', '/api/v1/pipelines/nope/results'],
    ] as const) {
      const res = await t.client.raw(method, url);
      expect([method, url, res.status, (res.data as Json).code]).toEqual([method, url, 404, 'NOT_FOUND']);
    }
  });

  it('answers 429 past PIPELINE_MAX and deletes pipelines (gauge follows)', async () => {
    const registered = await scrapeSum(t, 'allsource_pipelines_registered_total');
    expect(registered).toBe(2);
    await t.client.pipelines.create({ id: 'third', name: 'third', source_event_types: [], operators: [], enabled: false });
    // A disabled pipeline is registered but not active.
    expect(await scrapeSum(t, 'allsource_pipelines_registered_total')).toBe(2);
    await t.client.pipelines.create({ id: 'fourth', name: 'fourth', source_event_types: [], operators: [], enabled: true });
    const over = await t.client.raw('POST', '/api/v1/pipelines', { body: { name: 'fifth', source_event_types: [], operators: [] } });
    expect(over.status).toBe(429);
    expect((over.data as Json).error).toMatch(/^Too many requests: at most 4 pipelines/);

    for (const id of ['third', 'fourth', 'fragile']) {
      const res = await t.client.raw('DELETE', `/api/v1/pipelines/${id}`);
      expect(res.status).toBe(200);
      expect(res.data).toEqual({ pipeline_id: id, deleted: true });
    }
    expect((await t.client.raw('GET', '/api/v1/pipelines/fragile')).status).toBe(404);
    expect(await scrapeSum(t, 'allsource_pipelines_registered_total')).toBe(1);
  });
});

describe('pipelines across a restart', () => {
  let dataDir: string;
  beforeAll(async () => {
    dataDir = await makeTempDir('allsource-pipelines-restart-');
  });
  afterAll(async () => {
    await removeDir(dataDir);
  });

  it('keeps configs (state starts empty) and goes on consuming', async () => {
    const first = await startTestCore({ DATA_DIR: dataDir });
    try {
      await first.client.pipelines.create(salesConfig);
      await first.client.pipelines.create({ id: 'paused', name: 'paused', source_event_types: [], operators: [], enabled: false });
      await first.client.ingest({ event_type: 'order.placed', entity_id: 'o1', payload: { region: 'eu', amount: 10 } });
      expect((await first.client.pipelines.pipelineStats('sales-by-region')).events_processed).toBe(1);
    } finally {
      await first.stop();
    }
    expect((await readdir(path.join(dataDir, 'pipelines'))).sort()).toEqual(['paused.json', 'sales-by-region.json']);

    const second = await startTestCore({ DATA_DIR: dataDir });
    try {
      const list = await second.client.pipelines.list();
      expect(list.pipelines.map((p) => [p.id, p.enabled]).sort()).toEqual([
        ['paused', false],
        ['sales-by-region', true],
      ]);
      expect(await second.client.pipelines.get('sales-by-region')).toMatchObject({ name: 'sales_by_region', description: salesConfig.description });
      expect(await scrapeSum(second, 'allsource_pipelines_registered_total')).toBe(1);
      // State restarted empty; the stored event is not replayed into the pipeline.
      expect((await second.client.pipelines.pipelineStats('sales-by-region')).events_processed).toBe(0);
      await second.client.ingest({ event_type: 'order.placed', entity_id: 'o2', payload: { region: 'us', amount: 2 } });
      const reduce = ((await second.client.pipelines.results('sales-by-region')) as unknown as { operators: Json[] }).operators[3]!;
      expect(reduce.groups).toEqual([{ group: 'US', count: 1, value: 2 }]);
    } finally {
      await second.stop();
    }
  });
});
