import { randomUUID } from 'node:crypto';
import { AllSourceError } from '@allsource/errors';
import type { ReplayProgress, ReplayStatus } from '@allsource/types';
import type { StoredEvent } from '../events/storedEvent';
import { formatTimestamp } from '../events/timestamps';
import type { Projection, RebuildableProjection } from '../projections/projection';
import type { EventStore } from '../storage/eventStore';
import { PositionCursor, type ReplayFilter } from './positionCursor';

export type { ReplayProgress, ReplayStatus };

/** What a replay reads: the store's index, its events by position, and its commits. */
export type ReplaySource = Pick<EventStore, 'index' | 'readPositions' | 'onCommit'>;


export interface ReplayRequest {
  projectionName: string;
  filter: ReplayFilter;
  batchSize: number;
}

export interface ReplayLimits {
  /** Replays running at once; one more is refused with 429. */
  maxConcurrent: number;
  /** Replay records kept; finished ones past it are dropped, oldest first. */
  maxRecords: number;
  /**
   * Most events collected while a replay reads its last positions (more: they are read from the
   * store in another round instead). At least 4 × the replay's batch size is used.
   */
  tailMaxEvents: number;
}

export interface ReplayObserver {
  onStarted?(): void;
  onEvents?(count: number): void;
  onFinished?(status: 'completed' | 'failed' | 'cancelled', seconds: number): void;
}

export interface ReplayLogger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
}


interface Job {
  id: string;
  request: ReplayRequest;
  status: ReplayStatus;
  startedAtMs: number;
  startedPerf: number;
  updatedAtMs: number;
  completedAtMs: number | undefined;
  elapsedSeconds: number | undefined;
  total: number;
  processed: number;
  failed: number;
  firstError: string | undefined;
  errorMessage: string | undefined;
  cancelRequested: string | undefined;
  /** Settles when the background loop has stopped (whatever the outcome). */
  done: Promise<void>;
}

const yieldToEventLoop = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/**
 * Background replays that rebuild a projection from the stored events.
 *
 * A replay folds the matching stored events, in order and a chunk (`batchSize`) at a time, into a
 * FRESH instance of the projection (`fork()`), while the live instance keeps receiving committed
 * events. Events committed after the replay started are caught up from the store the same way.
 * When only the last few remain, a commit listener collects what arrives while they are read;
 * then, in one synchronous step, the collected events are applied and the live projection adopts
 * the rebuilt state — so no event is missed or applied twice, and the rebuilt projection equals
 * a fold of every matching event. Between chunks the loop yields to the event loop, so ingestion
 * and queries keep flowing. Cancelling (or a failure) discards the fresh instance: the live
 * projection is untouched.
 *
 * An event the projection fails to apply is counted in `failed_events` and skipped (as on the
 * live path); the replay fails when the projection cannot be forked or adopted or the store
 * cannot be read.
 */
export class ReplayManager {
  private readonly jobs = new Map<string, Job>();
  private running = 0;
  private closed = false;

  constructor(
    private readonly store: ReplaySource,
    private readonly projections: { get(name: string): Projection | undefined },
    private readonly limits: ReplayLimits,
    private readonly observer: ReplayObserver = {},
    private readonly log: ReplayLogger = { info: () => undefined, warn: () => undefined },
  ) {}

