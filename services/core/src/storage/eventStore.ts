import { crc32c } from '@node-rs/crc32';
import * as path from 'node:path';
import { AllSourceError } from '@allsource/errors';
import { EVENT_ID_BYTES, newEventIds } from '../events/eventIds';
import { eventBytes, type NewEvent, type StoredEvent } from '../events/storedEvent';
import { nodeFileSystem, type FileSystem } from './fs/fileSystem';
import { IdIndexUnavailableError, LocalIdIndex, WorkerIdIndex } from './index/idIndex';
import { BufferedEvents } from './buffer/bufferedEvents';
import { EventIndex, IN_BUFFER } from './index/eventIndex';
import { ensureCapacity } from './index/growable';
import { eventsToArrowIpc, timestampMicrosAt } from './segments/arrowBatch';
import { MANIFEST_FILE, parseSegmentFileName, readManifest, segmentFileName, writeManifest, type Manifest, type SegmentInfo } from './segments/manifest';
import { addSegmentRows, INDEX_COLUMNS, indexColumnsOf, indexInterners, type IndexInterners } from './segments/indexColumns';
import { addSidecarRows, decodeSidecar, encodeSidecar, readSidecarFile, SIDECAR_SUFFIX, SIDECAR_TEMP_SUFFIX, SidecarRows, writeSidecarFile } from './segments/indexSidecar';
import { ParquetWriterPool, type ParquetEncodeOptions, type SegmentCompression } from './segments/parquetWriterPool';
import type { WalSlices } from './segments/walColumns';
import { decodeColumns, SegmentReader, type RowGroupColumns, type SegmentReaderObserver } from './segments/segmentReader';
import { storedEventAt, type EventVisitor } from './eventVisitor';
import { UnflushedRecords } from './wal/unflushedRecords';
import { decodeWalPayload, encodeWalPayload } from './wal/walPayload';
import { RECORD_HEADER_BYTES } from './wal/walRecord';
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
  /** A compaction pass that merged at least one run of segments. */
  onCompaction?(result: CompactionResult): void;
}

/** Which segments a compaction merges. */
export interface CompactionOptions {
  /** Only segments smaller than this (bytes on disk) are merged. */
  smallSegmentBytes: number;
  /** A merged segment is built from at most this many bytes of input segments. */
  targetBytes: number;
  /** A run merges at least this many adjacent segments (at least 2). */
  minFiles: number;
}

const MiB = 1024 * 1024;

/** How often a failed WAL is probed with an empty record (see `startWriteProbe`). */
const WRITE_PROBE_INTERVAL_MS = 1000;
/** A WAL record holding no event (a JSON array, like every record). */
const EMPTY_WAL_RECORD = Buffer.from('[]');

/** Memory a record-held buffered event adds beside its record: its slot, index and size. */
const RECORD_HELD_EVENT_BYTES = 20;

/** The events a flush takes: first and last now, all of them only if the segment must be built from them. */
interface FlushRange {
  first: StoredEvent;
  last: StoredEvent;
  count: number;
  events(): StoredEvent[];
}

export const DEFAULT_COMPACTION_OPTIONS: Readonly<CompactionOptions> = Object.freeze({
  smallSegmentBytes: 4 * MiB,
  targetBytes: 64 * MiB,
  minFiles: 2,
});

/** What one compaction pass did (zeros when nothing qualified). */
export interface CompactionResult {
  /** Input segment files merged away. */
  filesCompacted: number;
  /** Merged segment files written. */
  segmentsCreated: number;
  bytesBefore: number;
  bytesAfter: number;
  /** Sum of each merged run's saving (bytes before − after) where positive. */
  bytesSaved: number;
  eventsCompacted: number;
  /** Wall time of the pass (fractional milliseconds). */
  durationMs: number;
}

/** Compaction totals since the store was opened. */
export interface CompactionTotals {
  /** Passes that merged at least one run. */
  compactions: number;
  filesCompacted: number;
  segmentsCreated: number;
  bytesBefore: number;
  bytesAfter: number;
  eventsCompacted: number;
  /** Sum of each merged run's saving (bytes before − after) where positive. */
  spaceSavedBytes: number;
  lastDurationMs: number;
  /** Epoch milliseconds of the end of the last pass that merged something. */
  lastCompactedAt: number | undefined;
  failures: number;
  lastError: string | undefined;
  /** A pass is running or waiting for the running one. */
  running: boolean;
  /** Replaced segment files still waiting for in-flight reads before they are deleted. */
  pendingDeletions: number;
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
  /** Appends wait, then are refused (503), while the unflushed buffer holds more than this. */
  bufferMaxBytes: number;
  /** How long an append waits for flushes to bring the buffer back under its bound (0: refuse at once). */
  bufferFullWaitMs?: number;
  /** Appends are refused (503) while more than this many bytes wait for the WAL. */
  pendingMaxBytes: number;
  rowGroupSize: number;
  /** Codec of the segments written from now on (default Snappy); existing files keep theirs. */
  segmentCompression?: SegmentCompression;
  segmentCacheBytes: number;
  maxOpenSegments: number;
  /** Index event ids on a worker thread of their own (default) instead of the event loop. */
  idIndexOnWorker?: boolean;
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
  /** Segments whose events are not served: unreadable, damaged (checksum), or missing. */
  segmentErrors: Array<{ file: string; error: string; firstLsn: number; lastLsn: number; events: number }>;
  orphanFilesRemoved: string[];
  /** Segment files missing from the manifest whose events were nowhere else: put back in it. */
  orphanFilesAdopted: string[];
  durationMs: number;
  /** Of `durationMs`: reading the listed segments' index columns (or sidecars) and indexing them. */
  segmentsMs: number;
  /** Segments indexed from their index sidecar instead of their Parquet columns. */
  segmentsFromSidecar: number;
  /** Of `durationMs`: reading and decoding the WAL, and indexing its unflushed events. */
  walMs: number;
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
  /** The event id index's table (on its worker thread by default, outside this thread's heap). */
  idIndexBytes: number;
  lastLsn: number;
  flushedLsn: number;
}

export type CommitListener = (events: readonly StoredEvent[]) => void;

/**
 * The event store engine: append (WAL first, acknowledged once durable), an in-memory buffer of
 * recent events, flushes of that buffer into Parquet segments, the index over everything, and
 * recovery at start. It knows nothing of HTTP or Prometheus; observers receive its signals.
 */
/** Appends that may wait at once for buffer space; further ones are refused (503) at once. */
export const MAX_BUFFER_WAITERS = 256;
/** Compaction passes waiting or running at once; more calls are refused (each pass runs in turn). */
export const MAX_COMPACTIONS_WAITING = 4;

export class EventStore {
  readonly index: EventIndex;
  readonly recovery: RecoveryReport;

