import {
  CORE_METRICS,
  ExpositionRegistry,
  LabelCap,
  createMetrics,
  createNoopMetrics,
  type CounterChild,
  type HistogramChild,
  type MetricSet,
} from '@allsource/metrics-catalog';
import { collectDefaultMetrics } from 'prom-client';
import type { StoreObserver, StoreStats } from '../storage/eventStore';

export type QueryType = 'entity' | 'type' | 'time_range' | 'full_scan' | 'state' | 'analytics';
export type IngestErrorReason = 'validation' | 'schema' | 'storage' | 'conflict' | 'overload' | 'too_large';

export interface ProjectionInstruments {
  processed: CounterChild;
  errors: CounterChild;
  duration: HistogramChild;
}
export interface PipelineInstruments {
  processed: CounterChild;
  filtered: CounterChild;
  duration: HistogramChild;
}

export interface CoreMetricsOptions {
  enabled: boolean;
  version: string;
  eventTypeLabelLimit: number;
  labelValueLimit: number;
}

/**
 * The core's instruments: one registry per instance (no global), built from the catalogue.
 * With `enabled: false` every instrument is a no-op and `/metrics` is empty — the switch the
 * metrics-overhead benchmark compares against.
 */
export class CoreMetrics {
  readonly registry = new ExpositionRegistry();
  readonly enabled: boolean;
  readonly m: MetricSet<typeof CORE_METRICS>;
  /** Caps on label values fed by user data. */
  readonly eventTypes: LabelCap;
  readonly subjects: LabelCap;
  readonly pipelineNames: LabelCap;
  readonly projectionNames: LabelCap;

  // Children resolved once: a request records into them without building labels.
  private readonly ingested;
  private readonly ingestedByType;
  private readonly ingestDuration;
  private readonly ingestErrors;
  /** Children of allsource_events_ingested_by_type by capped event type (at most the cap + 1). */
  private readonly ingestedByTypeChildren = new Map<string, CounterChild>();
  private readonly projectionChildren = new Map<string, ProjectionInstruments>();
  private readonly pipelineChildren = new Map<string, PipelineInstruments>();
  /** The three query instruments' children by query type (a fixed set of six). */
  private readonly queryChildren = new Map<QueryType, { count: CounterChild; duration: HistogramChild; results: CounterChild }>();

  /**
   * `stats`: the store's figures, read once per scrape for all the storage gauges.
   * `storageBytes`: everything on disk under DATA_DIR (WAL, segments, snapshots …), given those figures.
   */
  constructor(
    opts: CoreMetricsOptions,
    stats: () => StoreStats,
    storageBytes: (stats: StoreStats) => number = (s) => s.walBytes + s.segmentBytes,
  ) {
    this.enabled = opts.enabled;
    if (opts.enabled) {
      const scrape = oncePerScrape(stats);
      this.m = createMetrics(this.registry, CORE_METRICS, {
        allsource_storage_events_total: (g) => g.set(scrape().totalEvents),
        allsource_storage_entities_total: (g) => g.set(scrape().totalEntities),
        allsource_storage_size_bytes: (g) => g.set(storageBytes(scrape())),
        allsource_parquet_files_total: (g) => g.set(scrape().parquetFiles),
        allsource_wal_segments_total: (g) => g.set(scrape().walFiles),
      });
      collectDefaultMetrics({ register: this.registry });
      this.m.gauge('allsource_build_info').set({ version: opts.version, node_version: process.version }, 1);
    } else {
      this.m = createNoopMetrics(CORE_METRICS);
    }
    const folded = this.m.counter('allsource_metric_label_values_folded_total');
    this.eventTypes = new LabelCap(opts.eventTypeLabelLimit, () => folded.inc({ label: 'event_type' }));
    this.subjects = new LabelCap(opts.labelValueLimit, () => folded.inc({ label: 'subject' }));
    this.pipelineNames = new LabelCap(opts.labelValueLimit, () => folded.inc({ label: 'pipeline_name' }));
    this.projectionNames = new LabelCap(opts.labelValueLimit, () => folded.inc({ label: 'projection_name' }));

    this.ingested = this.m.counter('allsource_events_ingested_total').labels();
    this.ingestedByType = this.m.counter('allsource_events_ingested_by_type');
    this.ingestDuration = this.m.histogram('allsource_ingestion_duration_seconds').labels();
    this.ingestErrors = this.m.counter('allsource_ingestion_errors_total');
  }

