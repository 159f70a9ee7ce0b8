import { formatTimestamp } from '../events/timestamps';
import { createOperator, type EventContext, type OperatorOptions, type OperatorRuntime } from './operators';
import type { PipelineEvent } from './pipelineEvent';
import type { PipelineConfig } from './types';

export interface PipelineOptions extends OperatorOptions {
  /** Latest outputs kept for /results (PIPELINE_RECENT_OUTPUTS; 0: none). */
  recentOutputs: number;
  /** Wall clock in ms (for `last_processed`); injectable for tests. */
  now?: () => number;
}

/** Counts of one `process` call, for metrics. */
export interface ProcessDelta {
  /** Events of the source types taken in (= processed + filtered + failed). */
  received: number;
  processed: number;
  filtered: number;
  failed: number;
}

export interface PipelineStatsView {
  pipeline_id: string;
  name: string;
  enabled: boolean;
  /** Events that went through every operator. */
  events_processed: number;
  /** Events dropped by a filter. */
  events_filtered: number;
  /** Events on which an operator failed (see last_error). */
  events_failed: number;
  /** When the pipeline last took in an event (wall clock), null if never (since start or reset). */
  last_processed: string | null;
  last_error: { message: string; event_id: string; at: string } | null;
}

interface RecentOutput {
  event: PipelineEvent;
  payload: unknown;
  route: string | null;
}

/**
 * One pipeline's runtime: its operators in order and their state. Events whose type is not in
 * `source_event_types` (when that list is not empty) are ignored. Each event runs through the
 * operators until a filter drops it or an operator fails; a failure is counted and recorded and
 * never escapes (aggregations an operator before the failing one already updated stay updated).
 */
export class Pipeline {
  readonly config: PipelineConfig;
  private readonly operators: OperatorRuntime[];
  private readonly types: ReadonlySet<string> | undefined;
  private readonly now: () => number;
  private processed = 0;
  private filtered = 0;
  private failed = 0;
  private lastProcessedMs: number | undefined;
  private lastError: PipelineStatsView['last_error'] = null;
  private recent: RecentOutput[] = [];

  constructor(
    config: PipelineConfig,
    private readonly opts: PipelineOptions,
  ) {
    this.config = config;
    this.operators = config.operators.map((op) => createOperator(op, opts));
    this.types = config.source_event_types.length === 0 ? undefined : new Set(config.source_event_types);
    this.now = opts.now ?? Date.now;
  }

  /** Does an `enrich` operator read entity states (source `entity` or `entity:<path>`)? */
  get usesEntityState(): boolean {
    return this.config.operators.some((op) => op.type === 'enrich' && op.source.startsWith('entity'));
  }

  /** Does this pipeline consume events of this type? */
  accepts(eventType: string): boolean {
    return this.types === undefined || this.types.has(eventType);
  }

  /** Run the events (in commit order) through the pipeline. Never throws. */
  process(events: readonly PipelineEvent[]): ProcessDelta {
    const delta: ProcessDelta = { received: 0, processed: 0, filtered: 0, failed: 0 };
    for (const input of events) {
      if (!this.accepts(input.event.eventType)) continue;
      delta.received++;
      try {
        const ctx: EventContext = { input, payload: input.payload, owned: false, route: null };
        let kept = true;
        for (const op of this.operators) {
          if (!op.apply(ctx)) {
            kept = false;
            break;
          }
        }
        if (kept) {
          delta.processed++;
          this.remember(ctx);
        } else {
          delta.filtered++;
        }
      } catch (err) {
        delta.failed++;
        this.lastError = {
          message: err instanceof Error ? err.message : String(err),
          event_id: input.event.id,
          at: new Date(this.now()).toISOString(),
        };
      }
    }
    if (delta.received > 0) {
      this.processed += delta.processed;
      this.filtered += delta.filtered;
      this.failed += delta.failed;
      this.lastProcessedMs = this.now();
    }
    return delta;
  }

  private remember(ctx: EventContext): void {
    if (this.opts.recentOutputs === 0) return;
    this.recent.push({ event: ctx.input, payload: ctx.payload, route: ctx.route });
    if (this.recent.length > this.opts.recentOutputs) this.recent.shift();
  }

  stats(): PipelineStatsView {
    return {
      pipeline_id: this.config.id,
      name: this.config.name,
      enabled: this.config.enabled,
      events_processed: this.processed,
      events_filtered: this.filtered,
      events_failed: this.failed,
      last_processed: this.lastProcessedMs === undefined ? null : new Date(this.lastProcessedMs).toISOString(),
      last_error: this.lastError,
    };
  }

  /**
   * The pipeline's current output. `watermarkUs`, when given (the module passes the wall clock),
   * first closes the windows it has passed, so windows close even when no new event arrives.
   */
  results(watermarkUs?: number): Record<string, unknown> {
    if (watermarkUs !== undefined) for (const op of this.operators) op.advance?.(watermarkUs, true);
    const s = this.stats();
    return {
      pipeline_id: this.config.id,
      name: this.config.name,
      enabled: this.config.enabled,
      generated_at: new Date(this.now()).toISOString(),
      events_processed: s.events_processed,
      events_filtered: s.events_filtered,
      events_failed: s.events_failed,
      last_processed: s.last_processed,
      operators: this.operators.map((op, i) => op.result(i)),
      recent_outputs: this.recent.map((r) => {
        const out: Record<string, unknown> = {
          event_id: r.event.event.id,
          event_type: r.event.event.eventType,
          entity_id: r.event.event.entityId,
          timestamp: formatTimestamp(r.event.event.timestampUs),
          payload: r.payload,
        };
        if (r.route !== null) out.route = r.route;
        return out;
      }),
    };
  }

  /** Forget all state, stats and kept outputs (PUT /reset); the config stays. */
  reset(): void {
    for (const op of this.operators) op.reset();
    this.processed = 0;
    this.filtered = 0;
    this.failed = 0;
    this.lastProcessedMs = undefined;
    this.lastError = null;
    this.recent = [];
  }
}