  private readonly opts: EventStoreOptions;
  private readonly fs: FileSystem;
  private readonly log: EngineLogger;
  private readonly wal: WriteAheadLog;
  private readonly reader: SegmentReader;
  private readonly writerPool = new ParquetWriterPool();
  /** A separate worker for compaction (so flushes never queue behind a merge), stopped after each pass. */
  private readonly compactionPool = new ParquetWriterPool();
  private readonly segmentsDir: string;
  private manifest: Manifest;
  /** Segment number (as stored in the index) → file name. Numbers are never reused. */
  private readonly segmentFiles: string[] = [];
  /** Segment number → index position of its first row, and its row count (rows are contiguous). */
  private readonly segmentStart: number[] = [];
  private readonly segmentRows: number[] = [];
  private readonly segmentByFile = new Map<string, number>();
  /** Segment number → reads in flight on it; a replaced segment is deleted once this is 0. */
  private readonly segmentReaders: number[] = [];
  /** Segments replaced by a compaction whose files wait for their reads to end. */
  private readonly retiredSegments = new Set<number>();
  /** Wake-ups of appends waiting for buffer space (close() wakes them). */
  private readonly bufferWaiters = new Set<() => void>();
  /** Bumped when a WAL write fails and every reservation is dropped: older appends then release nothing. */
  private reservationEpoch = 0;
  /** Retired segments whose files are being deleted right now. */
  private deletionsInFlight = 0;
  /** Serialises manifest changes (flush and compaction). */
  private manifestLock: Promise<void> = Promise.resolve();
  /** Serialises compaction passes. */
  private compactionChain: Promise<unknown> = Promise.resolve();
  private compactionsWaiting = 0;
  private readonly compactionTotals: CompactionTotals = {
    compactions: 0,
    filesCompacted: 0,
    segmentsCreated: 0,
    bytesBefore: 0,
    bytesAfter: 0,
    eventsCompacted: 0,
    spaceSavedBytes: 0,
    lastDurationMs: 0,
    lastCompactedAt: undefined,
    failures: 0,
    lastError: undefined,
    running: false,
    pendingDeletions: 0,
  };

  /** Events committed but not yet in a segment; `buffer.at(i)` is at index position bufferStart + i. */
  private readonly buffer = new BufferedEvents();
  private bufferStart = 0;
  /** The WAL records of the buffered events, for the flush to build its segment from. */
  private readonly unflushedRecords = new UnflushedRecords();
  private bufferOldestAt = 0;

