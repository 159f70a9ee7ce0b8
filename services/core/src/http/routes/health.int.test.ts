/**
 * Integration tests of /health and /api/v1/stats through real sockets.
 */
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { AllSourceClient, type StatsResponse } from '@allsource/client';
import pino from 'pino';
import { startCore } from '../../app/createCore';
import { loadConfig } from '../../config';
import { useTestCore } from '../../testing/testCore';

const PACKAGE_VERSION = (JSON.parse(readFileSync(path.join(__dirname, '../../../package.json'), 'utf8')) as { version: string }).version;

describe('health and stats', () => {
  const t = useTestCore({ FLUSH_MAX_AGE_MS: '3600000' }); // flushes only when the test asks

  it('answers /health with status, service and the package version', async () => {
    const res = await t.client.raw('GET', '/health');
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toMatch(/^application\/json/);
    expect(res.data).toMatchObject({ status: 'healthy', service: 'allsource-core', version: PACKAGE_VERSION });
    expect(PACKAGE_VERSION).toMatch(/^\d+\.\d+\.\d+/);
  });

  it('has the four AllSource integer fields at zero, plus storage fields, on an empty store', async () => {
    const stats = await t.client.stats();
    for (const key of ['total_events', 'total_entities', 'total_event_types', 'total_ingested'] as const) {
      expect({ key, integer: Number.isInteger(stats[key]), value: stats[key] }).toEqual({ key, integer: true, value: 0 });
    }
    for (const key of ['storage_bytes', 'wal_segments', 'parquet_files'] as const) {
      expect({ key, integer: Number.isInteger(stats[key]), nonNegative: stats[key] >= 0 }).toEqual({ key, integer: true, nonNegative: true });
    }
    expect(stats.parquet_files).toBe(0);
  });

  it('counts what was ingested, and moves buffered events into Parquet on flush', async () => {
    await t.client.ingest({ event_type: 'user.created', entity_id: 'u1', payload: { a: 1 } });
    await t.client.ingest({ event_type: 'user.renamed', entity_id: 'u1', payload: { a: 2 } });
    await t.client.ingestBatch([
      { event_type: 'user.created', entity_id: 'u2', payload: {} },
      { event_type: 'order.placed', entity_id: 'o1', payload: {}, tenant_id: 'acme' },
      { event_type: 'order.placed', entity_id: 'o2', payload: {} },
    ]);
    // Rejected ingests count for nothing.
    await t.client.raw('POST', '/api/v1/events', { body: { event_type: 'Bad', entity_id: 'x', payload: {} } });
    await t.client.raw('POST', '/api/v1/events', { body: { event_type: 'a.b', entity_id: 'u1', payload: {}, expected_version: 0 } });

    const stats = await t.client.stats();
    expect(stats).toMatchObject({ total_events: 5, total_entities: 4, total_event_types: 3, total_ingested: 5, buffered_events: 5 });
    expect(stats.storage_bytes).toBeGreaterThan(0);
    expect(stats.wal_segments).toBeGreaterThanOrEqual(1);
    expect(stats.parquet_files).toBe(0);

    await t.core.store.flush();
    const flushed = await t.client.stats();
    expect(flushed.parquet_files).toBeGreaterThanOrEqual(1);
    expect(flushed.buffered_events).toBe(0);
    expect(flushed).toMatchObject({ total_events: 5, total_entities: 4, total_event_types: 3, total_ingested: 5 });
    expect(flushed.storage_bytes).toBeGreaterThan(0);
  });

  it('counts total_ingested per process while total_events covers what is on disk', async () => {
    const before = await t.client.stats();
    await t.core.close(); // keep the data directory
    const again = await startCore(loadConfig({ DATA_DIR: t.dataDir, PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'silent' }), {
      logger: pino({ level: 'silent' }),
    });
    try {
      const client = new AllSourceClient({ baseUrl: `http://127.0.0.1:${again.port}` });
      const restarted: StatsResponse = await client.stats();
      expect(restarted).toMatchObject({
        total_events: before.total_events,
        total_entities: before.total_entities,
        total_event_types: before.total_event_types,
        total_ingested: 0,
      });
      await client.ingest({ event_type: 'user.created', entity_id: 'u9', payload: {} });
      expect(await client.stats()).toMatchObject({ total_events: before.total_events + 1, total_ingested: 1 });
      expect((await client.health()).status).toBe('healthy');
    } finally {
      await again.close();
    }
  });
});
