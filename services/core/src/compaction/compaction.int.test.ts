/**
 * The compaction endpoints through a real core: many small segments (small FLUSH_MAX_EVENTS)
 * are merged on POST /api/v1/compaction/trigger, every event answers the same before and after,
 * stats and metrics move, concurrent triggers wait for each other, the interval runs passes by
 * itself, and a restart keeps everything.
 */
import { readdir } from 'node:fs/promises';
import * as path from 'node:path';
import { AllSourceClient, type Event, type IngestEventRequest } from '@allsource/client';
import pino from 'pino';
import { startCore } from '../app/createCore';
import { loadConfig } from '../config';
import { startTestCore, useTestCore, type TestCore } from '../testing/testCore';
import { waitFor } from '../testing/wait';

async function parquetFiles(dataDir: string): Promise<string[]> {
  return (await readdir(path.join(dataDir, 'segments'))).filter((n) => n.endsWith('.parquet'));
}

/** Value of an unlabelled sample (`name value`) in Prometheus text; 0 when absent. */
function sample(text: string, name: string): number {
  for (const line of text.split('\n')) {
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*) (\S+)$/.exec(line);
    if (m && m[1] === name) return Number(m[2]);
  }
  return 0;
}

function events(n: number, prefix: string): IngestEventRequest[] {
  return Array.from({ length: n }, (_, i) => ({
    event_type: i % 2 === 0 ? 'order.placed' : 'user.updated',
    entity_id: `${prefix}-${i % 5}`,
    payload: { i, prefix, nested: { list: [i, `v${i}`, null], ok: i % 3 === 0 }, text: 'ünïcödé ✓ 🎉' },
    ...(i % 4 === 0 ? { metadata: { source: 'compaction-test', i } } : {}),
  }));
}

/** Ingest `segments` batches of 20 (FLUSH_MAX_EVENTS=20: one segment each) and wait for the flushes. */
async function ingestSegments(t: TestCore, segments: number, prefix: string): Promise<void> {
  for (let s = 0; s < segments; s++) await t.client.ingestBatch(events(20, `${prefix}${s % 4}`));
  await waitFor('segment flushes', async () => (await t.client.stats()).buffered_events === 0, 30_000);
}

async function allEvents(client: AllSourceClient): Promise<Event[]> {
  return (await client.queryEvents({ limit: 10_000 })).events;
}

