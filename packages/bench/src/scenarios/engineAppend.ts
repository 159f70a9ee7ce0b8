import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { DEFAULTS, EventStore, type NewEvent } from '@allsource/core';
import { sampleEvent } from '../lib/workload';

/**
 * Durable batch append through the engine's own API (no HTTP): `writers` concurrent writers
 * each appending `batchSize`-event batches for `seconds`, sync mode `always`. Returns events/s.
 */
export async function engineAppend(seconds: number, batchSize: number, writers: number): Promise<number> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'allsource-bench-engine-'));
  const store = await EventStore.open({
    dataDir,
    syncMode: 'always',
    walMaxFileBytes: DEFAULTS.walMaxFileBytes,
    pendingMaxBytes: DEFAULTS.walPendingMaxBytes,
    flushMaxEvents: DEFAULTS.flushMaxEvents,
    flushMaxBytes: DEFAULTS.flushMaxBytes,
    flushMaxAgeMs: DEFAULTS.flushMaxAgeMs,
    bufferMaxBytes: DEFAULTS.bufferMaxBytes,
    rowGroupSize: DEFAULTS.rowGroupSize,
    segmentCacheBytes: DEFAULTS.segmentCacheBytes,
    maxOpenSegments: DEFAULTS.maxOpenSegments,
  });
  const batches: NewEvent[][] = [];
  for (let b = 0; b < 16; b++) {
    batches.push(
      Array.from({ length: batchSize }, (_, i) => {
        const e = sampleEvent(b * batchSize + i);
        return { eventType: e.event_type, entityId: e.entity_id, tenantId: 'default', payloadJson: JSON.stringify(e.payload), metadataJson: null };
      }),
    );
  }
  let appended = 0;
  const deadline = performance.now() + seconds * 1000;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: writers }, async (_, w) => {
      for (let k = w; performance.now() < deadline; k += writers) {
        const batch = batches[k % batches.length]!;
        await store.append(batch);
        appended += batch.length;
      }
    }),
  );
  const elapsed = (performance.now() - started) / 1000;
  await store.close({ flush: false });
  fs.rmSync(dataDir, { recursive: true, force: true });
  return appended / elapsed;
}
