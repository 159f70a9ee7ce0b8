/**
 * Proof that every metric is live: one representative workload through HTTP and WebSocket, then
 * every name of the catalogue (read from the catalogue module, so a metric added later is
 * covered automatically) must have a sample that moved: a counter or histogram count above 0,
 * a gauge away from 0.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ALL_CORE_METRIC_NAMES, findMetric } from '@allsource/metrics-catalog';
import WebSocket from 'ws';
import { DEFAULTS } from '../config';
import type { Projection } from '../projections/projection';
import { EventStore } from '../storage/eventStore';
import { startTestCore, type TestCore } from '../testing/testCore';
import { waitFor } from '../testing/wait';

let t: TestCore;
let dataDir: string;
let ws: WebSocket | undefined;

/** A projection that fails on one event type and cannot be rebuilt: moves the error and replay-failure metrics. */
function brittleProjection(): Projection {
  let seen = 0;
  return {
    name: 'brittle',
    apply(event) {
      if (event.eventType === 'poison.pill') throw new Error('brittle projection refuses poison');
      seen++;
    },
    state: () => ({ seen }),
    reset: () => {
      seen = 0;
    },
    fork: () => {
      throw new Error('brittle projection cannot be rebuilt');
    },
    adopt: () => undefined,
  };
}

/** A data folder whose WAL ends in a torn record, so recovery has something to cut and report. */
async function dataDirWithTornWal(): Promise<string> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'allsource-live-'));
  const store = await EventStore.open({
    dataDir: dir,
    syncMode: 'always',
    walMaxFileBytes: DEFAULTS.walMaxFileBytes,
    pendingMaxBytes: DEFAULTS.walPendingMaxBytes,
    flushMaxEvents: DEFAULTS.flushMaxEvents,
    flushMaxBytes: DEFAULTS.flushMaxBytes,
    flushMaxAgeMs: 3_600_000,
    bufferMaxBytes: DEFAULTS.bufferMaxBytes,
    rowGroupSize: DEFAULTS.rowGroupSize,
    segmentCacheBytes: DEFAULTS.segmentCacheBytes,
    maxOpenSegments: DEFAULTS.maxOpenSegments,
  });
  await store.append([{ eventType: 'seed.event', entityId: 'seed-1', tenantId: 'default', payloadJson: '{"a":1}', metadataJson: null }]);
  await store.close({ flush: false });
  const walDir = path.join(dir, 'wal');
  const last = fs.readdirSync(walDir).filter((n) => n.endsWith('.log')).sort().filter((n) => fs.statSync(path.join(walDir, n)).size > 0).pop()!;
  fs.appendFileSync(path.join(walDir, last), Buffer.from([0x40, 0, 0, 0, 1, 2, 3]));
  return dir;
}