describe('compaction endpoints', () => {
  const t = useTestCore({ FLUSH_MAX_EVENTS: '20', ROW_GROUP_SIZE: '16', COMPACTION_INTERVAL_MS: '0' });

  it('reports zeros and the configuration before any compaction', async () => {
    const res = await t.client.raw('GET', '/api/v1/compaction/stats');
    expect(res.status).toBe(200);
    expect(res.data).toEqual({
      stats: {
        total_compactions: 0,
        total_files_compacted: 0,
        total_bytes_before: 0,
        total_bytes_after: 0,
        total_events_compacted: 0,
        last_compaction_duration_ms: 0,
        space_saved_bytes: 0,
        total_segments_created: 0,
        total_failures: 0,
        last_error: null,
        last_compaction_at: null,
        running: false,
        pending_file_deletions: 0,
        parquet_files: 0,
        parquet_bytes: 0,
      },
      config: {
        interval_ms: 0,
        automatic: false,
        small_segment_bytes: 4 * 1024 * 1024,
        target_bytes: 64 * 1024 * 1024,
        min_files: 2,
        trigger_while_running: 'wait',
      },
    });
    // Nothing to merge: zeros, 200.
    const trigger = await t.client.raw('POST', '/api/v1/compaction/trigger');
    expect(trigger.status).toBe(200);
    expect(trigger.data).toMatchObject({ files_compacted: 0, bytes_before: 0, bytes_after: 0, events_compacted: 0 });
  });

  it('merges the small segments on trigger; queries, entity state and metrics agree', async () => {
    await ingestSegments(t, 10, 'a');
    const statsBefore = await t.client.stats();
    expect(statsBefore.parquet_files).toBe(10);
    const before = await allEvents(t.client);
    expect(before).toHaveLength(200);
    const stateBefore = await t.client.entityState('a0-1');
    const metricsBefore = await t.client.metricsText();
    expect(sample(metricsBefore, 'allsource_compactions_total')).toBe(0);

    const result = await t.client.compaction.trigger();
    expect(result).toMatchObject({ files_compacted: 10, events_compacted: 200, segments_created: 1, bytes_before: statsBefore.parquet_bytes });
    expect(result.bytes_after).toBeGreaterThan(0);
    expect(result.bytes_after).toBeLessThan(result.bytes_before);
    expect(result.duration_ms).toBeGreaterThanOrEqual(0);

    expect(await parquetFiles(t.dataDir)).toHaveLength(1);
    expect((await t.client.stats()).parquet_files).toBe(1);
    expect(await allEvents(t.client)).toEqual(before);
    expect(await t.client.entityState('a0-1')).toEqual(stateBefore);
    for (const e of before.filter((_, i) => i % 23 === 0)) expect(await t.client.getEvent(e.id)).toEqual(e);
    expect((await t.client.queryEvents({ entity_id: 'a2-3', order: 'desc' })).events).toEqual(
      before.filter((e) => e.entity_id === 'a2-3').reverse(),
    );

    const { stats } = await t.client.compaction.stats();
    expect(stats).toMatchObject({
      total_compactions: 1,
      total_files_compacted: 10,
      total_bytes_before: result.bytes_before,
      total_bytes_after: result.bytes_after,
      total_events_compacted: 200,
      last_compaction_duration_ms: result.duration_ms,
      space_saved_bytes: result.bytes_before - result.bytes_after,
    });

    const metrics = await t.client.metricsText();
    expect(sample(metrics, 'allsource_compactions_total')).toBe(1);
    expect(sample(metrics, 'allsource_compaction_files_merged')).toBe(10);
    expect(sample(metrics, 'allsource_compaction_bytes_saved')).toBe(result.bytes_before - result.bytes_after);
    expect(sample(metrics, 'allsource_compaction_duration_seconds_count')).toBe(1);
    expect(sample(metrics, 'allsource_parquet_files_total')).toBe(1);

    // Again: nothing qualifies any more, and the metrics stay.
    expect(await t.client.compaction.trigger()).toMatchObject({ files_compacted: 0, events_compacted: 0 });
    expect(sample(await t.client.metricsText(), 'allsource_compactions_total')).toBe(1);
  });

  it('lets concurrent triggers wait for each other: the work is done once', async () => {
    await ingestSegments(t, 6, 'b');
    const files = (await t.client.stats()).parquet_files;
    expect(files).toBe(7);
    const answers = await Promise.all([t.client.compaction.trigger(), t.client.compaction.trigger(), t.client.compaction.trigger()]);
    expect(answers.map((a) => a.files_compacted).sort((x, y) => x - y)).toEqual([0, 0, 7]);
    expect((await t.client.stats()).parquet_files).toBe(1);
    expect((await t.client.compaction.stats()).stats).toMatchObject({ total_compactions: 2, total_files_compacted: 17, total_events_compacted: 520 });
    expect(await allEvents(t.client)).toHaveLength(320);
  });
});

describe('automatic compaction and restarts', () => {
  it('compacts on the interval, and a restart serves every event unchanged', async () => {
    const t = await startTestCore({ FLUSH_MAX_EVENTS: '20', COMPACTION_INTERVAL_MS: '100' });
    try {
      await ingestSegments(t, 8, 'c');
      await waitFor('an automatic compaction', async () => (await t.client.compaction.stats()).stats.total_compactions >= 1, 30_000);
      await waitFor('one segment left', async () => (await t.client.stats()).parquet_files === 1, 30_000);
      const before = await allEvents(t.client);
      expect(before).toHaveLength(160);
      expect((await t.client.compaction.stats()).config).toMatchObject({ interval_ms: 100, automatic: true });
      await t.core.close();

      // Same data directory, new process-level core.
      const config = loadConfig({ DATA_DIR: t.dataDir, PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'silent', COMPACTION_INTERVAL_MS: '0' });
      const core = await startCore(config, { logger: pino({ level: 'silent' }) });
      try {
        const client = new AllSourceClient({ baseUrl: `http://127.0.0.1:${core.port}` });
        expect(core.store.recovery.orphanFilesRemoved).toEqual([]);
        expect(await allEvents(client)).toEqual(before);
        const next = await client.ingest({ event_type: 'order.placed', entity_id: 'c0-0', payload: { after: true } });
        expect(next.version).toBe(before.filter((e) => e.entity_id === 'c0-0').length + 1);
        // Totals are since start.
        expect((await client.compaction.stats()).stats.total_compactions).toBe(0);
      } finally {
        await core.close();
      }
    } finally {
      await t.stop();
    }
  });
});
