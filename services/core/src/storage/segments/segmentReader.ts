import * as fs from 'node:fs';
import * as path from 'node:path';
import { crc32c } from '@node-rs/crc32';
import * as arrow from 'apache-arrow';
import * as parquet from 'parquet-wasm';
import { int64At, int64Words } from './indexColumns';

export interface SegmentReaderOptions {
  dir: string;
  /** Bound on decoded row groups kept in memory (the bytes of their compact form, see `CachedRowGroup`). */
  cacheMaxBytes: number;
  /** Bound on segment files kept open (each holds its parsed footer). */
  maxOpenFiles: number;
}

export interface SegmentReaderObserver {
  /** `events` events were read from row groups already decoded in memory. */
  onCacheHit?(events: number): void;
  /** One row group was decoded from disk for a read. */
  onCacheMiss?(): void;
}

interface OpenSegment {
  file: parquet.ParquetFile;
  ranges: FileRanges;
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
  /** The segment once opened: lets a read of cached row groups go without awaiting. */
  opened?: OpenSegment;
  users: number;
  dropped: boolean;
}

/** A string column of a row group: value i is `bytes[offsets[i]..offsets[i + 1])` (null where `valid` says so). */
export interface StringColumn {
  offsets: Int32Array;
  bytes: Buffer;
  /** Validity bitmap (bit i set: value i present), or null when no value is null. */
  valid: Uint8Array | null;
}

/**
 * The columns of a decoded row group that the index does not hold (LSN, id, version, payload,
 * metadata), kept compact: typed arrays and UTF-8 bytes outside the JS heap. Strings are made
 * from them only when asked (`stringAt`), and answers can copy the bytes as they are.
 */
export interface RowGroupColumns {
  /** The segment row of the group's first row, and how many rows it holds. */
  readonly firstRow: number;
  readonly rowCount: number;
  readonly lsn: Float64Array;
  readonly version: Float64Array;
  readonly id: StringColumn;
  readonly payload: StringColumn;
  readonly metadata: StringColumn;
}

/** Rows of a segment as located in memory (see `SegmentReader.locateRows`). */
export interface LocatedRows {
  groups: RowGroupColumns[];
  within: Int32Array;
}

/** A cached row group: its columns, and `bytes`, what it holds (its buffers plus a fixed overhead). */
interface CachedRowGroup extends RowGroupColumns {
  file: string;
  group: number;
  /** `SegmentReader.tick` at its last use: the least recently used group is evicted first. */
  lastUsed: number;
  bytes: number;
}

/** The columns a read takes from a segment; event type, entity, tenant and timestamp come from the index. */
const READ_COLUMNS = ['sequence', 'id', 'version', 'payload', 'metadata'];
/** Bookkeeping of a cached row group beyond its buffers (objects, map entries), counted against the bound. */
const ROW_GROUP_OVERHEAD_BYTES = 1024;

/**
 * Reads events of flushed segments from disk. Only the row groups a query needs are read
 * (ranged reads of the file), and of them only the columns the index does not hold; they are
 * decoded once and kept in an LRU bounded in bytes, so memory does not grow with the number of
 * stored events.
 */
export class SegmentReader {
  private readonly opts: SegmentReaderOptions;
  private readonly observer: SegmentReaderObserver;
  private readonly open = new Map<string, OpenEntry>();
  /** Per file, its cached row groups by number. */
  private readonly cache = new Map<string, Map<number, CachedRowGroup>>();
  /**
   * Every cached row group. Recency is a use counter on each group rather than the order of a
   * set: re-inserting on every hit (150 hits a history query) rehashed the set over and over,
   * and the tables it left behind were promoted to the old generation, which then needed
   * mark-compacts with steps of several ms in the middle of queries.
   */
  private readonly entries = new Set<CachedRowGroup>();
  private tick = 0;
  /** The file `cachedRowGroup` last moved to the recent end of `open` (it is there already). */
  private lastOpenRefreshed: string | undefined;
  private readonly loading = new Map<string, Promise<CachedRowGroup>>();
  /** Files being closed. */
  private readonly closing = new Set<Promise<void>>();
  private cachedBytes = 0;

  constructor(opts: SegmentReaderOptions, observer: SegmentReaderObserver = {}) {
    this.opts = opts;
    this.observer = observer;
  }

  get cacheBytes(): number {
    return this.cachedBytes;
  }