  /** Signals of the storage engine, turned into metrics. */
  storeObserver(): StoreObserver {
    const fsync = this.m.histogram('allsource_wal_fsync_duration_seconds');
    const groupSize = this.m.histogram('allsource_wal_group_commit_batch_events');
    const flushes = this.m.counter('allsource_segment_flushes_total');
    const flushDuration = this.m.histogram('allsource_segment_flush_duration_seconds');
    const hits = this.m.counter('allsource_segment_cache_hits_total');
    const misses = this.m.counter('allsource_segment_cache_misses_total');
    const corruptions = this.m.counter('allsource_wal_corruptions_total');
    const truncated = this.m.counter('allsource_wal_bytes_truncated_total');
    const compactions = this.m.counter('allsource_compactions_total');
    const compactionDuration = this.m.histogram('allsource_compaction_duration_seconds');
    const compactionFiles = this.m.counter('allsource_compaction_files_merged');
    const compactionSaved = this.m.counter('allsource_compaction_bytes_saved');
    return {
      onGroupCommit: (_appends, _bytes, syncSeconds, events) => {
        if (syncSeconds > 0) fsync.observe(syncSeconds);
        groupSize.observe(events);
      },
      onFlush: (_events, _bytes, seconds) => {
        flushes.inc();
        flushDuration.observe(seconds);
      },
      onCacheHit: (events) => hits.inc(events),
      onCacheMiss: () => misses.inc(),
      onRecovery: (report) => {
        for (const c of report.walCorruptions) {
          corruptions.inc({ kind: c.kind });
          truncated.inc(c.bytesCut);
        }
      },
      onCompaction: (result) => {
        compactions.inc();
        compactionDuration.observe(result.durationMs / 1000);
        compactionFiles.inc(result.filesCompacted);
        if (result.bytesSaved > 0) compactionSaved.inc(result.bytesSaved);
      },
    };
  }

  /** A successful ingest of `eventTypes` (one entry per event) that took `seconds`. */
  recordIngest(eventTypes: readonly string[], seconds: number): void {
    this.ingested.inc(eventTypes.length);
    if (eventTypes.length === 1) {
      this.byType(eventTypes[0]!).inc();
    } else {
      const counts = new Map<string, number>();
      for (const t of eventTypes) counts.set(t, (counts.get(t) ?? 0) + 1);
      for (const [t, n] of counts) this.byType(t).inc(n);
    }
    this.ingestDuration.observe(seconds);
  }

  private byType(eventType: string): CounterChild {
    return kept(this.eventTypes, this.ingestedByTypeChildren, eventType, (value) => this.ingestedByType.labels(value));
  }

  /** The instruments of one projection (name capped; kept per capped name, at most the cap + 1). */
  projection(name: string): ProjectionInstruments {
    return kept(this.projectionNames, this.projectionChildren, name, (value) => ({
      processed: this.m.counter('allsource_projection_events_processed').labels(value),
      errors: this.m.counter('allsource_projection_errors_total').labels(value),
      duration: this.m.histogram('allsource_projection_processing_duration_seconds').labels(value),
    }));
  }

  /** The instruments of one pipeline (name capped; kept per capped name, at most the cap + 1). */
  pipeline(name: string): PipelineInstruments {
    return kept(this.pipelineNames, this.pipelineChildren, name, (value) => ({
      processed: this.m.counter('allsource_pipeline_events_processed').labels(value),
      filtered: this.m.counter('allsource_pipeline_events_filtered').labels(value),
      duration: this.m.histogram('allsource_pipeline_processing_duration_seconds').labels(value),
    }));
  }

  recordIngestError(reason: IngestErrorReason): void {
    this.ingestErrors.inc({ reason });
  }

  recordQuery(type: QueryType, seconds: number, results: number): void {
    let children = this.queryChildren.get(type);
    if (children === undefined) {
      children = {
        count: this.m.counter('allsource_queries_total').labels(type),
        duration: this.m.histogram('allsource_query_duration_seconds').labels(type),
        results: this.m.counter('allsource_query_results_total').labels(type),
      };
      this.queryChildren.set(type, children);
    }
    children.count.inc();
    children.duration.observe(seconds);
    children.results.inc(results);
  }

  async render(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }
}

/** The children `make` gives for `raw`'s capped value, made once per capped value (at most cap + 1). */
function kept<C>(cap: LabelCap, children: Map<string, C>, raw: string, make: (value: string) => C): C {
  const value = cap.value(raw);
  let child = children.get(value);
  if (child === undefined) {
    child = make(value);
    children.set(value, child);
  }
  return child;
}

/**
 * `read()` once per scrape: prom-client runs every metric's collect callback in one synchronous
 * pass at the start of a render, so the first call reads and the value is dropped when that pass
 * is over (next microtask). A later scrape reads afresh.
 */
export function oncePerScrape<T>(read: () => T): () => T {
  let value: T | undefined;
  let fresh = false;
  return () => {
    if (!fresh) {
      value = read();
      fresh = true;
      queueMicrotask(() => {
        fresh = false;
        value = undefined;
      });
    }
    return value as T;
  };
}
