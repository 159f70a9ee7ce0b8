import { randomUUID } from 'node:crypto';
import * as path from 'node:path';
import { AllSourceError } from '@allsource/errors';
import { jsonString } from '../events/jsonText';
import { eventBytes, type NewEvent, type StoredEvent } from '../events/storedEvent';
import { nodeFileSystem, type FileSystem } from './fs/fileSystem';
import { EventIndex, IN_BUFFER } from './index/eventIndex';
import { eventsToArrowIpc, timestampMicrosAt } from './segments/arrowBatch';
import { readManifest, segmentFileName, writeManifest, type Manifest, type SegmentInfo } from './segments/manifest';
import { ParquetWriterPool } from './segments/parquetWriterPool';
import { SegmentReader, type SegmentReaderObserver } from './segments/segmentReader';
import { WriteAheadLog, type SyncMode, type WalCorruption, type WalObserver } from './wal/writeAheadLog';

export interface EngineLogger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

const silentLogger: EngineLogger = { info: () => undefined, warn: () => undefined, error: () => undefined };

export interface StoreObserver extends WalObserver, SegmentReaderObserver {
  onFlush?(events: number, bytes: number, seconds: number): void;
  onRecovery?(report: RecoveryReport): void;
}

export interface EventStoreOptions {
  dataDir: string;
  syncMode: SyncMode;
  walMaxFileBytes: number;
  /** Flush the buffer to a Parquet segment at this many events… */
  flushMaxEvents: number;
  /** …or at this many bytes… */
  flushMaxBytes: number;
  /** …or when its oldest event is this old. */
  flushMaxAgeMs: number;
  /** Appends are refused (503) while the unflushed buffer holds more than this. */
  bufferMaxBytes: number;
  /** Appends are refused (503) while more than this many bytes wait for the WAL. */
  pendingMaxBytes: number;
  rowGroupSize: number;
  segmentCacheBytes: number;
  maxOpenSegments: number;
  fs?: FileSystem;
  observer?: StoreObserver;
  logger?: EngineLogger;
}

export interface RecoveryReport {
  segmentsLoaded: number;
  eventsFromSegments: number;
  eventsFromWal: number;
  walRecordsSkipped: number;
  walCorruptions: WalCorruption[];
  segmentErrors: Array<{ file: string; error: string }>;
  orphanFilesRemoved: string[];
  durationMs: number;
}

export interface StoreStats {
  totalEvents: number;
  totalEntities: number;
  totalEventTypes: number;
  bufferedEvents: number;
  bufferedBytes: number;
  walFiles: number;
  walBytes: number;
  parquetFiles: number;
  segmentBytes: number;
  segmentCacheBytes: number;
  lastLsn: number;
  flushedLsn: number;
}

export type CommitListener = (events: readonly StoredEvent[]) => void;

/**
 * The event store engine: append (WAL first, acknowledged once durable), an in-memory buffer of
 * recent events, flushes of that buffer into Parquet segments, the index over everything, and
 * recovery at start. It knows nothing of HTTP or Prometheus; observers receive its signals.
 */
export class EventStore {
  readonly index = new EventIndex();
  readonly recovery: RecoveryReport;

  private readonly opts: EventStoreOptions;
  private readonly fs: FileSystem;
  private readonly log: EngineLogger;
  private readonly wal: WriteAheadLog;
  private readonly reader: SegmentReader;
  private readonly writerPool = new ParquetWriterPool();
  private readonly segmentsDir: string;
  private manifest: Manifest;
  /** Segment number (as stored in the index) → file name. */
  private readonly segmentFiles: string[] = [];

  /** Events committed but not yet in a segment; buffer[i] is at index position bufferStart + i. */
  private buffer: StoredEvent[] = [];
  private bufferStart = 0;
  private bufferBytes = 0;
  private bufferOldestAt = 0;

  private nextLsn = 1;
  private lastTimestampUs = 0;
  /** Versions reserved by appends that are not durable yet, per entity. */
  private readonly reservedVersions = new Map<string, number>();
  private pendingBytes = 0;
  private lastWriteError: Error | undefined;
  private lastFlushError: Error | undefined;
  private flushing: Promise<void> | undefined;
  private flushTimer: NodeJS.Timeout | undefined;
  private closed = false;
  private readonly listeners = new Set<CommitListener>();