  /**
   * Start a replay into `request.projectionName` (which must exist and be rebuildable — the
   * caller checks). Throws RATE_LIMITED when `maxConcurrent` replays are running, CONFLICT when
   * one into the same projection is running.
   */
  start(request: ReplayRequest, target: RebuildableProjection): ReplayProgress {
    if (this.closed) throw new AllSourceError('OVERLOADED', 'the server is shutting down');
    if (this.running >= this.limits.maxConcurrent) {
      throw new AllSourceError(
        'RATE_LIMITED',
        `${this.running} replays are running, the maximum (REPLAY_MAX_CONCURRENT=${this.limits.maxConcurrent}); retry when one has finished`,
      );
    }
    for (const j of this.jobs.values()) {
      if (j.status === 'running' && j.request.projectionName === request.projectionName) {
        throw new AllSourceError('CONFLICT', `replay ${j.id} is already rebuilding projection '${request.projectionName}'`, {
          replay_id: j.id,
        });
      }
    }
    const cursor = new PositionCursor(this.store.index, request.filter);
    const end = this.store.index.count;
    const now = Date.now();
    const job: Job = {
      id: randomUUID(),
      request,
      status: 'running',
      startedAtMs: now,
      startedPerf: performance.now(),
      updatedAtMs: now,
      completedAtMs: undefined,
      elapsedSeconds: undefined,
      total: cursor.countBelow(end),
      processed: 0,
      failed: 0,
      firstError: undefined,
      errorMessage: undefined,
      cancelRequested: undefined,
      done: Promise.resolve(),
    };
    this.jobs.set(job.id, job);
    this.running++;
    this.observer.onStarted?.();
    this.log.info({ replay_id: job.id, projection: request.projectionName, total_events: job.total }, 'replay started');
    job.done = this.run(job, target, cursor, end).finally(() => {
      this.running--;
      this.evictFinished();
    });
    this.evictFinished();
    return this.progress(job);
  }

  get(id: string): ReplayProgress {
    return this.progress(this.job(id));
  }

  /** Every kept replay, newest first. */
  list(): ReplayProgress[] {
    return [...this.jobs.values()].reverse().map((j) => this.progress(j));
  }

  /**
   * Cancel a running replay: it is `cancelled` at once (the rebuilt state is discarded and never
   * swapped in). Cancelling a cancelled replay is a no-op; a completed or failed one → CONFLICT.
   */
  cancel(id: string, reason = 'cancelled by request'): ReplayProgress {
    const job = this.job(id);
    if (job.status === 'running' || job.status === 'pending') {
      job.cancelRequested = reason;
      this.finish(job, 'cancelled', reason);
    } else if (job.status !== 'cancelled') {
      throw new AllSourceError('CONFLICT', `replay ${id} has already ${job.status === 'completed' ? 'completed' : 'failed'}`, {
        status: job.status,
      });
    }
    return this.progress(job);
  }

  /** Forget a replay; a running one is cancelled first. */
  delete(id: string): ReplayProgress {
    const job = this.job(id);
    if (job.status === 'running' || job.status === 'pending') this.cancel(id, 'deleted by request');
    this.jobs.delete(id);
    return this.progress(job);
  }

  /** Cancel every running replay and wait for their loops to stop (before the store closes). */
  async close(): Promise<void> {
    this.closed = true;
    const running = [...this.jobs.values()].filter((j) => j.status === 'running' || j.status === 'pending');
    for (const j of running) this.cancel(j.id, 'the server is shutting down');
    await Promise.all([...this.jobs.values()].map((j) => j.done));
  }

  private job(id: string): Job {
    const job = this.jobs.get(id);
    if (!job) throw new AllSourceError('NOT_FOUND', `replay '${id}' not found`);
    return job;
  }

