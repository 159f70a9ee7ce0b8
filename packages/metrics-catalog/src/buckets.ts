/**
 * Histogram buckets, in seconds unless named otherwise. Each set spans the range its operation
 * really takes: prom-client's defaults (5 ms .. 10 s) would put every in-memory query and most
 * fsyncs in the first bucket and say nothing about them.
 */

const freeze = (values: number[]): readonly number[] => Object.freeze(values);

/** One append: validation, WAL write and fsync (group commit may hold it a few ms). */
export const INGESTION_BUCKETS = freeze([
  0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5,
]);

/** In-memory index lookups are microseconds; Parquet/segment scans reach hundreds of ms. */
export const QUERY_BUCKETS = freeze([
  0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1,
]);

/** Whole HTTP request, from the fastest health check to a large batch or scan. */
export const HTTP_BUCKETS = freeze([
  0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5,
]);

/** Work done per event, one series (schema validation): microseconds. */
export const PER_EVENT_BUCKETS = freeze([
  0.000005, 0.00001, 0.000025, 0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01,
  0.025, 0.05, 0.1,
]);

/**
 * Work done per event by one named pipeline or projection (a commit group's time divided by its
 * events): one series per name, up to LABEL_VALUE_LIMIT + 1 of each family, so fewer bounds than
 * PER_EVENT_BUCKETS. Measured values are a built-in projection ~20 ns, a filter pipeline
 * ~0.3 µs, an enrich step microseconds; a millisecond per event is already pathological (+Inf).
 */
export const PER_EVENT_BY_NAME_BUCKETS = freeze([
  0.0000001, 0.0000005, 0.000001, 0.000005, 0.00001, 0.00005, 0.0001, 0.001,
]);

/** Whole-store operations (snapshot creation, compaction, replay): milliseconds to minutes. */
export const LONG_OPERATION_BUCKETS = freeze([
  0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 120, 300, 600,
]);

/** Control plane scraping a core node over HTTP, up to its timeout. */
export const SCRAPE_BUCKETS = freeze([
  0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
]);

/** One fsync: microseconds on tmpfs/NVMe, up to seconds on a saturated disk. */
export const FSYNC_BUCKETS = freeze([
  0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1,
  2.5,
]);

/** Writing one segment file out of the in-memory buffer. */
export const SEGMENT_FLUSH_BUCKETS = freeze([
  0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
]);

/** Events per group commit (a count, not seconds): 1-2-5 steps over each power of ten. */
export const BATCH_SIZE_BUCKETS = freeze([
  1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000,
]);