  private constructor(opts: EventStoreOptions, manifest: Manifest, recovery: RecoveryReport, wal: WriteAheadLog, reader: SegmentReader) {
    this.opts = opts;
    this.fs = opts.fs ?? nodeFileSystem;
    this.log = opts.logger ?? silentLogger;
    this.segmentsDir = path.join(opts.dataDir, 'segments');
    this.manifest = manifest;
    this.recovery = recovery;
    this.wal = wal;
    this.reader = reader;
  }

  /** Open (and recover) the store in `opts.dataDir`. */
  static async open(opts: EventStoreOptions): Promise<EventStore> {
    const started = performance.now();
    const fs = opts.fs ?? nodeFileSystem;
    const segmentsDir = path.join(opts.dataDir, 'segments');
    await fs.mkdirp(segmentsDir);
    const manifest = await readManifest(fs, segmentsDir);
    const report: RecoveryReport = {
      segmentsLoaded: 0,
      eventsFromSegments: 0,
      eventsFromWal: 0,
      walRecordsSkipped: 0,
      walCorruptions: [],
      segmentErrors: [],
      orphanFilesRemoved: [],
      durationMs: 0,
    };
    let store: EventStore | undefined;
    const wal = new WriteAheadLog({
      dir: path.join(opts.dataDir, 'wal'),
      fs,
      syncMode: opts.syncMode,
      maxFileBytes: opts.walMaxFileBytes,
      observer: {
        onGroupCommit: (appends, bytes, seconds) => opts.observer?.onGroupCommit?.(appends, bytes, seconds),
        onWriteError: (error) => {
          // Runs before any failed append's continuation: every version reserved on top of the
          // failed write is released at once, so no later append can build on it.
          store?.reservedVersions.clear();
          opts.observer?.onWriteError?.(error);
        },
      },
    });
    const reader = new SegmentReader(
      { dir: segmentsDir, cacheMaxBytes: opts.segmentCacheBytes, maxOpenFiles: opts.maxOpenSegments },
      opts.observer,
    );
    store = new EventStore(opts, manifest, report, wal, reader);
    await store.recover(report);
    report.durationMs = Math.round(performance.now() - started);
    store.log.info({ recovery: { ...report, walCorruptions: report.walCorruptions.length } }, 'event store opened');
    for (const c of report.walCorruptions) {
      store.log.warn({ corruption: c }, 'write-ahead log: cut a corrupt or torn tail at recovery');
    }
    opts.observer?.onRecovery?.(report);
    store.startFlushTimer();
    return store;
  }