  private nextLsn = 1;
  private lastTimestampUs = 0;
  /** Versions reserved by appends that are not durable yet, per entity. */
  private readonly reservedVersions = new Map<string, number>();
  /**
   * The same by entity number, for entities the index knows (0: none): an array slot instead of
   * string-keyed map operations per event. The map then only holds entities that were new when
   * reserved; a slot, when set, is always the newer reservation (it was made after reading the map).
   */
  private reservedByEntity = new Float64Array(1024);
  private pendingBytes = 0;
  private lastWriteError: Error | undefined;
  private lastFlushError: Error | undefined;
  /** Flushes started and not finished, oldest first (at most two: see `startFlush`). */
  private flushesInFlight: Array<Promise<void>> = [];
  /** Settles when the flush that is encoding its segment has its bytes (or failed). */
  private encodingFlush: Promise<void> | undefined;
  /** Buffered events, from the front, that flushes in flight have taken. */
  private takenEvents = 0;
  /** A flush failed and flushes behind it are still in flight (they fail too). */
  private flushFailing = false;
  /** Automatic flushes wait until then after a failure (see `scheduleFlushRetry`). */
  private flushRetryAt = 0;
  private flushRetryDelayMs = 0;
  private flushRetryTimer: NodeJS.Timeout | undefined;
  private flushTimer: NodeJS.Timeout | undefined;
  /** While the last WAL write failed: retries a tiny write so health recovers without traffic. */
  private probeTimer: NodeJS.Timeout | undefined;
  private probing = false;
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
    this.index = new EventIndex(
      opts.idIndexOnWorker === false
        ? new LocalIdIndex()
        : new WorkerIdIndex((err) => this.log.error({ err }, 'the event id index worker died: lookups by id fail until a restart')),
    );
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
      orphanFilesAdopted: [],
      durationMs: 0,
      segmentsMs: 0,
      segmentsFromSidecar: 0,
      walMs: 0,
    };
    let store: EventStore | undefined;
    const wal = new WriteAheadLog({
      dir: path.join(opts.dataDir, 'wal'),
      fs,
      syncMode: opts.syncMode,
      maxFileBytes: opts.walMaxFileBytes,
      observer: {
        onGroupCommit: (appends, bytes, seconds, events) => opts.observer?.onGroupCommit?.(appends, bytes, seconds, events),
        onWriteError: (error) => {
          // Runs before any failed append's continuation: every version reserved on top of the
          // failed write is released at once, so no later append can build on it.
          if (store) {
            store.reservedVersions.clear();
            store.reservedByEntity.fill(0);
            store.reservationEpoch++;
          }
          opts.observer?.onWriteError?.(error);
        },
      },
    });
    const reader = new SegmentReader(
      { dir: segmentsDir, cacheMaxBytes: opts.segmentCacheBytes, maxOpenFiles: opts.maxOpenSegments },
      opts.observer,
    );
    store = new EventStore(opts, manifest, report, wal, reader);
    try {
      await store.recover(report);
    } catch (err) {
      await store.index.closeIds();
      throw err;
    }
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
    if (this.index.idsBacklogged) {
      throw new AllSourceError('OVERLOADED', 'the event id index is behind; retry shortly');
    }
    if (this.bufferBytes > this.opts.bufferMaxBytes) await this.waitForBufferSpace();

    // Versions: check every expectation before reserving anything, so a batch is all-or-nothing.
    // A batch without expectations (the common case) cannot conflict: one pass, no batch map.
    const versions = new Array<number>(batch.length);
    let expectations = false;
    for (let i = 0; i < batch.length; i++) if (batch[i]!.expectedVersion !== undefined) expectations = true;
    if (expectations) this.checkExpectedVersions(batch);
    if (this.reservedByEntity.length < this.index.entities.size) {
      this.reservedByEntity = ensureCapacity(this.reservedByEntity, this.index.entities.size);
    }
    const entityNumbers = new Int32Array(batch.length);
    for (let i = 0; i < batch.length; i++) {
      const entityId = batch[i]!.entityId;
      const entity = this.index.entities.idOf(entityId) ?? -1;
      const next = this.currentVersion(entityId, entity) + 1;
      entityNumbers[i] = entity;
      versions[i] = next;
      if (entity >= 0) this.reservedByEntity[entity] = next;
      else this.reservedVersions.set(entityId, next);
    }

    // Wall-clock start plus the monotonic clock: microsecond precision, never steps backwards.
    const nowUs = Math.floor((performance.timeOrigin + performance.now()) * 1000);
    const timestampUs = nowUs > this.lastTimestampUs ? nowUs : this.lastTimestampUs;
    this.lastTimestampUs = timestampUs;
    const { ids, bytes: idBytes } = newEventIds(batch.length);
    const stored = new Array<StoredEvent>(batch.length);
    for (let i = 0; i < batch.length; i++) {
      const e = batch[i]!;
      stored[i] = {
        lsn: this.nextLsn++,
        id: ids[i]!,
        eventType: e.eventType,
        entityId: e.entityId,
        tenantId: e.tenantId,
        timestampUs,
        version: versions[i]!,
        payloadJson: e.payloadJson,
        metadataJson: e.metadataJson,
      };
    }
    // Once this append has ended, either way: drop the reservations nothing newer replaced.
    const epoch = this.reservationEpoch;
    const release = (): void => {
      // After a failed write dropped every reservation, slots may hold newer appends' versions.
      if (this.reservationEpoch !== epoch) return;
      for (let i = 0; i < batch.length; i++) {
        const entity = entityNumbers[i]!;
        if (entity >= 0) {
          if (this.reservedByEntity[entity] === versions[i]) this.reservedByEntity[entity] = 0;
        } else {
          const entityId = batch[i]!.entityId;
          if (this.reservedVersions.get(entityId) === versions[i]) this.reservedVersions.delete(entityId);
        }
      }
    };

    // The record's header is written in front of the payload in place: no copy of the payload.
    const framed = encodeWalPayload(stored, idBytes, RECORD_HEADER_BYTES);
    const record = framed.subarray(RECORD_HEADER_BYTES);
    this.pendingBytes += record.length;
    try {
      await this.wal.append(framed, stored[stored.length - 1]!.lsn, stored.length, true);
    } catch (err) {
      // A failed write already released every reservation (onWriteError); any other failure
      // (a record over the size bound) releases this batch's own.
      release();
      this.lastWriteError = err as Error;
      this.log.error({ err }, 'write-ahead log write failed; nothing of this write was acknowledged');
      this.startWriteProbe();
      throw new AllSourceError('STORAGE_UNAVAILABLE', 'the write-ahead log could not be written; nothing was stored');
    } finally {
      this.pendingBytes -= record.length;
    }
    this.lastWriteError = undefined;
    this.commit(stored, idBytes, record, entityNumbers);
    release();
    return stored;
  }

  /** The version an entity's next event builds on: its newest reservation, else its stored version. */
  private currentVersion(entityId: string, entity: number): number {
    if (entity >= 0) {
      const slot = this.reservedByEntity[entity]!;
      if (slot > 0) return slot;
    }
    if (this.reservedVersions.size > 0) {
      const reserved = this.reservedVersions.get(entityId);
      if (reserved !== undefined) return reserved;
    }
    return entity >= 0 ? this.index.lastVersionAt(entity) : 0;
  }

  /**
   * The buffer is over its bound: writes outran segment flushes. Wait (at most
   * `bufferFullWaitMs`) for flushes to bring it back under, so writers slow down to what the
   * flushes sustain instead of failing; fail with OVERLOADED when they do not, or cannot (a
   * failing flush).
   */
  private async waitForBufferSpace(): Promise<void> {
    const full = (): AllSourceError =>
      new AllSourceError('OVERLOADED', 'the write buffer is full while segments are being flushed; retry shortly');
    // Bounded: at most MAX_BUFFER_WAITERS appends (and their batches) wait; the others are refused.
    if (this.bufferWaiters.size >= MAX_BUFFER_WAITERS) throw full();
    const giveUpAt = performance.now() + (this.opts.bufferFullWaitMs ?? 0);
    while (this.bufferBytes > this.opts.bufferMaxBytes) {
      const left = giveUpAt - performance.now();
      if (this.closed) throw new AllSourceError('STORAGE_UNAVAILABLE', 'the store is shutting down');
      if (this.lastFlushError || left <= 0) throw full();
      this.flushInBackground();
      let timer: NodeJS.Timeout | undefined;
      let wake: (() => void) | undefined;
      await Promise.race([
        (this.flushesInFlight[0] ?? Promise.resolve()).catch(() => undefined),
        new Promise<void>((resolve) => {
          wake = resolve;
          timer = setTimeout(resolve, left);
          this.bufferWaiters.add(resolve);
        }),
      ]);
      clearTimeout(timer);
      this.bufferWaiters.delete(wake!);
    }
    if (this.closed) throw new AllSourceError('STORAGE_UNAVAILABLE', 'the store is shutting down');
    // Every waiter wakes at the same flush: the WAL queue's bound still applies to each.
    if (this.pendingBytes > this.opts.pendingMaxBytes) {
      throw new AllSourceError('OVERLOADED', 'too many writes are waiting for the write-ahead log; retry shortly');
    }
  }

  /** Throws VERSION_CONFLICT at the first event whose expected version is not the entity's. */
  private checkExpectedVersions(batch: readonly NewEvent[]): void {
    const local = new Map<string, number>();
    for (let i = 0; i < batch.length; i++) {
      const e = batch[i]!;
      const current = local.get(e.entityId) ?? this.currentVersion(e.entityId, this.index.entities.idOf(e.entityId) ?? -1);
      if (e.expectedVersion !== undefined && e.expectedVersion !== current) {
        const where = batch.length > 1 ? `events[${i}]: ` : '';
        throw new AllSourceError(
          'VERSION_CONFLICT',
          `${where}entity '${e.entityId}' is at version ${current}, expected ${e.expectedVersion}`,
          { index: i, entity_id: e.entityId, current_version: current, expected_version: e.expectedVersion },
        );
      }
      local.set(e.entityId, current + 1);
    }
  }

  /** Full events at the given index positions, in the order asked. */
  async readPositions(positions: ArrayLike<number>): Promise<StoredEvent[]> {
    const out = new Array<StoredEvent>(positions.length);
    const index = this.index;
    let i = 0;
    await this.visitPositions(positions, {
      buffered: (event) => {
        out[i++] = event;
      },
      stored: (columns, row, position) => {
        out[i++] = storedEventAt(columns, row, index, position);
      },
    });
    return out;
  }

  /**
   * Hand the events at `positions` to `visitor`, in that order (see `EventVisitor`). Row groups
   * not in the segment cache are read first; the visits themselves run in one go, without
   * awaiting in between.
   */
  async visitPositions(positions: ArrayLike<number>, visitor: EventVisitor): Promise<void> {
    const n = positions.length;
    const index = this.index;
    // Where each event is, found in this tick: events in the buffer (a flush may move them once
    // this awaits) and rows of cached row groups (no await needed). The common case, everything
    // cached, awaits nothing.
    let buffered: Array<StoredEvent | undefined> | undefined;
    const columns = new Array<RowGroupColumns | undefined>(n);
    const rows = new Int32Array(n);
    let missing: number[] | undefined;
    let last: RowGroupColumns | undefined;
    let lastSegment = -1;
    let cachedReads = 0;
    for (let i = 0; i < n; i++) {
      const pos = positions[i]!;
      const segment = index.segmentOf[pos]!;
      if (segment === IN_BUFFER) {
        (buffered ??= new Array<StoredEvent | undefined>(n))[i] = this.buffer.at(pos - this.bufferStart)!;
        continue;
      }
      const row = index.rowOf[pos]!;
      if (segment !== lastSegment || !last || row < last.firstRow || row >= last.firstRow + last.rowCount) {
        last = this.reader.cachedRowGroup(this.segmentFiles[segment]!, row);
        lastSegment = segment;
        if (!last) {
          (missing ??= []).push(i);
          continue;
        }
      }
      columns[i] = last;
      rows[i] = row - last.firstRow;
      cachedReads++;
    }
    this.reader.countCachedReads(cachedReads);
    if (missing) await this.locateMissing(positions, missing, columns, rows);
    for (let i = 0; i < n; i++) {
      const c = columns[i];
      if (c) visitor.stored(c, rows[i]!, positions[i]!);
      else visitor.buffered(buffered![i]!, positions[i]!);
    }
  }

  /** Read the row groups of `missing` (slots of `positions`) that the segment cache lacks. */
  private async locateMissing(positions: ArrayLike<number>, missing: number[], columns: Array<RowGroupColumns | undefined>, rows: Int32Array): Promise<void> {
    const bySegment = new Map<number, { slots: number[]; rows: number[] }>();
    for (const slot of missing) {
      const pos = positions[slot]!;
      const segment = this.index.segmentOf[pos]!;
      let group = bySegment.get(segment);
      if (!group) {
        bySegment.set(segment, (group = { slots: [], rows: [] }));
        // Taken in the same tick the location was read: a compaction cannot delete the file
        // under this read (it waits for the count to drop to 0).
        this.segmentReaders[segment]!++;
      }
      group.slots.push(slot);
      group.rows.push(this.index.rowOf[pos]!);
    }
    try {
      for (const [segment, group] of bySegment) {
        const located = await this.reader.locateRows(this.segmentFiles[segment]!, group.rows);
        for (let k = 0; k < group.slots.length; k++) {
          const slot = group.slots[k]!;
          columns[slot] = located.groups[k]!;
          rows[slot] = located.within[k]!;
        }
      }
    } finally {
      for (const segment of bySegment.keys()) {
        if (--this.segmentReaders[segment]! === 0 && this.retiredSegments.has(segment)) void this.deleteSegmentFile(segment);
      }
    }
  }

  async getById(id: string): Promise<StoredEvent | undefined> {
    let candidates: number[];
    try {
      candidates = await this.index.idCandidates(id);
    } catch (err) {
      if (err instanceof IdIndexUnavailableError) throw new AllSourceError('STORAGE_UNAVAILABLE', err.message);
      throw err;
    }
    for (const pos of candidates) {
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
      idIndexBytes: this.index.idBytes,
      lastLsn: this.nextLsn - 1,
      flushedLsn: this.manifest.flushedLsn,
    };
  }

  /**
   * Data start-up recovery had to give up, in words (empty when none): segments not served, and
   * WAL records cut that were complete (a checksum or garbage cut; a torn tail is what a crash
   * in the middle of a write leaves, never-acknowledged bytes, so it is not counted).
   */
  recoveryLosses(): string[] {
    const out: string[] = [];
    const r = this.recovery;
    if (r.segmentErrors.length > 0) {
      const events = r.segmentErrors.reduce((n, e) => n + e.events, 0);
      out.push(`${r.segmentErrors.length} segment file(s) could not be read (${events} events not served)`);
    }
    const damaged = r.walCorruptions.filter((c) => c.kind !== 'torn_tail');
    if (damaged.length > 0) {
      const bytes = damaged.reduce((n, c) => n + c.bytesCut, 0);
      out.push(`${damaged.length} damaged write-ahead log file(s) cut (${bytes} bytes; kept under wal/corrupt/)`);
    }
    return out;
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

  /**
   * Flush buffered events into a new Parquet segment now: resolves once a flush has moved
   * events out of the buffer (at most `flushMaxEvents` a flush; call again while events remain).
   */
  flush(): Promise<void> {
    const started = this.startFlush();
    if (started) return started;
    // None can start now (one is encoding, or two are in flight): wait for the oldest.
    const oldest = this.flushesInFlight[0];
    if (!oldest) return Promise.resolve();
    return oldest.then(() => (this.buffer.length > 0 ? this.flush() : undefined));
  }

  /**
   * Merge runs of adjacent small segments into larger ones. A run is at least `minFiles`
   * segments next to each other in the manifest (LSN order, index positions contiguous), each
   * smaller than `smallSegmentBytes`, together at most `targetBytes`. Per run: the merged file is
   * written durably, the manifest is swapped (the run's entries replaced by one, generation =
   * max + 1, `flushedLsn` unchanged), the index switched, then the old files are deleted once no
   * read uses them. A crash at any point leaves either the old files or the merged one in the
   * manifest; the other side is an orphan that recovery removes. Passes run one at a time: a
   * call made while one runs waits for it, then runs its own.
   */
  compact(options: Partial<CompactionOptions> = {}): Promise<CompactionResult> {
    const opts: CompactionOptions = { ...DEFAULT_COMPACTION_OPTIONS, ...options };
    if (!(opts.minFiles >= 2) || !(opts.smallSegmentBytes >= 1) || !(opts.targetBytes >= 1)) {
      return Promise.reject(new AllSourceError('INVALID_INPUT', 'compaction needs minFiles >= 2 and positive byte bounds'));
    }
    if (this.closed) return Promise.reject(new AllSourceError('STORAGE_UNAVAILABLE', 'the store is shutting down'));
    if (this.compactionsWaiting >= MAX_COMPACTIONS_WAITING) {
      return Promise.reject(new AllSourceError('OVERLOADED', `${this.compactionsWaiting} compaction passes are already waiting or running; retry once they are done`));
    }
    this.compactionsWaiting++;
    const pass = this.compactionChain.then(() => this.compactPass(opts)).finally(() => this.compactionsWaiting--);
    this.compactionChain = pass.catch(() => undefined);
    return pass;
  }

  /** Compaction totals since the store was opened. */
  compactionStats(): CompactionTotals {
    return { ...this.compactionTotals, running: this.compactionsWaiting > 0, pendingDeletions: this.retiredSegments.size + this.deletionsInFlight };
  }

  private async compactPass(opts: CompactionOptions): Promise<CompactionResult> {
    const started = performance.now();
    const result: CompactionResult = {
      filesCompacted: 0,
      segmentsCreated: 0,
      bytesBefore: 0,
      bytesAfter: 0,
      bytesSaved: 0,
      eventsCompacted: 0,
      durationMs: 0,
    };
    let failure: Error | undefined;
    try {
      for (const run of this.planCompaction(opts)) {
        if (this.closed) break;
        const merged = await this.compactRun(run);
        if (!merged) break;
        result.filesCompacted += run.length;
        result.segmentsCreated++;
        result.bytesBefore += merged.bytesBefore;
        result.bytesAfter += merged.bytesAfter;
        result.eventsCompacted += merged.events;
        result.bytesSaved += Math.max(0, merged.bytesBefore - merged.bytesAfter);
      }
    } catch (err) {
      failure = err as Error;
    } finally {
      // The merge worker's memory goes with it.
      await this.compactionPool.close();
    }
    result.durationMs = performance.now() - started;
    const totals = this.compactionTotals;
    if (result.filesCompacted > 0) {
      totals.compactions++;
      totals.filesCompacted += result.filesCompacted;
      totals.segmentsCreated += result.segmentsCreated;
      totals.bytesBefore += result.bytesBefore;
      totals.bytesAfter += result.bytesAfter;
      totals.eventsCompacted += result.eventsCompacted;
      totals.spaceSavedBytes += result.bytesSaved;
      totals.lastDurationMs = result.durationMs;
      totals.lastCompactedAt = Date.now();
      this.log.info({ compaction: result }, 'compaction merged segments');
      try {
        this.opts.observer?.onCompaction?.(result);
      } catch (err) {
        this.log.error({ err }, 'compaction observer failed');
      }
    }
    if (failure) {
      if (this.closed) return result;
      totals.failures++;
      // A file system error is reported by its code (its message names server paths).
      const code = (failure as NodeJS.ErrnoException).code;
      totals.lastError = code ? `${code} (see the server log)` : failure.message;
      this.log.error({ err: failure }, 'compaction failed; the segments it was merging stay as they were');
      if (failure instanceof AllSourceError) throw failure;
      throw new AllSourceError('STORAGE_UNAVAILABLE', `compaction failed: ${totals.lastError}`);
    }
    return result;
  }

  /** Runs of adjacent small segments to merge, in manifest order. */
  private planCompaction(opts: CompactionOptions): SegmentInfo[][] {
    const runs: SegmentInfo[][] = [];
    let run: SegmentInfo[] = [];
    let runBytes = 0;
    const close = (): void => {
      if (run.length >= opts.minFiles) runs.push(run);
      run = [];
      runBytes = 0;
    };
    for (const info of this.manifest.segments) {
      const segment = this.segmentByFile.get(info.file);
      if (segment === undefined || this.retiredSegments.has(segment) || info.bytes >= opts.smallSegmentBytes) {
        close();
        continue;
      }
      const prev = run[run.length - 1];
      if (prev) {
        const prevSegment = this.segmentByFile.get(prev.file)!;
        const adjacent =
          prev.lastLsn < info.firstLsn && this.segmentStart[prevSegment]! + this.segmentRows[prevSegment]! === this.segmentStart[segment]!;
        if (!adjacent || runBytes + info.bytes > opts.targetBytes) close();
      }
      run.push(info);
      runBytes += info.bytes;
    }
    close();
    return runs;
  }

  /** Merge one run; undefined when the store closed before the manifest swap. */
  private async compactRun(run: SegmentInfo[]): Promise<{ bytesBefore: number; bytesAfter: number; events: number } | undefined> {
    const first = run[0]!;
    const last = run[run.length - 1]!;
    const olds = run.map((info) => this.segmentByFile.get(info.file)!);
    let rows = 0;
    let bytesBefore = 0;
    let minTimestampUs = Number.POSITIVE_INFINITY;
    let maxTimestampUs = Number.NEGATIVE_INFINITY;
    let generation = 0;
    for (let i = 0; i < run.length; i++) {
      rows += this.segmentRows[olds[i]!]!;
      bytesBefore += run[i]!.bytes;
      minTimestampUs = Math.min(minTimestampUs, run[i]!.minTimestampUs);
      maxTimestampUs = Math.max(maxTimestampUs, run[i]!.maxTimestampUs);
      generation = Math.max(generation, run[i]!.generation + 1);
    }

    // A merge must not carry damage into a new file with a fresh, valid checksum.
    for (const info of run) {
      if (info.crc32c === undefined) continue;
      if (crc32c(await this.fs.readFile(path.join(this.segmentsDir, info.file))) !== info.crc32c) {
        throw new Error(`segment ${info.file} is damaged on disk (checksum mismatch); it is not merged`);
      }
    }
    const merged = await this.compactionPool.merge(
      run.map((info) => path.join(this.segmentsDir, info.file)),
      this.parquetOptions(),
    );
    // The written bytes were read back: same rows, in LSN order, from the run's first to last.
    if (
      merged.rowsIn !== rows ||
      merged.rows !== rows ||
      !merged.ordered ||
      merged.firstSequence !== first.firstLsn ||
      merged.lastSequence !== last.lastLsn
    ) {
      throw new Error(
        `merged segment check failed for ${first.file}..${last.file}: expected ${rows} rows (LSN ${first.firstLsn}..${last.lastLsn}), ` +
          `read ${merged.rowsIn}, wrote ${merged.rows} (LSN ${merged.firstSequence}..${merged.lastSequence}, ordered ${merged.ordered})`,
      );
    }
    if (this.closed) return undefined;

    const file = await this.unusedSegmentName(first.firstLsn, last.lastLsn, generation);
    const target = path.join(this.segmentsDir, file);
    // Until the manifest names it, the merged file is an orphan that recovery would remove.
    await this.fs.writeFileAtomic(target, merged.bytes);
    const info: SegmentInfo = {
      file,
      firstLsn: first.firstLsn,
      lastLsn: last.lastLsn,
      events: rows,
      bytes: merged.bytes.byteLength,
      minTimestampUs,
      maxTimestampUs,
      generation,
      crc32c: crc32c(Buffer.from(merged.bytes.buffer, merged.bytes.byteOffset, merged.bytes.byteLength)),
    };
    const swapped = await this.withManifestLock(async () => {
      const segments = this.manifest.segments;
      const at = segments.findIndex((s) => s.file === first.file);
      const stillThere = at >= 0 && run.every((s, i) => segments[at + i]?.file === s.file);
      if (this.closed || !stillThere) return false;
      const manifest: Manifest = { ...this.manifest, segments: [...segments.slice(0, at), info, ...segments.slice(at + run.length)] };
      // A failure here may or may not have replaced the manifest on disk, so the merged file is
      // kept either way (one of the two sets is an orphan at the next start).
      await writeManifest(this.fs, this.segmentsDir, manifest);
      this.manifest = manifest;
      // The run's events occupy contiguous index positions: point them at the merged rows.
      const start = this.segmentStart[olds[0]!]!;
      const segment = this.registerSegment(file, start, rows);
      for (let row = 0; row < rows; row++) this.index.setLocation(start + row, segment, row);
      return true;
    });
    if (!swapped) {
      await this.fs.unlink(target).catch(() => undefined);
      if (this.closed) return undefined;
      throw new Error(`segments ${first.file}..${last.file} changed during compaction`);
    }
    for (const segment of olds) {
      this.retiredSegments.add(segment);
      if (this.segmentReaders[segment] === 0) await this.deleteSegmentFile(segment);
    }
    return { bytesBefore, bytesAfter: merged.bytes.byteLength, events: rows };
  }

  /** Delete the file of a segment a compaction replaced (no read uses it any more). */
  private async deleteSegmentFile(segment: number): Promise<void> {
    if (!this.retiredSegments.delete(segment)) return;
    // Counted as pending until its files are gone, not just until it left the retired set.
    this.deletionsInFlight++;
    const file = this.segmentFiles[segment]!;
    this.segmentByFile.delete(file);
    this.reader.forget(file);
    try {
      await this.fs.unlink(path.join(this.segmentsDir, file));
    } catch (err) {
      // Not in the manifest any more: recovery removes it at the next start.
      this.log.warn({ err, file }, 'could not delete a compacted segment file; it is removed at the next start');
    }
    // A sidecar left behind by a crash here is removed at the next start (its segment is not listed).
    await this.fs.unlink(path.join(this.segmentsDir, file + SIDECAR_SUFFIX)).catch(() => undefined);
    this.deletionsInFlight--;
  }

  private registerSegment(file: string, start: number, rows: number): number {
    const segment = this.segmentFiles.push(file) - 1;
    this.segmentStart[segment] = start;
    this.segmentRows[segment] = rows;
    this.segmentReaders[segment] = 0;
    this.segmentByFile.set(file, segment);
    return segment;
  }

  /** A segment file name no live, retired or stray file has. */
  private async unusedSegmentName(firstLsn: number, lastLsn: number, generation: number): Promise<string> {
    let g = generation;
    let file = segmentFileName(firstLsn, lastLsn, g);
    while (this.segmentFiles.includes(file) || (await this.fs.exists(path.join(this.segmentsDir, file)))) {
      file = segmentFileName(firstLsn, lastLsn, ++g);
    }
    return file;
  }

  private async withManifestLock<T>(fn: () => Promise<T>): Promise<T> {
    const previous = this.manifestLock;
    let release!: () => void;
    this.manifestLock = new Promise<void>((resolve) => (release = resolve));
    await previous;
    try {
      return await fn();
    } finally {
      release();
    }
  }

  private parquetOptions(): ParquetEncodeOptions {
    return { rowGroupSize: this.opts.rowGroupSize, compression: this.opts.segmentCompression ?? 'snappy' };
  }

  /** Finish pending writes, flush the buffer to a segment and release files. */
  async close(options: { flush?: boolean } = {}): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const wake of this.bufferWaiters) wake();
    if (this.flushTimer) clearInterval(this.flushTimer);
    this.stopWriteProbe();
    // A running compaction stops: its merge fails with the worker, or it stops before its swap.
    await this.compactionPool.close();
    await this.compactionChain;
    await this.wal.close();
    if (options.flush !== false) {
      try {
        // One flush takes at most flushMaxEvents events: keep going until the buffer is empty.
        while (this.buffer.length > 0) await this.flush();
      } catch (err) {
        this.log.warn({ err }, 'final flush failed; events stay in the write-ahead log');
      }
    }
    // After a failed final flush, the one behind it may still be running.
    await Promise.allSettled(this.flushesInFlight);
    clearTimeout(this.flushRetryTimer);
    // A flush rotates the WAL, which opens a new file even after close: release that one too.
    await this.wal.close();
    await this.writerPool.close();
    await this.compactionPool.close();
    await this.reader.close();
    await this.index.closeIds();
  }

  /** Memory the unflushed events hold: the events themselves and their WAL records' copies. */
  private get bufferBytes(): number {
    return this.buffer.bytes + this.unflushedRecords.bytes;
  }

  /** `entityNumbers`: each event's entity number as the append found it (-1: new then). */
  private commit(events: StoredEvent[], idBytes: Uint8Array, record: Uint8Array, entityNumbers: Int32Array): void {
    if (this.buffer.length === 0) this.bufferOldestAt = Date.now();
    this.index.reserve(this.index.count + events.length);
    // The record's buffer is its own (exactly its size): a large one is kept as is, not copied,
    // and the buffer then holds its events as that record (decoded when read), not as objects.
    const asRecord = this.unflushedRecords.add(record, events.length, 0, events.length, true);
    for (let i = 0; i < events.length; i++) {
      const e = events[i]!;
      this.index.add(e, IN_BUFFER, 0, idBytes, i * EVENT_ID_BYTES, entityNumbers[i]!);
      if (!asRecord) this.buffer.push(e, eventBytes(e));
    }
    if (asRecord) this.buffer.pushRecord(record, events.length, RECORD_HELD_EVENT_BYTES);
    for (const listener of this.listeners) {
      try {
        listener(events);
      } catch (err) {
        this.log.error({ err }, 'commit listener failed');
      }
    }
    if (this.overFlushBound()) this.flushInBackground();
  }

  /**
   * After a failed WAL write, /health says unhealthy until a write succeeds. A load balancer
   * that stops sending writes to an unhealthy node would then keep it so forever: instead, every
   * second, an empty record (`[]`, no events; recovery skips it) goes through the same write and
   * fdatasync path, and its success clears the error.
   */
  private startWriteProbe(): void {
    if (this.probeTimer || this.closed) return;
    this.probeTimer = setInterval(() => void this.probeWrite(), WRITE_PROBE_INTERVAL_MS);
    this.probeTimer.unref();
  }

  private stopWriteProbe(): void {
    if (this.probeTimer) clearInterval(this.probeTimer);
    this.probeTimer = undefined;
  }

  private async probeWrite(): Promise<void> {
    if (this.probing) return;
    if (!this.lastWriteError || this.closed) {
      this.stopWriteProbe();
      return;
    }
    this.probing = true;
    try {
      await this.wal.append(EMPTY_WAL_RECORD, -1, 0);
      if (this.lastWriteError) this.log.info({}, 'write-ahead log writable again');
      this.lastWriteError = undefined;
      this.stopWriteProbe();
    } catch {
      // Still failing: health stays unhealthy; the next tick tries again.
    } finally {
      this.probing = false;
    }
  }

  private flushInBackground(): void {
    if (this.closed || performance.now() < this.flushRetryAt) return;
    this.startFlush()?.catch(() => undefined);
  }

  /**
   * After a failed flush, automatic flushes wait (50 ms, doubling to 5 s while they keep
   * failing) instead of retrying at once: each attempt rotates the WAL and writes files.
   * `flush()` called directly still tries at once.
   */
  private scheduleFlushRetry(): void {
    this.flushRetryDelayMs = Math.min(5000, this.flushRetryDelayMs > 0 ? this.flushRetryDelayMs * 2 : 50);
    this.flushRetryAt = performance.now() + this.flushRetryDelayMs;
    clearTimeout(this.flushRetryTimer);
    this.flushRetryTimer = setTimeout(() => {
      this.flushRetryAt = 0;
      if (this.buffer.length > this.takenEvents) this.flushInBackground();
    }, this.flushRetryDelayMs);
    this.flushRetryTimer.unref();
  }

  /**
   * Whether the buffer, beyond what flushes in flight have taken, calls for another flush (its
   * bytes estimated as the untaken share of the buffer's).
   */
  private overFlushBound(): boolean {
    const untaken = this.buffer.length - this.takenEvents;
    if (untaken <= 0) return false;
    return untaken >= this.opts.flushMaxEvents || (this.bufferBytes * untaken) / this.buffer.length >= this.opts.flushMaxBytes;
  }

  private startFlushTimer(): void {
    const every = Math.max(50, Math.min(1000, this.opts.flushMaxAgeMs));
    this.flushTimer = setInterval(() => {
      if (this.buffer.length > 0 && Date.now() - this.bufferOldestAt >= this.opts.flushMaxAgeMs) this.flushInBackground();
    }, every);
    this.flushTimer.unref();
  }

  /**
   * Start a flush of the oldest buffered events no flush has taken, unless one is encoding, two
   * are in flight, or none is left. Flushes overlap by one stage: the next flush's segment is
   * encoded (worker thread) while the previous one is written to disk and swapped into the
   * manifest. They finish in order, and a flush behind a failed one fails too (its segment
   * would leave a gap in the flushed prefix); the events stay in the buffer and the WAL.
   */
  private startFlush(): Promise<void> | undefined {
    if (this.encodingFlush || this.flushesInFlight.length >= 2) return undefined;
    // After a failure, the flushes behind it fail too: start again from the front once they have.
    if (this.flushFailing && this.flushesInFlight.length > 0) return undefined;
    this.flushFailing = false;
    const from = this.takenEvents;
    const count = Math.min(this.buffer.length - from, this.opts.flushMaxEvents);
    if (count <= 0) return undefined;
    // The first and last events now; all of them only should the segment be built from the
    // events (they are decoded then, from where they are in the buffer by that time).
    const startPosition = this.bufferStart + from;
    const range: FlushRange = {
      first: this.buffer.at(from)!,
      last: this.buffer.at(from + count - 1)!,
      count,
      events: () => this.buffer.slice(startPosition - this.bufferStart, startPosition - this.bufferStart + count),
    };
    // Taken now, before any await: a flush finishing meanwhile moves what `from` counts from.
    // Should the records not match the buffer, the segment is built from the events instead.
    let wal: WalSlices | undefined;
    try {
      wal = this.unflushedRecords.take(count, from);
    } catch (err) {
      this.log.error({ err }, 'the WAL records of the buffered events are not all noted; building the segment from the events');
    }
    this.takenEvents += count;
    const started = performance.now();
    // Start a new WAL file so that every file before it can go once this segment is durable.
    const encoding = this.wal.rotate().then(() => this.encodeSegment(range, wal));
    this.encodingFlush = encoding.then(
      () => undefined,
      () => undefined,
    );
    void this.encodingFlush.then(() => {
      this.encodingFlush = undefined;
      if (this.overFlushBound()) this.flushInBackground();
    });
    const previous = this.flushesInFlight[this.flushesInFlight.length - 1];
    const progress = { moved: false };
    const done = this.persistFlush(range, encoding, previous, started, progress);
    this.flushesInFlight.push(done);
    const finished = (failed: boolean): void => {
      this.flushesInFlight.splice(this.flushesInFlight.indexOf(done), 1);
      if (failed) {
        // Its events are still at the front of the buffer: no longer taken.
        if (!progress.moved) this.takenEvents -= count;
        this.flushFailing = true;
        this.scheduleFlushRetry();
        return;
      }
      this.flushRetryDelayMs = 0;
      this.flushRetryAt = 0;
      // A flush takes at most flushMaxEvents; keep going while the buffer is over a bound.
      if (this.overFlushBound()) this.flushInBackground();
    };
    done.then(
      () => finished(false),
      () => finished(true),
    );
    return done;
  }

  /**
   * Write a flush's encoded segment, swap it into the manifest and switch the index to it.
   * `progress.moved` is set once its events have left the buffer (with the index switch).
   */
  private async persistFlush(
    range: FlushRange,
    encoding: Promise<Uint8Array>,
    previous: Promise<void> | undefined,
    started: number,
    progress: { moved: boolean },
  ): Promise<void> {
    const { first, last, count } = range;
    let parquetBytes: Uint8Array;
    try {
      parquetBytes = await encoding;
    } catch (err) {
      // The flush before this one still finishes first.
      await previous?.catch(() => undefined);
      throw this.flushFailed(err as Error);
    }
    // A failure of the flush before fails this one with the same error (logged once, by that one).
    await previous;
    try {
      // Flushes finish in order, so this one's events are at the front of the buffer.
      if (this.buffer.lsnAt(0) !== first.lsn) throw new Error(`flush of LSN ${first.lsn}..${last.lsn} is not at the front of the buffer`);
      const file = await this.unusedSegmentName(first.lsn, last.lsn, 0);
      await this.fs.writeFileAtomic(path.join(this.segmentsDir, file), parquetBytes);
      const info: SegmentInfo = {
        file,
        firstLsn: first.lsn,
        lastLsn: last.lsn,
        events: count,
        bytes: parquetBytes.byteLength,
        minTimestampUs: first.timestampUs,
        maxTimestampUs: last.timestampUs,
        generation: 0,
        crc32c: crc32c(Buffer.from(parquetBytes.buffer, parquetBytes.byteOffset, parquetBytes.byteLength)),
      };
      await this.withManifestLock(async () => {
        const manifest: Manifest = { ...this.manifest, flushedLsn: last.lsn, segments: [...this.manifest.segments, info] };
        await writeManifest(this.fs, this.segmentsDir, manifest);
        this.manifest = manifest;

        // Switch the index to the segment and drop the events from the buffer in one step, so a
        // reader sees each event in exactly one place.
        const segment = this.registerSegment(file, this.bufferStart, count);
        for (let i = 0; i < count; i++) this.index.setLocation(this.bufferStart + i, segment, i);
        this.buffer.dropFront(count);
        this.unflushedRecords.consume(count);
        this.takenEvents -= count;
        progress.moved = true;
        this.bufferStart += count;
        this.bufferOldestAt = Date.now();
        this.lastFlushError = undefined;
      });

      // The segment is in; WAL files it covers that cannot go now go with a later flush (or are
      // skipped at recovery, being at or below the flushed LSN).
      await this.wal.removeFilesCoveredBy(last.lsn).catch((err: unknown) => {
        this.log.warn({ err }, 'could not remove WAL files a segment covers; a later flush retries');
      });
      this.opts.observer?.onFlush?.(count, parquetBytes.byteLength, (performance.now() - started) / 1000);
    } catch (err) {
      throw this.flushFailed(err as Error);
    }
  }

  private flushFailed(err: Error): Error {
    this.lastFlushError = err;
    this.log.error({ err }, 'segment flush failed; events stay in the buffer and the write-ahead log');
    return err;
  }

  /**
   * Parquet bytes of `events`. Built on the worker from their WAL records' bytes (`wal`),
   * checked against the events by row count and first and last LSN; from the events themselves
   * when a record among them is not in the binary layout (`wal` undefined).
   */
  private async encodeSegment(range: FlushRange, wal: WalSlices | undefined): Promise<Uint8Array> {
    const options = this.parquetOptions();
    if (wal) {
      // A failure here would fail every retry the same way: the events themselves are the fallback.
      try {
        const encoded = await this.writerPool.encodeWal(wal, options);
        const first = range.first.lsn;
        const last = range.last.lsn;
        if (encoded.rows === range.count && encoded.firstSequence === first && encoded.lastSequence === last) return encoded.bytes;
        this.log.error(
          { rows: encoded.rows, firstLsn: encoded.firstSequence, lastLsn: encoded.lastSequence, expected: { rows: range.count, firstLsn: first, lastLsn: last } },
          'the segment built from the WAL records does not match the buffer; building it from the events',
        );
      } catch (err) {
        this.log.error({ err }, 'could not build the segment from the WAL records; building it from the events');
      }
    }
    return this.writerPool.encode(await eventsToArrowIpc(range.events()), options);
  }

  /**
   * Index one listed segment. Its file is read and checked against the manifest's CRC-32C
   * either way; its index columns come from its sidecar when that is valid for exactly this
   * file, else from the Parquet (and the sidecar is written for the next start).
   */
  private async indexSegment(info: SegmentInfo, interners: IndexInterners, report: RecoveryReport): Promise<{ rows: number; maxLsn: number }> {
    const { bytes, crc32c } = await this.reader.readChecked(info.file, info.crc32c);
    const stored = await readSidecarFile(this.segmentsDir, info.file).catch(() => undefined);
    const sidecar = stored && decodeSidecar(stored, crc32c);
    if (sidecar && typeof sidecar !== 'string') {
      const segment = this.registerSegment(info.file, this.index.count, sidecar.rows);
      report.segmentsFromSidecar++;
      return { rows: sidecar.rows, maxLsn: addSidecarRows(this.index, sidecar, segment) };
    }
    if (typeof sidecar === 'string') this.log.warn({ file: info.file, reason: sidecar }, 'index sidecar ignored; the index is rebuilt from the segment');
    const table = await decodeColumns(bytes, [...INDEX_COLUMNS]);
    const batches = indexColumnsOf(table);
    const segment = this.registerSegment(info.file, this.index.count, table.numRows);
    const rows = new SidecarRows(table.numRows);
    const maxLsn = addSegmentRows(this.index, batches, segment, interners, rows);
    try {
      await writeSidecarFile(this.segmentsDir, info.file, encodeSidecar(this.index, rows, crc32c, maxLsn));
    } catch (err) {
      this.log.warn({ err, file: info.file }, 'could not write an index sidecar; the next start reads the segment again');
    }
    return { rows: table.numRows, maxLsn };
  }

  private async recover(report: RecoveryReport): Promise<void> {
    const listed = this.manifest.segments;
    const known = new Set(listed.map((s) => s.file));
    const overlapsListed = (r: { firstLsn: number; lastLsn: number }): boolean =>
      listed.some((s) => s.firstLsn <= r.lastLsn && r.firstLsn <= s.lastLsn);
    // Segment files not in the manifest. Temp files, and segments whose LSNs a listed segment
    // covers (a compaction that died before its swap, or old files it had not deleted yet), are
    // leftovers: removed. The others are decided once the WAL has been read (below).
    const unlisted: Array<{ name: string; firstLsn: number; lastLsn: number; generation: number }> = [];
    const names = await this.fs.readdir(this.segmentsDir);
    for (const name of names) {
      if (name === MANIFEST_FILE || known.has(name)) continue;
      if (!name.endsWith('.parquet') && !name.endsWith('.tmp')) continue;
      const range = name.endsWith('.parquet') ? parseSegmentFileName(name) : undefined;
      if (!range || overlapsListed(range)) {
        await this.fs.unlink(path.join(this.segmentsDir, name));
        report.orphanFilesRemoved.push(name);
      } else {
        unlisted.push({ name, ...range });
      }
    }

    // Read the WAL first: which LSNs it holds decides the unlisted segments. Its events are
    // indexed after the segments (LSN order); those at or below the flushed LSN are skipped.
    const walEvents: StoredEvent[] = [];
    // Per WAL event: the id bytes of its record (binary records) and where its id starts there.
    const walIdBytes: Array<Uint8Array | undefined> = [];
    const walIdOffsets: number[] = [];
    // Per WAL record: its payload and events; per WAL event: its record.
    const walRecords: Array<{ payload: Buffer; events: number }> = [];
    const walRecordOf: number[] = [];
    let walMin = Number.POSITIVE_INFINITY;
    let walMax = Number.NEGATIVE_INFINITY;
    const walStarted = performance.now();
    report.walCorruptions = await this.wal.open((payload) => {
      let recordMax = -1;
      const { events, idBytes } = decodeWalPayload(payload);
      walRecords.push({ payload, events: events.length });
      for (let i = 0; i < events.length; i++) {
        const e = events[i]!;
        recordMax = Math.max(recordMax, e.lsn);
        walMin = Math.min(walMin, e.lsn);
        walMax = Math.max(walMax, e.lsn);
        if (e.lsn <= this.manifest.flushedLsn) {
          report.walRecordsSkipped++;
        } else {
          walEvents.push(e);
          walIdBytes.push(idBytes);
          walIdOffsets.push(i * EVENT_ID_BYTES);
          walRecordOf.push(walRecords.length - 1);
        }
      }
      return recordMax;
    });
    const walReadMs = performance.now() - walStarted;

    // An unlisted segment whose events the WAL still holds is a flush that died before its
    // manifest swap: removed (the WAL replays them). One whose events are nowhere else (a lost
    // manifest entry) is adopted back into the manifest, never deleted.
    const adopted: SegmentInfo[] = [];
    const lostSegments: Array<{ name: string; firstLsn: number; lastLsn: number }> = [];
    for (const u of unlisted.sort((a, b) => a.firstLsn - b.firstLsn || b.generation - a.generation)) {
      if (walMin <= u.firstLsn && u.lastLsn <= walMax) {
        await this.fs.unlink(path.join(this.segmentsDir, u.name));
        report.orphanFilesRemoved.push(u.name);
        continue;
      }
      if (adopted.some((a) => a.firstLsn <= u.firstLsn && u.lastLsn <= a.lastLsn)) {
        // Inside a later generation adopted just before (a compaction's old file): a leftover.
        await this.fs.unlink(path.join(this.segmentsDir, u.name));
        report.orphanFilesRemoved.push(u.name);
        continue;
      }
      if (adopted.some((a) => a.firstLsn <= u.lastLsn && u.firstLsn <= a.lastLsn)) {
        lostSegments.push(u);
        continue;
      }
      try {
        const { table, bytes, crc32c } = await this.reader.readColumns(u.name, ['sequence', 'timestamp']);
        const seq = table.getChild('sequence')!;
        const ts = table.getChild('timestamp')!;
        if (table.numRows === 0 || Number(seq.get(0)) !== u.firstLsn || Number(seq.get(table.numRows - 1)) !== u.lastLsn) {
          throw new Error(`its rows do not match its name (LSN ${u.firstLsn}..${u.lastLsn})`);
        }
        adopted.push({
          file: u.name,
          firstLsn: u.firstLsn,
          lastLsn: u.lastLsn,
          events: table.numRows,
          bytes,
          minTimestampUs: timestampMicrosAt(ts, 0),
          maxTimestampUs: timestampMicrosAt(ts, table.numRows - 1),
          generation: u.generation,
          crc32c,
        });
      } catch (err) {
        lostSegments.push(u);
        this.log.error({ err, file: u.name }, 'a segment file missing from the manifest could not be adopted; it is left in place');
      }
    }
    if (adopted.length > 0) {
      const segments = [...listed, ...adopted].sort((a, b) => a.firstLsn - b.firstLsn);
      const flushedLsn = Math.max(this.manifest.flushedLsn, ...adopted.map((a) => a.lastLsn));
      this.manifest = { ...this.manifest, flushedLsn, segments };
      await writeManifest(this.fs, this.segmentsDir, this.manifest);
      report.orphanFilesAdopted.push(...adopted.map((a) => a.file));
      this.log.warn({ files: report.orphanFilesAdopted }, 'segment files missing from the manifest were adopted back into it');
    }

    // Index sidecars of segments no longer listed, and half-written ones: removed (a cache).
    const listedFiles = new Set(this.manifest.segments.map((s) => s.file));
    for (const name of names) {
      const stale = name.endsWith(SIDECAR_TEMP_SUFFIX) || (name.endsWith(SIDECAR_SUFFIX) && !listedFiles.has(name.slice(0, -SIDECAR_SUFFIX.length)));
      if (stale) await this.fs.unlink(path.join(this.segmentsDir, name)).catch(() => undefined);
    }

    let maxLsn = 0;
    for (const u of lostSegments) {
      // Left in place and reported; its LSNs stay used.
      maxLsn = Math.max(maxLsn, u.lastLsn);
      report.segmentErrors.push({ file: u.name, error: 'not in the manifest and could not be adopted; left in place', firstLsn: u.firstLsn, lastLsn: u.lastLsn, events: 0 });
    }
    const segmentsStarted = performance.now();
    // The index columns are added straight from the Arrow buffers (see indexColumns.ts), into
    // columns sized up front for every listed event and the WAL's, and half as many again for
    // the events appended next: columns full at the first append would be copied all at once,
    // stopping the event loop (appends otherwise grow them a slice at a time).
    const expected = this.index.count + this.manifest.segments.reduce((sum, s) => sum + s.events, walEvents.length);
    this.index.reserve(Math.ceil(expected * 1.5));
    this.index.reserveIds(expected);
    const interners = indexInterners(this.index);
    for (const info of this.manifest.segments) {
      try {
        const indexed = await this.indexSegment(info, interners, report);
        // The id index's worker inserts slower than segments are read: bound the ids waiting for it.
        await this.index.idsCaughtUp();
        maxLsn = Math.max(maxLsn, indexed.maxLsn);
        this.lastTimestampUs = Math.max(this.lastTimestampUs, info.maxTimestampUs);
        report.segmentsLoaded++;
        report.eventsFromSegments += indexed.rows;
      } catch (err) {
        // The segment stays in the manifest (so it is never deleted as an orphan, and an operator
        // can repair or restore it) but is not registered: its events are not served and
        // compaction leaves it alone. Its LSNs stay used, so nothing new ever reuses them.
        maxLsn = Math.max(maxLsn, info.lastLsn);
        report.segmentErrors.push({ file: info.file, error: describeError(err), firstLsn: info.firstLsn, lastLsn: info.lastLsn, events: info.events });
        this.log.error({ err, file: info.file }, 'segment could not be read at recovery; its events are not served until it is repaired');
      }
    }
    maxLsn = Math.max(this.manifest.flushedLsn, maxLsn);
    report.segmentsMs = Math.round(performance.now() - segmentsStarted);

    const walIndexStarted = performance.now();
    // The buffered events' records, noted a record at a time: which of its events are buffered.
    let group = { record: -1, from: 0, count: 0 };
    const noteGroup = (): void => {
      const r = walRecords[group.record];
      if (r) this.unflushedRecords.add(r.payload, r.events, group.from, group.count);
    };
    for (let i = 0; i < walEvents.length; i++) {
      const e = walEvents[i]!;
      if (e.lsn <= maxLsn) {
        report.walRecordsSkipped++;
        continue;
      }
      maxLsn = e.lsn;
      this.index.add(e, IN_BUFFER, 0, walIdBytes[i], walIdOffsets[i]);
      if (this.buffer.length === 0) this.bufferOldestAt = Date.now();
      this.buffer.push(e, eventBytes(e));
      if (walRecordOf[i] === group.record) {
        group.count++;
      } else {
        noteGroup();
        group = { record: walRecordOf[i]!, from: walIdOffsets[i]! / EVENT_ID_BYTES, count: 1 };
      }
      if (e.timestampUs > this.lastTimestampUs) this.lastTimestampUs = e.timestampUs;
      report.eventsFromWal++;
    }
    noteGroup();
    this.bufferStart = this.index.count - this.buffer.length;
    this.nextLsn = maxLsn + 1;
    report.walMs = Math.round(walReadMs + performance.now() - walIndexStarted);
  }
}

/** An error for reports shown over HTTP: a file system error by its code (its message names server paths). */
function describeError(err: unknown): string {
  const e = err as NodeJS.ErrnoException;
  if (typeof e?.code === 'string' && /^E[A-Z]+$/.test(e.code)) {
    return e.code === 'ENOENT' ? 'ENOENT: the file is missing' : `${e.code}${e.syscall ? ` (${e.syscall})` : ''}`;
  }
  return e instanceof Error ? e.message : String(err);
}
