import type { Express } from 'express';
import type { CoreModule, CoreModuleDeps } from '../app/coreModule';
import type { CompactionOptions, CompactionResult, CompactionTotals } from '../storage/eventStore';

/** `POST /api/v1/compaction/trigger` answer. */
export interface CompactionResultBody {
  files_compacted: number;
  bytes_before: number;
  bytes_after: number;
  events_compacted: number;
  duration_ms: number;
  segments_created: number;
  bytes_saved: number;
}

export function compactionResultBody(r: CompactionResult): CompactionResultBody {
  return {
    files_compacted: r.filesCompacted,
    bytes_before: r.bytesBefore,
    bytes_after: r.bytesAfter,
    events_compacted: r.eventsCompacted,
    duration_ms: Math.round(r.durationMs),
    segments_created: r.segmentsCreated,
    bytes_saved: r.bytesSaved,
  };
}

function statsBody(t: CompactionTotals, parquetFiles: number, segmentBytes: number): Record<string, unknown> {
  return {
    total_compactions: t.compactions,
    total_files_compacted: t.filesCompacted,
    total_bytes_before: t.bytesBefore,
    total_bytes_after: t.bytesAfter,
    total_events_compacted: t.eventsCompacted,
    last_compaction_duration_ms: Math.round(t.lastDurationMs),
    space_saved_bytes: t.spaceSavedBytes,
    total_segments_created: t.segmentsCreated,
    total_failures: t.failures,
    last_error: t.lastError ?? null,
    last_compaction_at: t.lastCompactedAt === undefined ? null : new Date(t.lastCompactedAt).toISOString(),
    running: t.running,
    pending_file_deletions: t.pendingDeletions,
    parquet_files: parquetFiles,
    parquet_bytes: segmentBytes,
  };
}

/**
 * Compaction of Parquet segments: an automatic pass every `COMPACTION_INTERVAL_MS` and on
 * `POST /api/v1/compaction/trigger`; totals on `GET /api/v1/compaction/stats`. The merging itself
 * (crash-safe, concurrent with queries and flushes) is `EventStore.compact`; its metrics come
 * through the store observer.
 */
export function compactionModule(deps: CoreModuleDeps): CoreModule {
  const { store, config } = deps;
  const logger = deps.logger.child({ component: 'compaction' });
  const options: CompactionOptions = {
    smallSegmentBytes: config.compactionSmallSegmentBytes,
    targetBytes: config.compactionTargetBytes,
    minFiles: config.compactionMinFiles,
  };

  let automatic: Promise<unknown> | undefined;
  let timer: NodeJS.Timeout | undefined;
  if (config.compactionIntervalMs > 0) {
    timer = setInterval(() => {
      // One automatic pass at a time; a pass that outlasts the interval skips the next tick.
      if (automatic) return;
      automatic = store
        .compact(options)
        .catch((err: unknown) => logger.warn({ err }, 'automatic compaction failed'))
        .finally(() => (automatic = undefined));
    }, config.compactionIntervalMs);
    timer.unref();
  }

  return {
    name: 'compaction',
    routes(app: Express) {
      // A trigger while a pass runs waits for it, then runs its own pass and answers what that
      // pass merged (zeros when nothing qualifies any more).
      app.post('/api/v1/compaction/trigger', async (_req, res) => {
        const result = await store.compact(options);
        res.json(compactionResultBody(result));
      });

      app.get('/api/v1/compaction/stats', (_req, res) => {
        const s = store.stats();
        res.json({
          stats: statsBody(store.compactionStats(), s.parquetFiles, s.segmentBytes),
          config: {
            interval_ms: config.compactionIntervalMs,
            automatic: config.compactionIntervalMs > 0,
            small_segment_bytes: options.smallSegmentBytes,
            target_bytes: options.targetBytes,
            min_files: options.minFiles,
            trigger_while_running: 'wait',
          },
        });
      });
    },
    async close() {
      if (timer) clearInterval(timer);
      // The store stops a running pass at close; nothing more to wait for here.
    },
  };
}