  /**
   * The cached row group holding `row` of `file` (marked used), or undefined when it is not
   * cached or the file is not open: then `locateRows` reads it. No await, no allocation, so a
   * query whose row groups are all cached runs in one go.
   */
  cachedRowGroup(file: string, row: number): RowGroupColumns | undefined {
    const entry = this.open.get(file);
    const segment = entry?.opened;
    if (!segment) return undefined;
    const hit = this.cache.get(file)?.get(findGroup(segment.rowStarts, row));
    if (!hit) return undefined;
    hit.lastUsed = ++this.tick;
    // The file counts as used too: a segment read only from the cache must not become the
    // least recently used open file, be closed, and then be reopened for its next read.
    if (file !== this.lastOpenRefreshed) {
      this.open.delete(file);
      this.open.set(file, entry);
      this.lastOpenRefreshed = file;
    }
    return hit;
  }

  /** Count `events` read from cached row groups (found with `cachedRowGroup`) for the observer. */
  countCachedReads(events: number): void {
    if (events > 0) this.observer.onCacheHit?.(events);
  }

  /**
   * Where the given rows of a segment file are held in memory: for row i, the cached row group
   * `groups[i]` and its row `within[i]` there. Row groups not cached yet are read and decoded
   * first. The groups stay valid after the call whatever the cache evicts (eviction only drops
   * the cache's reference), so a caller can read them at leisure, and without the file.
   */
  async locateRows(file: string, rows: ArrayLike<number>): Promise<LocatedRows> {
    const entry = this.acquire(file);
    try {
      const segment = await entry.segment;
      // The row group of each row, and each distinct group once: cached ones are taken (and
      // marked used) right away, the others are decoded.
      const groupOf = new Uint32Array(rows.length);
      const groups = new Map<number, CachedRowGroup | Promise<CachedRowGroup>>();
      let pending: Array<Promise<CachedRowGroup>> | undefined;
      let cachedRows = 0;
      for (let i = 0; i < rows.length; i++) {
        const group = i > 0 && rows[i]! >= segment.rowStarts[groupOf[i - 1]!]! && rows[i]! < segment.rowStarts[groupOf[i - 1]! + 1]! ? groupOf[i - 1]! : findGroup(segment.rowStarts, rows[i]!);
        groupOf[i] = group;
        let got = groups.get(group);
        if (got === undefined) {
          got = this.rowGroup(file, segment, group);
          groups.set(group, got);
          if (got instanceof Promise) (pending ??= []).push(got);
        }
        if (!(got instanceof Promise)) cachedRows++;
      }
      this.countCachedReads(cachedRows);
      if (pending) {
        // Every decode on this file ends before the finally below can release (and so close) it.
        const settled = await Promise.allSettled(pending);
        for (const r of settled) if (r.status === 'rejected') throw r.reason;
        for (const [group, got] of groups) if (got instanceof Promise) groups.set(group, await got);
      }
      const located: RowGroupColumns[] = new Array(rows.length);
      const within = new Int32Array(rows.length);
      let cached: CachedRowGroup | undefined;
      let cachedGroup = -1;
      for (let i = 0; i < rows.length; i++) {
        const group = groupOf[i]!;
        if (group !== cachedGroup) {
          cached = groups.get(group) as CachedRowGroup;
          cachedGroup = group;
        }
        located[i] = cached!;
        within[i] = rows[i]! - segment.rowStarts[group]!;
      }
      return { groups: located, within };
    } finally {
      this.release(entry);
    }
  }

  /**
   * Whole-file read of selected columns (used to rebuild the index at start-up). With
   * `expectedCrc32c`, a file whose CRC-32C differs is refused (damaged on disk).
   */
  async readColumns(file: string, columns: string[], expectedCrc32c?: number): Promise<{ table: arrow.Table; bytes: number; crc32c: number }> {
    const { bytes, crc32c } = await this.readChecked(file, expectedCrc32c);
    return { table: await decodeColumns(bytes, columns), bytes: bytes.length, crc32c };
  }

  /** The bytes of a segment file and their CRC-32C; with `expectedCrc32c`, refused when it differs (damaged on disk). */
  async readChecked(file: string, expectedCrc32c?: number): Promise<{ bytes: Buffer; crc32c: number }> {
    const bytes = await fs.promises.readFile(path.join(this.opts.dir, file));
    const crc = crc32c(bytes);
    if (expectedCrc32c !== undefined && crc !== expectedCrc32c) {
      throw new Error(`checksum mismatch: the file's CRC-32C is ${crc}, the manifest says ${expectedCrc32c} (damaged on disk)`);
    }
    return { bytes, crc32c: crc };
  }

  /** Forget a segment (it was replaced by compaction or is being deleted). */
  forget(file: string): void {
    const entry = this.open.get(file);
    if (entry) this.drop(file, entry);
    const groups = this.cache.get(file);
    if (groups) for (const cached of [...groups.values()]) this.evict(cached);
  }

  /** Forget every segment; resolves once the files no read uses any more are closed. */
  async close(): Promise<void> {
    for (const file of [...this.open.keys()]) this.forget(file);
    await Promise.all(this.closing);
  }