  /** Register a listener called synchronously with each group of newly committed events. */
  onCommit(listener: CommitListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /**
   * Append events atomically: all of them become durable (and visible) or none does. Resolves
   * once they are in the WAL and synced. Throws VERSION_CONFLICT when an `expectedVersion`
   * differs, OVERLOADED or STORAGE_UNAVAILABLE when the store cannot take them now.
   */
  async append(batch: readonly NewEvent[]): Promise<StoredEvent[]> {
    if (this.closed) throw new AllSourceError('STORAGE_UNAVAILABLE', 'the store is shutting down');
    if (batch.length === 0) return [];
    if (this.pendingBytes > this.opts.pendingMaxBytes) {
      throw new AllSourceError('OVERLOADED', 'too many writes are waiting for the write-ahead log; retry shortly');
    }
    if (this.bufferBytes > this.opts.bufferMaxBytes) {
      throw new AllSourceError('OVERLOADED', 'the write buffer is full while segments are being flushed; retry shortly');
    }

    // Versions: check every expectation before reserving anything, so a batch is all-or-nothing.
    const local = new Map<string, number>();
    const versions = new Array<number>(batch.length);
    for (let i = 0; i < batch.length; i++) {
      const e = batch[i]!;
      const current = local.get(e.entityId) ?? this.reservedVersions.get(e.entityId) ?? this.index.versionOf(e.entityId);
      if (e.expectedVersion !== undefined && e.expectedVersion !== current) {
        const where = batch.length > 1 ? `events[${i}]: ` : '';
        throw new AllSourceError(
          'VERSION_CONFLICT',
          `${where}entity '${e.entityId}' is at version ${current}, expected ${e.expectedVersion}`,
          { index: i, entity_id: e.entityId, current_version: current, expected_version: e.expectedVersion },
        );
      }
      versions[i] = current + 1;
      local.set(e.entityId, current + 1);
    }
    for (const [entity, version] of local) this.reservedVersions.set(entity, version);

    // Wall-clock start plus the monotonic clock: microsecond precision, never steps backwards.
    const nowUs = Math.floor((performance.timeOrigin + performance.now()) * 1000);
    const timestampUs = nowUs > this.lastTimestampUs ? nowUs : this.lastTimestampUs;
    this.lastTimestampUs = timestampUs;
    const stored = new Array<StoredEvent>(batch.length);
    for (let i = 0; i < batch.length; i++) {
      const e = batch[i]!;
      stored[i] = {
        lsn: this.nextLsn++,
        id: randomUUID(),
        eventType: e.eventType,
        entityId: e.entityId,
        tenantId: e.tenantId,
        timestampUs,
        version: versions[i]!,
        payloadJson: e.payloadJson,
        metadataJson: e.metadataJson,
      };
    }

    const record = encodeWalPayload(stored);
    this.pendingBytes += record.length;
    try {
      await this.wal.append(record, stored[stored.length - 1]!.lsn);
    } catch (err) {
      // A failed write already released every reservation (onWriteError); any other failure
      // (a record over the size bound) releases this batch's own.
      for (const [entity, version] of local) {
        if (this.reservedVersions.get(entity) === version) this.reservedVersions.delete(entity);
      }
      this.lastWriteError = err as Error;
      this.log.error({ err }, 'write-ahead log write failed; nothing of this write was acknowledged');
      throw new AllSourceError('STORAGE_UNAVAILABLE', 'the write-ahead log could not be written; nothing was stored');
    } finally {
      this.pendingBytes -= record.length;
    }
    this.lastWriteError = undefined;
    this.commit(stored);
    for (const [entity, version] of local) {
      if (this.reservedVersions.get(entity) === version) this.reservedVersions.delete(entity);
    }
    return stored;
  }

  /** Full events at the given index positions, in the order asked. */
  async readPositions(positions: ArrayLike<number>): Promise<StoredEvent[]> {
    const out = new Array<StoredEvent>(positions.length);
    let bySegment: Map<number, { slots: number[]; rows: number[] }> | undefined;
    for (let i = 0; i < positions.length; i++) {
      const pos = positions[i]!;
      const segment = this.index.segmentOf[pos]!;
      if (segment === IN_BUFFER) {
        out[i] = this.buffer[pos - this.bufferStart]!;
      } else {
        bySegment ??= new Map();
        let group = bySegment.get(segment);
        if (!group) bySegment.set(segment, (group = { slots: [], rows: [] }));
        group.slots.push(i);
        group.rows.push(this.index.rowOf[pos]!);
      }
    }
    if (bySegment) {
      for (const [segment, group] of bySegment) {
        const events = await this.reader.readRows(this.segmentFiles[segment]!, group.rows);
        for (let k = 0; k < events.length; k++) out[group.slots[k]!] = events[k]!;
      }
    }
    return out;
  }

  async getById(id: string): Promise<StoredEvent | undefined> {
    for (const pos of this.index.idCandidates(id)) {
      const [event] = await this.readPositions([pos]);
      if (event && event.id === id) return event;
    }
    return undefined;
  }

  stats(): StoreStats {
    let segmentBytes = 0;
    for (const s of this.manifest.segments) segmentBytes += s.bytes;
    return {
      totalEvents: this.index.count,
      totalEntities: this.index.entities.size,
      totalEventTypes: this.index.types.size,
      bufferedEvents: this.buffer.length,
      bufferedBytes: this.bufferBytes,
      walFiles: this.wal.fileCount,
      walBytes: this.wal.totalBytes,
      parquetFiles: this.manifest.segments.length,
      segmentBytes,
      segmentCacheBytes: this.reader.cacheBytes,
      lastLsn: this.nextLsn - 1,
      flushedLsn: this.manifest.flushedLsn,
    };
  }

  /** Whether the store can accept writes, with the reason when it cannot. */
  health(): { ok: boolean; reason?: string } {
    if (this.closed) return { ok: false, reason: 'the store is shutting down' };
    if (this.lastWriteError) return { ok: false, reason: `write-ahead log write failed: ${this.lastWriteError.message}` };
    if (this.lastFlushError && this.bufferBytes > this.opts.bufferMaxBytes) {
      return { ok: false, reason: `segment flush failing: ${this.lastFlushError.message}` };
    }
    return { ok: true };
  }

  get segments(): readonly SegmentInfo[] {
    return this.manifest.segments;
  }

  /** Move every buffered event into a new Parquet segment now. */
  flush(): Promise<void> {
    if (this.flushing) return this.flushing.then(() => (this.buffer.length > 0 ? this.flush() : undefined));
    if (this.buffer.length === 0) return Promise.resolve();
    this.flushing = this.flushBuffer().finally(() => {
      this.flushing = undefined;
      // A flush takes at most flushMaxEvents; keep going while the buffer is over a bound.
      if (this.buffer.length >= this.opts.flushMaxEvents || this.bufferBytes >= this.opts.flushMaxBytes) {
        this.flushInBackground();
      }
    });
    return this.flushing;
  }

  /** Finish pending writes, flush the buffer to a segment and release files. */
  async close(options: { flush?: boolean } = {}): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.flushTimer) clearInterval(this.flushTimer);
    await this.wal.close();
    if (options.flush !== false) {
      try {
        // One flush takes at most flushMaxEvents events: keep going until the buffer is empty.
        while (this.buffer.length > 0) await this.flush();
      } catch (err) {
        this.log.warn({ err }, 'final flush failed; events stay in the write-ahead log');
      }
    } else if (this.flushing) {
      await this.flushing.catch(() => undefined);
    }
    // A flush rotates the WAL, which opens a new file even after close: release that one too.
    await this.wal.close();
    await this.writerPool.close();
    this.reader.close();
  }

  private commit(events: StoredEvent[]): void {
    for (const e of events) {
      this.index.add(e, IN_BUFFER, 0);
      if (this.buffer.length === 0) this.bufferOldestAt = Date.now();
      this.buffer.push(e);
      this.bufferBytes += eventBytes(e);
    }
    for (const listener of this.listeners) {
      try {
        listener(events);
      } catch (err) {
        this.log.error({ err }, 'commit listener failed');
      }
    }
    if (this.buffer.length >= this.opts.flushMaxEvents || this.bufferBytes >= this.opts.flushMaxBytes) {
      this.flushInBackground();
    }
  }

  private flushInBackground(): void {
    if (this.flushing || this.closed) return;
    this.flush().catch(() => undefined);
  }

  private startFlushTimer(): void {
    const every = Math.max(50, Math.min(1000, this.opts.flushMaxAgeMs));
    this.flushTimer = setInterval(() => {
      if (this.buffer.length > 0 && Date.now() - this.bufferOldestAt >= this.opts.flushMaxAgeMs) this.flushInBackground();
    }, every);
    this.flushTimer.unref();
  }

  private async flushBuffer(): Promise<void> {
    const started = performance.now();
    const events = this.buffer.slice(0, Math.min(this.buffer.length, this.opts.flushMaxEvents));
    const first = events[0]!;
    const last = events[events.length - 1]!;
    try {
      // Start a new WAL file so that every file before it can go once this segment is durable.
      await this.wal.rotate();
      const parquetBytes = await this.writerPool.encode(eventsToArrowIpc(events), { rowGroupSize: this.opts.rowGroupSize });
      let generation = 0;
      let file = segmentFileName(first.lsn, last.lsn, generation);
      while (this.segmentFiles.includes(file) || (await this.fs.exists(path.join(this.segmentsDir, file)))) {
        file = segmentFileName(first.lsn, last.lsn, ++generation);
      }
      await this.fs.writeFileAtomic(path.join(this.segmentsDir, file), parquetBytes);
      const info: SegmentInfo = {
        file,
        firstLsn: first.lsn,
        lastLsn: last.lsn,
        events: events.length,
        bytes: parquetBytes.byteLength,
        minTimestampUs: first.timestampUs,
        maxTimestampUs: last.timestampUs,
        generation: 0,
      };
      const manifest: Manifest = { ...this.manifest, flushedLsn: last.lsn, segments: [...this.manifest.segments, info] };
      await writeManifest(this.fs, this.segmentsDir, manifest);
      this.manifest = manifest;

      // Switch the index to the segment and drop the events from the buffer in one step, so a
      // reader sees each event in exactly one place.
      const segment = this.segmentFiles.push(file) - 1;
      for (let i = 0; i < events.length; i++) this.index.setLocation(this.bufferStart + i, segment, i);
      let flushedBytes = 0;
      for (const e of events) flushedBytes += eventBytes(e);
      this.buffer = this.buffer.slice(events.length);
      this.bufferStart += events.length;
      this.bufferBytes -= flushedBytes;
      this.bufferOldestAt = Date.now();
      this.lastFlushError = undefined;

      await this.wal.removeFilesCoveredBy(last.lsn);
      this.opts.observer?.onFlush?.(events.length, parquetBytes.byteLength, (performance.now() - started) / 1000);
    } catch (err) {
      this.lastFlushError = err as Error;
      this.log.error({ err }, 'segment flush failed; events stay in the buffer and the write-ahead log');
      throw err;
    }
  }

  private async recover(report: RecoveryReport): Promise<void> {
    const known = new Set(this.manifest.segments.map((s) => s.file));
    // Files not in the manifest come from a flush or compaction that died before its manifest
    // swap; their events are still in the WAL (or in the segments they were to replace).
    for (const name of await this.fs.readdir(this.segmentsDir)) {
      if (name === 'manifest.json' || known.has(name)) continue;
      if (name.endsWith('.parquet') || name.endsWith('.tmp')) {
        await this.fs.unlink(path.join(this.segmentsDir, name));
        report.orphanFilesRemoved.push(name);
      }
    }

    let maxLsn = 0;
    const liveSegments: SegmentInfo[] = [];
    for (const info of this.manifest.segments) {
      try {
        const table = await this.reader.readColumns(info.file, ['sequence', 'id', 'event_type', 'entity_id', 'tenant_id', 'timestamp']);
        const col = (name: string) => table.getChild(name)!;
        const [seq, id, type, entity, tenant, ts] = [col('sequence'), col('id'), col('event_type'), col('entity_id'), col('tenant_id'), col('timestamp')];
        const segment = this.segmentFiles.push(info.file) - 1;
        for (let row = 0; row < table.numRows; row++) {
          this.index.add(
            {
              id: id.get(row) as string,
              eventType: type.get(row) as string,
              entityId: entity.get(row) as string,
              tenantId: tenant.get(row) as string,
              timestampUs: timestampMicrosAt(ts, row),
            },
            segment,
            row,
          );
          maxLsn = Math.max(maxLsn, Number(seq.get(row)));
        }
        this.lastTimestampUs = Math.max(this.lastTimestampUs, info.maxTimestampUs);
        report.segmentsLoaded++;
        report.eventsFromSegments += table.numRows;
        liveSegments.push(info);
      } catch (err) {
        report.segmentErrors.push({ file: info.file, error: (err as Error).message });
        this.log.error({ err, file: info.file }, 'segment could not be read at recovery; its events are not served');
      }
    }
    if (liveSegments.length !== this.manifest.segments.length) this.manifest = { ...this.manifest, segments: liveSegments };
    const flushedLsn = Math.max(this.manifest.flushedLsn, maxLsn);

    report.walCorruptions = await this.wal.open((payload) => {
      let recordMax = -1;
      for (const e of decodeWalPayload(payload)) {
        recordMax = Math.max(recordMax, e.lsn);
        if (e.lsn <= flushedLsn || e.lsn <= maxLsn) {
          report.walRecordsSkipped++;
          continue;
        }
        maxLsn = e.lsn;
        this.index.add(e, IN_BUFFER, 0);
        if (this.buffer.length === 0) this.bufferOldestAt = Date.now();
        this.buffer.push(e);
        this.bufferBytes += eventBytes(e);
        if (e.timestampUs > this.lastTimestampUs) this.lastTimestampUs = e.timestampUs;
        report.eventsFromWal++;
      }
      return recordMax;
    });
    this.bufferStart = this.index.count - this.buffer.length;
    this.nextLsn = maxLsn + 1;
  }
}

