import * as fs from 'node:fs';
import * as path from 'node:path';
import { crc32c } from '@node-rs/crc32';
import * as arrow from 'apache-arrow';
import * as parquet from 'parquet-wasm';
import type { StoredEvent } from '../../events/storedEvent';
import { rowToEvent } from './arrowBatch';

export interface SegmentReaderOptions {
  dir: string;
  /** Bound on decoded row groups kept in memory. */
  cacheMaxBytes: number;
  /** Bound on segment files kept open (each holds its parsed footer). */
  maxOpenFiles: number;
}

export interface SegmentReaderObserver {
  onCacheHit?(): void;
  onCacheMiss?(): void;
}

interface OpenSegment {
  file: parquet.ParquetFile;
  /** rowStarts[i] is the first row of row group i; the last element is the row count. */
  rowStarts: number[];
}

/**
 * An opened (or opening) file. `users` counts the reads using it right now: a file dropped from
 * the open-file LRU (or forgotten) while a read still uses it is freed only once that read ends,
 * never under it.
 */
interface OpenEntry {
  segment: Promise<OpenSegment>;
  users: number;
  dropped: boolean;
}

interface CachedRowGroup {
  table: arrow.Table;
  bytes: number;
}

/**
 * Reads events of flushed segments from disk. Only the row groups a query needs are read
 * (ranged reads of the file), decoded once and kept in an LRU bounded in bytes, so memory does
 * not grow with the number of stored events.
 */
export class SegmentReader {
  private readonly opts: SegmentReaderOptions;
  private readonly observer: SegmentReaderObserver;
  private readonly open = new Map<string, OpenEntry>();
  private readonly cache = new Map<string, CachedRowGroup>();
  private readonly loading = new Map<string, Promise<CachedRowGroup>>();
  private cachedBytes = 0;

  constructor(opts: SegmentReaderOptions, observer: SegmentReaderObserver = {}) {
    this.opts = opts;
    this.observer = observer;
  }

  get cacheBytes(): number {
    return this.cachedBytes;
  }

  /** Events at the given rows of a segment file, in the order asked. */
  async readRows(file: string, rows: ArrayLike<number>): Promise<StoredEvent[]> {
    const entry = this.acquire(file);
    try {
      const segment = await entry.segment;
      const out: StoredEvent[] = new Array(rows.length);
      for (let i = 0; i < rows.length; i++) {
        const row = rows[i]!;
        const group = findGroup(segment.rowStarts, row);
        const cached = await this.rowGroup(file, segment, group);
        out[i] = rowToEvent(cached.table, row - segment.rowStarts[group]!);
      }
      return out;
    } finally {
      this.release(entry);
    }
  }

  /**
   * Whole-file read of selected columns (used to rebuild the index at start-up). With
   * `expectedCrc32c`, a file whose CRC-32C differs is refused (damaged on disk).
   */
  async readColumns(file: string, columns: string[], expectedCrc32c?: number): Promise<{ table: arrow.Table; bytes: number; crc32c: number }> {
    const bytes = await fs.promises.readFile(path.join(this.opts.dir, file));
    const crc = crc32c(bytes);
    if (expectedCrc32c !== undefined && crc !== expectedCrc32c) {
      throw new Error(`checksum mismatch: the file's CRC-32C is ${crc}, the manifest says ${expectedCrc32c} (damaged on disk)`);
    }
    // The file reader, not `readParquet`: only it decodes just the columns asked for (the
    // payloads are most of a segment's bytes).
    const pf = await parquet.ParquetFile.fromFile(new Blob([bytes]));
    try {
      const table = await pf.read({ columns });
      return { table: arrow.tableFromIPC(table.intoIPCStream()), bytes: bytes.length, crc32c: crc };
    } finally {
      pf.free();
    }
  }

  /** Forget a segment (it was replaced by compaction or is being deleted). */
  forget(file: string): void {
    const entry = this.open.get(file);
    if (entry) this.drop(file, entry);
    for (const key of [...this.cache.keys()]) {
      if (key.startsWith(`${file}#`)) this.evict(key);
    }
  }

  close(): void {
    for (const file of [...this.open.keys()]) this.forget(file);
  }

  /** The open entry of `file` (opening it if needed), counted as used until `release`. */
  private acquire(file: string): OpenEntry {
    let entry = this.open.get(file);
    if (entry) {
      // Refresh LRU position.
      this.open.delete(file);
      this.open.set(file, entry);
    } else {
      const segment = (async () => {
        const blob = await fs.openAsBlob(path.join(this.opts.dir, file));
        const pf = await parquet.ParquetFile.fromFile(blob);
        const rowStarts = [0];
        for (const rg of pf.metadata().rowGroups()) rowStarts.push(rowStarts[rowStarts.length - 1]! + rg.numRows());
        return { file: pf, rowStarts };
      })();
      const created: OpenEntry = { segment, users: 0, dropped: false };
      segment.catch(() => {
        if (this.open.get(file) === created) this.open.delete(file);
      });
      this.open.set(file, created);
      entry = created;
    }
    entry.users++;
    while (this.open.size > this.opts.maxOpenFiles) {
      const oldest = this.open.keys().next().value as string;
      this.drop(oldest, this.open.get(oldest)!);
    }
    return entry;
  }

  private release(entry: OpenEntry): void {
    entry.users--;
    if (entry.dropped && entry.users === 0) freeEntry(entry);
  }

  /** Remove a file from the open set; its handle is freed as soon as no read uses it. */
  private drop(file: string, entry: OpenEntry): void {
    if (this.open.get(file) === entry) this.open.delete(file);
    if (entry.dropped) return;
    entry.dropped = true;
    if (entry.users === 0) freeEntry(entry);
  }

  private async rowGroup(file: string, segment: OpenSegment, group: number): Promise<CachedRowGroup> {
    const key = `${file}#${group}`;
    const hit = this.cache.get(key);
    if (hit) {
      this.cache.delete(key);
      this.cache.set(key, hit);
      this.observer.onCacheHit?.();
      return hit;
    }
    let loading = this.loading.get(key);
    if (!loading) {
      this.observer.onCacheMiss?.();
      loading = (async () => {
        const table = await segment.file.read({ rowGroups: [group] });
        const ipc = table.intoIPCStream();
        const decoded: CachedRowGroup = { table: arrow.tableFromIPC(ipc), bytes: ipc.byteLength };
        this.cache.set(key, decoded);
        this.cachedBytes += decoded.bytes;
        while (this.cachedBytes > this.opts.cacheMaxBytes && this.cache.size > 1) {
          this.evict(this.cache.keys().next().value as string);
        }
        return decoded;
      })();
      this.loading.set(key, loading);
      void loading.finally(() => this.loading.delete(key)).catch(() => undefined);
    }
    return loading;
  }

  private evict(key: string): void {
    const entry = this.cache.get(key);
    if (!entry) return;
    this.cache.delete(key);
    this.cachedBytes -= entry.bytes;
  }
}

function freeEntry(entry: OpenEntry): void {
  void entry.segment.then((s) => s.file.free()).catch(() => undefined);
}

function findGroup(rowStarts: number[], row: number): number {
  let lo = 0;
  let hi = rowStarts.length - 2;
  while (lo < hi) {
    const mid = (lo + hi + 1) >>> 1;
    if (rowStarts[mid]! <= row) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}
