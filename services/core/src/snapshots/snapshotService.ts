import { randomUUID } from 'node:crypto';
import { AllSourceError } from '@allsource/errors';
import type { StoredEvent } from '../events/storedEvent';
import type { CoreMetrics } from '../metrics/coreMetrics';
import { foldEntity } from '../query/entityState';
import type { EngineLogger, EventStore } from '../storage/eventStore';
import type { SnapshotFiles } from './snapshotFiles';
import type { Snapshot, SnapshotRepository, SnapshotType } from './snapshotRepository';

export interface SnapshotPolicy {
  /** Automatic snapshot when an entity's version reaches a multiple of this (0: off). */
  everyEvents: number;
  /** Automatic snapshot when an event arrives and the entity's latest snapshot is older (0: off). */
  maxAgeMs: number;
  /** Largest state one snapshot may hold (JSON bytes). */
  maxStateBytes: number;
  /** Entities waiting for an automatic snapshot. */
  queueMax: number;
}

export interface SnapshotServiceDeps {
  store: EventStore;
  repository: SnapshotRepository;
  files: SnapshotFiles;
  metrics: CoreMetrics;
  policy: SnapshotPolicy;
  logger: EngineLogger;
}

export interface AutoSnapshotStats {
  queued: number;
  dropped: number;
  created: number;
  failed: number;
}

/**
 * Creates snapshots: on request (manual) and automatically. The commit listener only notes
 * which entities need one (a Set bounded by `queueMax`); a single background worker folds and
 * stores them off the commit path, each fold starting from the entity's previous snapshot.
 */
export class SnapshotService {
  private readonly queue = new Set<string>();
  private inProgress: string | undefined;
  private worker: Promise<void> | undefined;
  private closed = false;
  private readonly auto: AutoSnapshotStats = { queued: 0, dropped: 0, created: 0, failed: 0 };
  private lastDropWarningAt = 0;
  private readonly createdTotal;
  private readonly duration;
  private readonly gauge;

  constructor(private readonly deps: SnapshotServiceDeps) {
    this.createdTotal = deps.metrics.m.counter('allsource_snapshots_created_total');
    this.duration = deps.metrics.m.histogram('allsource_snapshot_creation_duration_seconds');
    this.gauge = deps.metrics.m.gauge('allsource_snapshots_total');
    this.updateGauge();
  }

  get stats(): AutoSnapshotStats {
    return { ...this.auto, queued: this.queue.size };
  }

  /** Keep the snapshot count gauge current (called whenever the repository changes). */
  updateGauge(): void {
    this.gauge.set(this.deps.repository.count);
  }

  /** A manual snapshot of the entity's current state, durable when this resolves. */
  async createManual(entityId: string): Promise<Snapshot> {
    const snapshot = await this.create(entityId, 'manual');
    if (!snapshot) throw new AllSourceError('ENTITY_NOT_FOUND', `no events for entity '${entityId}'`);
    return snapshot;
  }

  /** The commit listener: O(1) per event, no I/O. */
  readonly onCommit = (events: readonly StoredEvent[]): void => {
    if (this.closed) return;
    const { everyEvents, maxAgeMs } = this.deps.policy;
    let nowUs = 0;
    for (const e of events) {
      if (everyEvents > 0 && e.version % everyEvents === 0) {
        this.enqueue(e.entityId);
        continue;
      }
      if (maxAgeMs > 0 && e.entityId !== this.inProgress && !this.queue.has(e.entityId)) {
        const lastUs = this.deps.repository.lastCreatedUs(e.entityId);
        if (lastUs === undefined) continue;
        nowUs ||= Date.now() * 1000;
        if (nowUs - lastUs > maxAgeMs * 1000) this.enqueue(e.entityId);
      }
    }
  };

  /** Stop taking work, let the running snapshot finish and every file write land. */
  async close(): Promise<void> {
    this.closed = true;
    this.queue.clear();
    await this.worker;
    await this.deps.files.drain();
  }

  private enqueue(entityId: string): void {
    if (this.queue.has(entityId)) return;
    if (this.queue.size >= this.deps.policy.queueMax) {
      this.auto.dropped++;
      const now = Date.now();
      if (now - this.lastDropWarningAt > 10_000) {
        this.lastDropWarningAt = now;
        this.deps.logger.warn(
          { queue_max: this.deps.policy.queueMax, dropped_total: this.auto.dropped },
          'automatic snapshot queue full (SNAPSHOT_QUEUE_MAX); requests dropped',
        );
      }
      return;
    }
    this.queue.add(entityId);
    if (!this.worker) this.worker = this.runWorker();
  }

  private async runWorker(): Promise<void> {
    // Off the commit path: start on a later turn of the event loop.
    await new Promise<void>((resolve) => setImmediate(resolve));
    try {
      while (!this.closed && this.queue.size > 0) {
        const entityId = this.queue.values().next().value as string;
        this.queue.delete(entityId);
        // Nothing new since the latest snapshot (e.g. queued twice): nothing to do.
        if (this.deps.repository.latestOf(entityId)?.eventCount === this.deps.store.index.versionOf(entityId)) continue;
        this.inProgress = entityId;
        try {
          if (await this.create(entityId, 'automatic')) this.auto.created++;
        } catch (err) {
          this.auto.failed++;
          this.deps.logger.warn({ err, entity_id: entityId }, 'automatic snapshot failed');
        } finally {
          this.inProgress = undefined;
        }
        await new Promise<void>((resolve) => setImmediate(resolve));
      }
    } finally {
      this.worker = undefined;
    }
  }

  private async create(entityId: string, type: SnapshotType): Promise<Snapshot | undefined> {
    const started = performance.now();
    const { repository, files, store, policy } = this.deps;
    const fold = await foldEntity(store, entityId, undefined, 0, repository);
    if (!fold || !fold.last) return undefined;
    const stateJson = JSON.stringify(fold.state);
    const sizeBytes = Buffer.byteLength(stateJson, 'utf8');
    if (sizeBytes > policy.maxStateBytes) {
      throw new AllSourceError(
        'PAYLOAD_TOO_LARGE',
        `the state of entity '${entityId}' is ${sizeBytes} bytes, more than a snapshot may hold (${policy.maxStateBytes}, SNAPSHOT_MAX_STATE_BYTES / SNAPSHOT_MAX_TOTAL_BYTES)`,
      );
    }
    const snapshot: Snapshot = {
      id: randomUUID(),
      entityId,
      createdAtUs: Date.now() * 1000,
      asOfUs: fold.last.timestampUs,
      eventCount: fold.eventCount,
      lastEventId: fold.last.id,
      type,
      stateJson,
      sizeBytes,
    };
    const { changed } = repository.add(snapshot);
    this.updateGauge();
    changed.delete(entityId);
    for (const other of changed) files.markDirty(other);
    try {
      await files.markDirty(entityId, true);
    } catch {
      // Not durable: do not list it as if it were (the file still holds what it held before).
      repository.remove(snapshot);
      this.updateGauge();
      throw new AllSourceError('STORAGE_UNAVAILABLE', `the snapshot of entity '${entityId}' could not be written to disk`);
    }
    this.createdTotal.inc({ snapshot_type: type });
    this.duration.observe((performance.now() - started) / 1000);
    return snapshot;
  }
}
