import { AllSourceError } from '@allsource/errors';
import type { Express } from 'express';
import type { CoreModule, CoreModuleDeps } from '../app/coreModule';
import { formatTimestamp } from '../events/timestamps';
import { optionalEnum, optionalInt, optionalString, optionalTimestamp } from '../http/params';
import { correlation, frequency, summary, type AnalyticsLimits } from './analyticsEngine';
import { TIME_WINDOWS } from './timeWindows';

type Query = Record<string, unknown>;

/** Default and largest `time_window_seconds` of a correlation. */
export const DEFAULT_CORRELATION_WINDOW_SECONDS = 3600;
export const MAX_CORRELATION_WINDOW_SECONDS = 366 * 86_400;

function range(q: Query): { sinceUs: number | undefined; untilUs: number | undefined } {
  const sinceUs = optionalTimestamp(q, 'since');
  const untilUs = optionalTimestamp(q, 'until');
  if (sinceUs !== undefined && untilUs !== undefined && sinceUs > untilUs) {
    throw new AllSourceError('INVALID_QUERY', 'since must not be later than until');
  }
  return { sinceUs, untilUs };
}

function requiredString(q: Query, name: string): string {
  const v = optionalString(q, name);
  if (v === undefined || v === '') throw new AllSourceError('INVALID_QUERY', `${name} is required`);
  return v;
}

/**
 * Analytics (`/api/v1/analytics/frequency|summary|correlation`), computed from the index
 * without reading payloads; every request is bounded by ANALYTICS_MAX_SCAN_EVENTS.
 */
export function createAnalyticsModule(deps: CoreModuleDeps): CoreModule {
  const { store, metrics, config } = deps;
  const limits: AnalyticsLimits = { maxScanEvents: config.analyticsMaxScanEvents, maxBuckets: config.analyticsMaxBuckets };
  const timed = <T>(run: () => T, results: (r: T) => number): T => {
    const started = performance.now();
    const r = run();
    metrics.recordQuery('analytics', (performance.now() - started) / 1000, results(r));
    return r;
  };

  function routes(app: Express): void {
    app.get('/api/v1/analytics/frequency', (req, res) => {
      const q = req.query as Query;
      const params = {
        ...range(q),
        entityId: optionalString(q, 'entity_id'),
        eventType: optionalString(q, 'event_type'),
        window: optionalEnum(q, 'window', TIME_WINDOWS) ?? 'hour',
        nowUs: Date.now() * 1000,
      };
      const r = timed(
        () => frequency(store.index, params, limits),
        (r) => r.totalEvents,
      );
      res.json({
        buckets: r.buckets.map((b) => ({ timestamp: formatTimestamp(b.startUs), count: b.count, event_types: b.eventTypes })),
        total_events: r.totalEvents,
        window: r.window,
        time_range: { from: formatTimestamp(r.fromUs), to: formatTimestamp(r.toUs) },
      });
    });

    app.get('/api/v1/analytics/summary', (req, res) => {
      const q = req.query as Query;
      const filter = { ...range(q), entityId: optionalString(q, 'entity_id'), eventType: optionalString(q, 'event_type') };
      const r = timed(
        () => summary(store.index, filter, limits),
        (r) => r.totalEvents,
      );
      res.json({
        total_events: r.totalEvents,
        unique_entities: r.uniqueEntities,
        unique_event_types: r.uniqueEventTypes,
        time_range: r.range ? { from: formatTimestamp(r.range.fromUs), to: formatTimestamp(r.range.toUs) } : null,
        events_per_day: r.eventsPerDay,
        top_event_types: r.topEventTypes.map((t) => ({ event_type: t.name, count: t.count, percentage: t.percentage })),
        top_entities: r.topEntities.map((t) => ({ entity_id: t.name, count: t.count, percentage: t.percentage })),
        first_event: r.firstUs === undefined ? null : formatTimestamp(r.firstUs),
        last_event: r.lastUs === undefined ? null : formatTimestamp(r.lastUs),
      });
    });

    app.get('/api/v1/analytics/correlation', async (req, res) => {
      const q = req.query as Query;
      const typeA = requiredString(q, 'event_type_a');
      const typeB = requiredString(q, 'event_type_b');
      const windowSeconds =
        optionalInt(q, 'time_window_seconds', 0, MAX_CORRELATION_WINDOW_SECONDS) ?? DEFAULT_CORRELATION_WINDOW_SECONDS;
      const params = { ...range(q), typeA, typeB, windowUs: windowSeconds * 1_000_000 };
      const r = timed(
        () => correlation(store.index, params, limits),
        (r) => r.totalA + r.totalB,
      );
      // Event ids are not in the index columns: read the few example events (at most 2 × 10).
      const events = await store.readPositions(r.examples.flatMap((p) => [p.aPos, p.bPos]));
      res.json({
        event_type_a: typeA,
        event_type_b: typeB,
        time_window_seconds: windowSeconds,
        total_a: r.totalA,
        total_b: r.totalB,
        correlated_pairs: r.correlatedPairs,
        correlation_percentage: r.percentage,
        avg_time_between_seconds: r.avgSeconds ?? null,
        examples: r.examples.map((p, i) => ({
          entity_id: p.entityId,
          event_a_id: events[2 * i]!.id,
          event_b_id: events[2 * i + 1]!.id,
          event_a_timestamp: formatTimestamp(p.aUs),
          event_b_timestamp: formatTimestamp(p.bUs),
          time_between_seconds: (p.bUs - p.aUs) / 1e6,
        })),
      });
    });
  }

  return { name: 'analytics', routes };
}