  private async run(job: Job, target: RebuildableProjection, cursor: PositionCursor, endAtStart: number): Promise<void> {
    const { batchSize } = job.request;
    const scanMax = batchSize * 16;
    const tailMax = Math.max(batchSize * 4, this.limits.tailMaxEvents);
    const store = this.store;
    let unsubscribe: (() => void) | undefined;
    try {
      await yieldToEventLoop();
      if (job.cancelRequested) return;
      const fresh = target.fork();

      const applyAll = (events: readonly StoredEvent[]): void => {
        for (const e of events) {
          try {
            fresh.apply(e);
          } catch (err) {
            job.failed++;
            job.firstError ??= `event ${e.id}: ${err instanceof Error ? err.message : String(err)}`;
          }
        }
        job.processed += events.length;
        job.updatedAtMs = Date.now();
        this.observer.onEvents?.(events.length);
      };
      const readChunk = async (end: number): Promise<void> => {
        const positions = cursor.take(batchSize, end, scanMax);
        if (positions.length === 0) return;
        // Events committed after the replay started were not in total_events: count them in.
        for (let i = positions.length - 1; i >= 0 && positions[i]! >= endAtStart; i--) job.total++;
        applyAll(await store.readPositions(positions));
      };

      for (;;) {
        // Stored events, then those committed since, a chunk at a time.
        while (cursor.pending(store.index.count) > batchSize) {
          await readChunk(store.index.count);
          if (job.cancelRequested) return;
          await yieldToEventLoop();
          if (job.cancelRequested) return;
        }
        // The tail: collect what is committed from now on while the last positions are read.
        const end = store.index.count;
        const tail: StoredEvent[] = [];
        let overflow = false;
        unsubscribe = store.onCommit((events) => {
          if (overflow) return;
          if (tail.length + events.length > tailMax) overflow = true;
          else for (const e of events) tail.push(e);
        });
        while (!cursor.reached(end)) {
          await readChunk(end);
          if (job.cancelRequested) return;
        }
        // Synchronous from here to the swap: nothing can be committed in between.
        unsubscribe();
        unsubscribe = undefined;
        if (job.cancelRequested) return;
        if (overflow) {
          // Ingestion outran the tail: the collected events are in the store; read them from there.
          continue;
        }
        const matching = tail.filter((e) => cursor.matches(e));
        job.total += matching.length;
        applyAll(matching);
        cursor.skipTo(store.index.count);
        target.adopt(fresh);
        this.finish(job, 'completed', job.failed > 0 ? `${job.failed} events failed to apply and were skipped; first: ${job.firstError}` : undefined);
        return;
      }
    } catch (err) {
      if (job.status === 'running') {
        const message = err instanceof Error ? err.message : String(err);
        this.finish(job, 'failed', message);
      }
    } finally {
      unsubscribe?.();
    }
  }

  private finish(job: Job, status: 'completed' | 'failed' | 'cancelled', message: string | undefined): void {
    if (job.status !== 'running' && job.status !== 'pending') return;
    const now = Date.now();
    job.status = status;
    job.completedAtMs = now;
    job.updatedAtMs = now;
    job.elapsedSeconds = (performance.now() - job.startedPerf) / 1000;
    job.errorMessage = message;
    this.observer.onFinished?.(status, job.elapsedSeconds);
    const fields = {
      replay_id: job.id,
      projection: job.request.projectionName,
      status,
      processed_events: job.processed,
      failed_events: job.failed,
      seconds: Number(job.elapsedSeconds.toFixed(3)),
    };
    if (status === 'failed') this.log.warn({ ...fields, error: message }, 'replay failed');
    else this.log.info(message ? { ...fields, message } : fields, `replay ${status}`);
  }

  /** Drop the oldest finished records while more than `maxRecords` are kept. */
  private evictFinished(): void {
    if (this.jobs.size <= this.limits.maxRecords) return;
    for (const [id, j] of this.jobs) {
      if (this.jobs.size <= this.limits.maxRecords) break;
      if (j.status !== 'running' && j.status !== 'pending') this.jobs.delete(id);
    }
  }

  private progress(job: Job): ReplayProgress {
    const f = job.request.filter;
    const finished = job.completedAtMs !== undefined;
    const seconds = job.elapsedSeconds ?? (performance.now() - job.startedPerf) / 1000;
    let percentage = job.total > 0 ? Math.min(100, (job.processed / job.total) * 100) : 0;
    if (job.status === 'completed') percentage = 100;
    return {
      replay_id: job.id,
      status: job.status,
      projection_name: job.request.projectionName,
      from_timestamp: f.sinceUs === undefined ? null : formatTimestamp(f.sinceUs),
      to_timestamp: f.untilUs === undefined ? null : formatTimestamp(f.untilUs),
      entity_id: f.entityId ?? null,
      event_type: f.eventType ?? null,
      batch_size: job.request.batchSize,
      started_at: formatTimestamp(job.startedAtMs * 1000),
      updated_at: formatTimestamp(job.updatedAtMs * 1000),
      completed_at: finished ? formatTimestamp(job.completedAtMs! * 1000) : null,
      total_events: job.total,
      processed_events: job.processed,
      failed_events: job.failed,
      progress_percentage: Math.round(percentage * 100) / 100,
      events_per_second: seconds > 0 ? Math.round((job.processed / seconds) * 100) / 100 : 0,
      error_message: job.errorMessage ?? null,
    };
  }
}
