import type { StoreStats } from '../storage/eventStore';
import { CoreMetrics, oncePerScrape } from './coreMetrics';

const OPTS = { enabled: true, version: 'test', eventTypeLabelLimit: 10, labelValueLimit: 10 };

function fakeStats(totalEvents: number): StoreStats {
  return {
    totalEvents,
    totalEntities: 2,
    totalEventTypes: 1,
    bufferedEvents: 0,
    bufferedBytes: 0,
    walFiles: 3,
    walBytes: 100,
    parquetFiles: 4,
    segmentBytes: 1000,
    segmentCacheBytes: 0,
    idIndexBytes: 0,
    lastLsn: 0,
    flushedLsn: 0,
  };
}

describe('storage gauges', () => {
  it('read the store once per scrape, and afresh on the next scrape', async () => {
    let reads = 0;
    let events = 5;
    const metrics = new CoreMetrics(OPTS, () => {
      reads++;
      return fakeStats(events);
    });
    const first = (await metrics.render()).body;
    expect(reads).toBe(1);
    expect(first).toContain('\nallsource_storage_events_total 5\n');
    expect(first).toContain('\nallsource_storage_entities_total 2\n');
    expect(first).toContain('\nallsource_storage_size_bytes 1100\n');
    expect(first).toContain('\nallsource_parquet_files_total 4\n');
    expect(first).toContain('\nallsource_wal_segments_total 3\n');
    events = 6;
    expect((await metrics.render()).body).toContain('\nallsource_storage_events_total 6\n');
    expect(reads).toBe(2);
  });

  it('give storageBytes the same figures', async () => {
    const seen: StoreStats[] = [];
    const metrics = new CoreMetrics(OPTS, () => fakeStats(1), (s) => (seen.push(s), 7));
    expect((await metrics.render()).body).toContain('\nallsource_storage_size_bytes 7\n');
    expect(seen).toHaveLength(1);
  });
});

describe('oncePerScrape', () => {
  it('reads once within a synchronous pass and again after it', async () => {
    let n = 0;
    const read = oncePerScrape(() => ++n);
    expect([read(), read(), read()]).toEqual([1, 1, 1]);
    await Promise.resolve();
    expect([read(), read()]).toEqual([2, 2]);
  });
});
