import type { Express } from 'express';
import type { HttpContext } from '../context';

export function healthRoutes(app: Express, ctx: HttpContext): void {
  app.get('/health', (_req, res) => {
    const health = ctx.store.health();
    // Writes work but start-up recovery lost data (an unreadable segment, a damaged WAL file):
    // 200 (reads and writes go on) with status "degraded", the reason and the details, until an
    // operator repairs it and restarts. See docs/reliability.md.
    const losses = ctx.store.recoveryLosses();
    const body: Record<string, unknown> = {
      status: !health.ok ? 'unhealthy' : losses.length > 0 ? 'degraded' : 'healthy',
      service: 'allsource-core',
      version: ctx.version,
      uptime_seconds: Math.round((Date.now() - ctx.startedAt) / 1000),
    };
    if (!health.ok) body.reason = health.reason;
    else if (losses.length > 0) body.reason = `start-up recovery lost data: ${losses.join('; ')}`;
    const recovery = ctx.store.recovery;
    if (recovery.walCorruptions.length > 0 || recovery.segmentErrors.length > 0 || recovery.orphanFilesAdopted.length > 0) {
      body.recovery = {
        wal_corruptions: recovery.walCorruptions.map((c) => ({ file: c.file, kind: c.kind, offset: c.offset, bytes_cut: c.bytesCut })),
        segment_errors: recovery.segmentErrors.map((e) => ({ file: e.file, error: e.error, first_lsn: e.firstLsn, last_lsn: e.lastLsn, events: e.events })),
        orphans_adopted: recovery.orphanFilesAdopted,
      };
    }
    res.status(health.ok ? 200 : 503).json(body);
  });

  app.get('/api/v1/stats', (_req, res) => {
    const s = ctx.store.stats();
    res.json({
      total_events: s.totalEvents,
      total_entities: s.totalEntities,
      total_event_types: s.totalEventTypes,
      total_ingested: ctx.ingestedSinceStart(),
      storage_bytes: ctx.storageBytes(),
      wal_segments: s.walFiles,
      wal_bytes: s.walBytes,
      parquet_files: s.parquetFiles,
      parquet_bytes: s.segmentBytes,
      buffered_events: s.bufferedEvents,
      segment_cache_bytes: s.segmentCacheBytes,
      id_index_bytes: s.idIndexBytes,
      uptime_seconds: Math.round((Date.now() - ctx.startedAt) / 1000),
      version: ctx.version,
    });
  });

  app.get('/metrics', async (_req, res) => {
    const { contentType, body } = await ctx.metrics.render();
    res.setHeader('Content-Type', contentType);
    res.send(body);
  });
}