beforeAll(async () => {
  dataDir = await dataDirWithTornWal();
  t = await startTestCore(
    {
      DATA_DIR: dataDir,
      FLUSH_MAX_EVENTS: '20',
      FLUSH_MAX_AGE_MS: '3600000',
      EVENT_TYPE_LABEL_LIMIT: '3',
      SNAPSHOT_EVERY_EVENTS: '5',
      COMPACTION_INTERVAL_MS: '0',
    },
    { extraProjections: [brittleProjection()] },
  );
  const c = t.client;

  // WebSocket client first, so it receives the events below; one bad frame for the error counter.
  ws = new WebSocket(`${t.baseUrl.replace('http', 'ws')}/api/v1/events/stream`);
  await new Promise<void>((resolve, reject) => {
    ws!.once('open', () => resolve());
    ws!.once('error', reject);
  });
  const received: string[] = [];
  ws.on('message', (data) => received.push(String(data)));
  ws.send('this is not json');

  // Schema registered and enforced on one subject.
  await c.schemas.register({ subject: 'order.placed', schema: { type: 'object', required: ['total'], properties: { total: { type: 'number' } } } });
  await c.raw('PUT', '/api/v1/schemas/order.placed/enforcement', { body: { enforce: true } });
  await c.schemas.validate({ subject: 'order.placed', payload: { total: 'x' } });

  // A pipeline with a filter and a tumbling window.
  await c.pipelines.create({
    name: 'order totals',
    source_event_types: ['order.placed'],
    operators: [
      { type: 'filter', field: 'total', op: 'gt', value: 5 },
      { type: 'window', config: { window_type: 'tumbling', size_seconds: 60 }, aggregation: { type: 'reduce', field: 'total', function: 'sum' } },
    ],
    enabled: true,
  });

  // Ingest: single, batch, invalid, conflict, schema violation; several flushes (small segments).
  for (let round = 0; round < 4; round++) {
    await c.ingest({ event_type: 'order.placed', entity_id: `order-${round}`, payload: { total: round * 4 } });
    await c.ingestBatch(
      Array.from({ length: 25 }, (_, i) => ({ event_type: i % 2 ? 'user.updated' : 'user.created', entity_id: `user-${i % 5}`, payload: { i, round } })),
    );
    await t.core.store.flush();
  }
  for (const type of ['type.a', 'type.b', 'type.c', 'type.d', 'type.e']) await c.ingest({ event_type: type, entity_id: 'cap-1', payload: {} });
  await c.ingest({ event_type: 'poison.pill', entity_id: 'p-1', payload: {} });
  await c.raw('POST', '/api/v1/events', { body: { event_type: 'BAD TYPE', entity_id: 'x', payload: {} } });
  await c.raw('POST', '/api/v1/events', { body: { event_type: 'user.created', entity_id: 'user-1', payload: {}, expected_version: 0 } });
  await c.raw('POST', '/api/v1/events', { body: { event_type: 'order.placed', entity_id: 'order-x', payload: { total: 'nope' } } });
  await c.raw('GET', '/not/a/route');

  // Every query type, reading flushed segments twice (cache miss, then hit).
  await c.queryEvents({ entity_id: 'user-1' });
  await c.queryEvents({ entity_id: 'user-1' });
  await c.queryEvents({ event_type: 'user.created' });
  await c.queryEvents({ since: '2000-01-01T00:00:00Z' });
  await c.queryEvents({ limit: 5 });
  await c.entityState('user-1');
  await c.analytics.summary({});

  // Snapshots: manual (automatic ones come from SNAPSHOT_EVERY_EVENTS=5).
  await c.snapshots.create('user-2');

  // Replays: one that completes, one that fails.
  const ok = await c.replay.start({ projection_name: 'event_counters' });
  await waitFor('replay to complete', async () => ((await c.replay.get(ok.replay_id)).status === 'completed' ? true : undefined));
  const bad = await c.replay.start({ projection_name: 'brittle' });
  await waitFor('replay to fail', async () => ((await c.replay.get(bad.replay_id)).status === 'failed' ? true : undefined));

  // Compaction of the small segments.
  await c.compaction.trigger();
  await waitFor('websocket frames', async () => (received.length > 10 ? true : undefined));
});

afterAll(async () => {
  ws?.close();
  await t?.stop();
  if (dataDir) fs.rmSync(dataDir, { recursive: true, force: true });
});

interface Sample {
  name: string;
  value: number;
}

function samples(text: string): Sample[] {
  const out: Sample[] = [];
  for (const line of text.split('\n')) {
    if (line.length === 0 || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{.*\})?\s+(\S+)/.exec(line);
    if (m) out.push({ name: m[1]!, value: Number(m[3]) });
  }
  return out;
}

it('every catalogue metric has a sample that moved', async () => {
  const text = (await t.client.raw('GET', '/metrics')).text;
  const all = samples(text);
  const stale: string[] = [];
  for (const name of ALL_CORE_METRIC_NAMES) {
    const def = findMetric(name)!;
    const own = def.type === 'histogram' ? all.filter((s) => s.name === `${name}_count`) : all.filter((s) => s.name === name);
    const moved = own.some((s) => (def.type === 'gauge' ? s.value !== 0 : s.value > 0));
    if (!moved) stale.push(`${name} (${def.type}): ${own.length === 0 ? 'no sample' : 'never moved'}`);
  }
  expect(stale).toEqual([]);
});