/** A WAL record holds one append: a JSON array of events with payloads embedded as JSON. */
function encodeWalPayload(events: StoredEvent[]): Buffer {
  let json = '[';
  for (let i = 0; i < events.length; i++) {
    const e = events[i]!;
    if (i > 0) json += ',';
    json +=
      `{"l":${e.lsn},"i":"${e.id}","t":${e.timestampUs},"y":${jsonString(e.eventType)},` +
      `"e":${jsonString(e.entityId)},"n":${jsonString(e.tenantId)},"v":${e.version},` +
      `"p":${e.payloadJson},"m":${e.metadataJson ?? 'null'}}`;
  }
  json += ']';
  return Buffer.from(json, 'utf8');
}

interface WalEvent {
  l: number;
  i: string;
  t: number;
  y: string;
  e: string;
  n: string;
  v: number;
  p: unknown;
  m: unknown;
}

function decodeWalPayload(payload: Buffer): StoredEvent[] {
  const raw = JSON.parse(payload.toString('utf8')) as WalEvent[];
  return raw.map((r) => ({
    lsn: r.l,
    id: r.i,
    eventType: r.y,
    entityId: r.e,
    tenantId: r.n,
    timestampUs: r.t,
    version: r.v,
    // Re-serialising parsed JSON.stringify output gives back the same text.
    payloadJson: JSON.stringify(r.p),
    metadataJson: r.m === null ? null : JSON.stringify(r.m),
  }));
}
