import type { Express } from 'express';
import type { HttpContext } from '../context';

export function healthRoutes(app: Express, ctx: HttpContext): void {
  app.get('/health', (_req, res) => {
    const health = ctx.store.health();
    const body: Record<string, unknown> = {
      status: health.ok ? 'healthy' : 'unhealthy',
      service: 'allsource-core',
      version: ctx.version,
      uptime_seconds: Math.round((Date.now() - ctx.startedAt) / 1000),
    };
    if (!health.ok) body.reason = health.reason;
    const recovery = ctx.store.recovery;
    if (recovery.walCorruptions.length > 0 || recovery.segmentErrors.length > 0) {
      body.recovery = {
        wal_corruptions: recovery.walCorruptions.map((c) => ({ file: c.file, kind: c.kind, offset: c.offset, bytes_cut: c.bytesCut })),
        segment_errors: recovery.segmentErrors,
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
      storage_bytes: s.walBytes + s.segmentBytes,
      wal_segments: s.walFiles,
      wal_bytes: s.walBytes,
      parquet_files: s.parquetFiles,
      parquet_bytes: s.segmentBytes,
      buffered_events: s.bufferedEvents,
      segment_cache_bytes: s.segmentCacheBytes,
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