  /** The open entry of `file` (opening it if needed), counted as used until `release`. */
  private acquire(file: string): OpenEntry {
    let entry = this.open.get(file);
    if (entry) {
      // Refresh LRU position.
      this.open.delete(file);
      this.open.set(file, entry);
      this.lastOpenRefreshed = file;
    } else {
      const segment = (async () => {
        const ranges = await FileRanges.open(path.join(this.opts.dir, file));
        try {
          const pf = await parquet.ParquetFile.fromFile(ranges as unknown as Blob);
          const rowStarts = [0];
          for (const rg of pf.metadata().rowGroups()) rowStarts.push(rowStarts[rowStarts.length - 1]! + rg.numRows());
          return { file: pf, ranges, rowStarts };
        } catch (err) {
          await ranges.close();
          throw err;
        }
      })();
      const created: OpenEntry = { segment, users: 0, dropped: false };
      segment.then(
        (opened) => {
          created.opened = opened;
        },
        () => {
          if (this.open.get(file) === created) this.open.delete(file);
        },
      );
      this.open.set(file, created);
      this.lastOpenRefreshed = file;
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
    if (entry.dropped && entry.users === 0) this.free(entry);
  }

  /** Remove a file from the open set; its handle is freed as soon as no read uses it. */
  private drop(file: string, entry: OpenEntry): void {
    if (this.open.get(file) === entry) this.open.delete(file);
    if (entry.dropped) return;
    entry.dropped = true;
    if (entry.users === 0) this.free(entry);
  }

  /** Free a dropped entry's reader and close its file (tracked until done, for `close`). */
  private free(entry: OpenEntry): void {
    const done = freeEntry(entry);
    this.closing.add(done);
    void done.finally(() => this.closing.delete(done));
  }

  /** A cached row group (marked most recently used), or the promise of its decoding. */
  private rowGroup(file: string, segment: OpenSegment, group: number): CachedRowGroup | Promise<CachedRowGroup> {
    const hit = this.cache.get(file)?.get(group);
    if (hit) {
      hit.lastUsed = ++this.tick;
      return hit;
    }
    const key = `${file}#${group}`;
    let loading = this.loading.get(key);
    if (!loading) {
      this.observer.onCacheMiss?.();
      loading = (async () => {
        const table = arrow.tableFromIPC((await segment.file.read({ rowGroups: [group], columns: READ_COLUMNS })).intoIPCStream());
        const decoded = compactRowGroup(file, group, segment.rowStarts[group]!, table);
        let groups = this.cache.get(file);
        if (!groups) this.cache.set(file, (groups = new Map()));
        groups.set(group, decoded);
        decoded.lastUsed = ++this.tick;
        this.entries.add(decoded);
        this.cachedBytes += decoded.bytes;
        while (this.cachedBytes > this.opts.cacheMaxBytes && this.entries.size > 1) this.evict(this.leastRecentlyUsed());
        return decoded;
      })();
      this.loading.set(key, loading);
      void loading.finally(() => this.loading.delete(key)).catch(() => undefined);
    }
    return loading;
  }

  /** The cached group used longest ago (a scan: it runs only when a decode overflows the cache). */
  private leastRecentlyUsed(): CachedRowGroup {
    let oldest: CachedRowGroup | undefined;
    for (const e of this.entries) if (!oldest || e.lastUsed < oldest.lastUsed) oldest = e;
    return oldest!;
  }

  private evict(cached: CachedRowGroup): void {
    if (!this.entries.delete(cached)) return;
    this.cachedBytes -= cached.bytes;
    const groups = this.cache.get(cached.file);
    groups?.delete(cached.group);
    if (groups?.size === 0) this.cache.delete(cached.file);
  }
}

/** The read columns of a decoded row group in compact form (see `CachedRowGroup`). */
function compactRowGroup(file: string, group: number, firstRow: number, table: arrow.Table): CachedRowGroup {
  const n = table.numRows;
  const column = (name: string): readonly arrow.Data[] => {
    const vector = table.getChild(name);
    if (!vector) throw new Error(`the segment has no '${name}' column`);
    return vector.data;
  };
  const int64 = (name: string): Float64Array => {
    const out = new Float64Array(n);
    let row = 0;
    for (const data of column(name)) {
      if (!arrow.DataType.isInt(data.type) || data.type.bitWidth !== 64) throw new Error(`column '${name}' is ${String(data.type)}, not Int64`);
      const words = int64Words(data);
      for (let i = 0; i < data.length; i++) out[row++] = int64At(words, i);
    }
    return out;
  };
  const strings = (name: string, nullable: boolean): StringColumn => {
    const parts = column(name);
    for (const data of parts) {
      if (!arrow.DataType.isUtf8(data.type)) throw new Error(`column '${name}' is ${String(data.type)}, not Utf8`);
      if (!nullable && data.nullCount > 0) throw new Error(`column '${name}' holds nulls`);
    }
    // One chunk per row group read (the usual case): its buffers are copied as they are.
    const offsets = new Int32Array(n + 1);
    let size = 0;
    for (const data of parts) size += data.valueOffsets[data.offset + data.length]! - data.valueOffsets[data.offset]!;
    const bytes = Buffer.allocUnsafeSlow(size);
    const hasNulls = parts.some((d) => d.nullCount > 0);
    const valid = hasNulls ? new Uint8Array((n + 7) >> 3) : null;
    let row = 0;
    let at = 0;
    for (const data of parts) {
      const from = data.valueOffsets[data.offset]!;
      const to = data.valueOffsets[data.offset + data.length]!;
      bytes.set((data.values as Uint8Array).subarray(from, to), at);
      for (let i = 0; i < data.length; i++) {
        offsets[row] = at + data.valueOffsets[data.offset + i]! - from;
        if (valid && (data.nullCount === 0 || isSet(data.nullBitmap, data.offset + i))) valid[row >> 3]! |= 1 << (row & 7);
        row++;
      }
      at += to - from;
    }
    offsets[n] = at;
    return { offsets, bytes, valid };
  };
  const lsn = int64('sequence');
  const version = int64('version');
  const id = strings('id', false);
  const payload = strings('payload', false);
  const metadata = strings('metadata', true);
  let bytes = ROW_GROUP_OVERHEAD_BYTES + lsn.byteLength + version.byteLength;
  for (const c of [id, payload, metadata]) bytes += c.offsets.byteLength + c.bytes.length + (c.valid?.byteLength ?? 0);
  return { file, group, lastUsed: 0, firstRow, rowCount: n, lsn, version, id, payload, metadata, bytes };
}

function isSet(bitmap: Uint8Array, bit: number): boolean {
  return (bitmap[bit >> 3]! & (1 << (bit & 7))) !== 0;
}

/** Value `row` of a string column as a string (null where the column holds null). */
/** UTF-8 bytes of value `row` of a string column (0 for null). */
export function byteLengthAt(column: StringColumn, row: number): number {
  return column.offsets[row + 1]! - column.offsets[row]!;
}

export function stringAt(column: StringColumn, row: number): string | null {
  if (column.valid && (column.valid[row >> 3]! & (1 << (row & 7))) === 0) return null;
  return column.bytes.toString('utf8', column.offsets[row]!, column.offsets[row + 1]!);
}

/** Selected columns of a whole segment file held in memory. */
export async function decodeColumns(bytes: Uint8Array, columns: string[]): Promise<arrow.Table> {
  // The file reader, not `readParquet`: only it decodes just the columns asked for (the
  // payloads are most of a segment's bytes).
  const pf = await parquet.ParquetFile.fromFile(new Blob([bytes]));
  try {
    return arrow.tableFromIPC((await pf.read({ columns })).intoIPCStream());
  } finally {
    pf.free();
  }
}

function freeEntry(entry: OpenEntry): Promise<void> {
  return entry.segment
    .then(async (s) => {
      s.file.free();
      await s.ranges.close();
    })
    .catch(() => undefined);
}

/**
 * What the Parquet file reader reads a segment through: the part of the Blob interface it uses
 * (`size`, `slice(start, end).arrayBuffer()`), as positioned reads of one open file descriptor.
 * A Blob from `fs.openAsBlob` reads each slice through a stream of small chunks, which was most
 * of the time of a row-group read.
 */
class FileRanges {
  private constructor(
    private readonly handle: fs.promises.FileHandle,
    readonly size: number,
  ) {}

  static async open(file: string): Promise<FileRanges> {
    const handle = await fs.promises.open(file, 'r');
    try {
      return new FileRanges(handle, (await handle.stat()).size);
    } catch (err) {
      await handle.close();
      throw err;
    }
  }

  slice(start = 0, end = this.size): { arrayBuffer(): Promise<ArrayBuffer> } {
    const from = Math.max(0, Math.min(start, this.size));
    const length = Math.max(0, Math.min(end, this.size) - from);
    return {
      arrayBuffer: async () => {
        const buf = Buffer.allocUnsafeSlow(length);
        let done = 0;
        while (done < length) {
          const { bytesRead } = await this.handle.read(buf, done, length - done, from + done);
          if (bytesRead === 0) throw new Error(`segment file shorter than its ${this.size} bytes`);
          done += bytesRead;
        }
        return buf.buffer as ArrayBuffer;
      },
    };
  }

  close(): Promise<void> {
    return this.handle.close();
  }
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
