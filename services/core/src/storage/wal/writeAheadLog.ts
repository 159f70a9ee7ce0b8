import * as path from 'node:path';
import type { FileSystem } from '../fs/fileSystem';
import { decodeRecords, encodeRecord, frameRecord, type DecodeStop } from './walRecord';

export type SyncMode = 'always' | 'none';

export interface WalObserver {
  /** One group commit: how many appends shared one write, its bytes and the sync time. */
  /**
   * One group commit: how many appends shared one write, its bytes, the time of the sync alone
   * (0 with sync mode `none`), and how many events the appends held.
   */
  onGroupCommit?(appends: number, bytes: number, syncSeconds: number, events: number): void;
  onWriteError?(error: Error): void;
}

export interface WalOptions {
  dir: string;
  fs: FileSystem;
  syncMode: SyncMode;
  /** Rotate to a new file once the active one reaches this size. */
  maxFileBytes: number;
  observer?: WalObserver;
}

export interface WalCorruption {
  file: string;
  kind: Exclude<DecodeStop['kind'], 'end'>;
  offset: number;
  bytesCut: number;
  /** Where the cut bytes were kept for inspection. */
  quarantinedTo: string;
}

interface WalFile {
  id: number;
  path: string;
  bytes: number;
  /** Highest log sequence number in the file; -1 while it holds no record. */
  maxLsn: number;
}

interface PendingAppend {
  record: Buffer;
  maxLsn: number;
  events: number;
  resolve: () => void;
  reject: (err: Error) => void;
}

/** A group written to the active file whose sync is in flight (resolves to the sync's seconds). */
interface SyncingGroup {
  group: PendingAppend[];
  bytes: number;
  file: WalFile;
  sync: Promise<number>;
}

interface SyncedGroup {
  group: PendingAppend[];
  bytes: number;
  syncSeconds: number;
}

/**
 * Queued bytes from which appends are written while a sync is in flight instead of when it
 * ends. Large appends (batches) gain from their write overlapping the sync; small ones would
 * only add writes, and a sync, not a write, is what they wait for (they join the next sync
 * either way, see `run`).
 */
const WRITE_BEHIND_BYTES = 64 * 1024;

const FILE_PATTERN = /^wal-(\d{12})\.log$/;
const fileName = (id: number): string => `wal-${String(id).padStart(12, '0')}.log`;

/**
 * Write-ahead log with group commit. Appends that arrive while a write or a sync is in flight
 * are queued and go out together in the next single write and single fdatasync; a lone append
 * starts its write at once (no timer). An append resolves only once its bytes are durable.
 * Large queued appends are written while a sync is in flight, and their sync starts before the
 * synced group resolves (see `run`).
 */
export class WriteAheadLog {
  private readonly opts: WalOptions;
  private readonly files: WalFile[] = [];
  private active: WalFile | undefined;
  private fd = -1;
  private queue: PendingAppend[] = [];
  /** Bytes of the records in `queue`. */
  private queuedBytes = 0;
  private running = false;
  private needsNewFile = true;
  private rotateWaiters: Array<{ resolve: () => void; reject: (err: Error) => void }> = [];
  private idleWaiters: Array<() => void> = [];
  /** Set while `run` waits for a sync and could write new appends meanwhile. */
  private wake: (() => void) | undefined;
  private closed = false;

  constructor(opts: WalOptions) {
    this.opts = opts;
  }

  /**
   * Read every existing WAL file in order, hand each valid record to `onRecord` (which returns
   * the record's highest LSN), cut each file at its first bad record (the cut bytes are kept
   * under `corrupt/`), then start a fresh active file.
   */
  async open(onRecord: (payload: Buffer) => number): Promise<WalCorruption[]> {
    const { fs, dir } = this.opts;
    await fs.mkdirp(dir);
    const names = (await fs.readdir(dir)).filter((n) => FILE_PATTERN.test(n)).sort();
    const corruptions: WalCorruption[] = [];
    for (const name of names) {
      const id = Number(FILE_PATTERN.exec(name)?.[1]);
      const filePath = path.join(dir, name);
      const content = await fs.readFile(filePath);
      const decoded = decodeRecords(content);
      let maxLsn = -1;
      for (const payload of decoded.records) maxLsn = Math.max(maxLsn, onRecord(payload));
      if (decoded.stop.kind !== 'end') {
        const quarantineDir = path.join(dir, 'corrupt');
        await fs.mkdirp(quarantineDir);
        const quarantinedTo = path.join(quarantineDir, `${name}.${decoded.validLength}.bad`);
        await fs.writeFileAtomic(quarantinedTo, content.subarray(decoded.validLength));
        await fs.truncate(filePath, decoded.validLength);
        corruptions.push({
          file: name,
          kind: decoded.stop.kind,
          offset: decoded.stop.offset,
          bytesCut: content.length - decoded.validLength,
          quarantinedTo,
        });
      }
      this.files.push({ id, path: filePath, bytes: decoded.validLength, maxLsn });
    }
    await this.openNewFile();
    return corruptions;
  }

  /**
   * Append one record (already holding events up to `maxLsn`); resolves once it is durable.
   * `framed`: `payload` starts with `RECORD_HEADER_BYTES` reserved for the record's header, which
   * is filled in place instead of copying the payload into a new record.
   */
  append(payload: Buffer, maxLsn: number, events = 1, framed = false): Promise<void> {
    if (this.closed) return Promise.reject(new Error('write-ahead log is closed'));
    let record: Buffer;
    try {
      record = framed ? frameRecord(payload) : encodeRecord(payload);
    } catch (err) {
      return Promise.reject(err as Error);
    }
    return new Promise<void>((resolve, reject) => {
      this.queue.push({ record, maxLsn, events, resolve, reject });
      this.queuedBytes += record.length;
      if (this.queuedBytes >= WRITE_BEHIND_BYTES) this.wake?.();
      void this.run();
    });
  }

  /** Close the active file and start a new one, so everything before can be removed once flushed. */
  rotate(): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.rotateWaiters.push({ resolve, reject });
      this.wake?.();
      void this.run();
    });
  }

  /** Remove every closed WAL file whose records all have LSN ≤ `flushedLsn`. */
  async removeFilesCoveredBy(flushedLsn: number): Promise<number> {
    let removed = 0;
    for (let i = 0; i < this.files.length; ) {
      const file = this.files[i]!;
      if (file !== this.active && file.maxLsn <= flushedLsn) {
        await this.opts.fs.unlink(file.path);
        this.files.splice(i, 1);
        removed++;
      } else {
        i++;
      }
    }
    if (removed > 0) await this.opts.fs.fsyncDir(this.opts.dir);
    return removed;
  }

  get fileCount(): number {
    return this.files.length;
  }

  get totalBytes(): number {
    let total = 0;
    for (const f of this.files) total += f.bytes;
    return total;
  }

  get pendingAppends(): number {
    return this.queue.length;
  }

  /** Wait for every queued append to be written, then close the active file. */
  async close(): Promise<void> {
    this.closed = true;
    if (this.running) await new Promise<void>((resolve) => this.idleWaiters.push(resolve));
    if (this.fd >= 0) {
      await this.opts.fs.close(this.fd);
      this.fd = -1;
    }
  }

  /**
   * Groups go out one after another, and the disk's work overlaps the event loop's. Once the
   * appends queued during a sync hold `WRITE_BEHIND_BYTES` or more, they are written at once,
   * behind that sync; when it ends, their sync starts before the synced group's appends are
   * resolved, so those appends' continuations (indexing, answering) run while the disk syncs.
   * Smaller queued appends are written as soon as the sync ends, before those continuations
   * run, and synced once written. At most one sync is in flight and one more group written
   * behind it; groups resolve in the order they were written. A group behind a failed one
   * fails with it.
   */
  private async run(): Promise<void> {
    if (this.running) return;
    this.running = true;
    let syncing: SyncingGroup | undefined;
    let written: { group: PendingAppend[]; bytes: number } | undefined;
    try {
      while (syncing || written || this.queue.length > 0 || this.rotateWaiters.length > 0) {
        // A new file only once every group written to the old one has settled.
        const switchFile = this.rotateWaiters.length > 0 || this.needsNewFile;
        if (switchFile && !syncing && !written) {
          const waiters = this.rotateWaiters;
          this.rotateWaiters = [];
          try {
            await this.openNewFile();
            for (const w of waiters) w.resolve();
          } catch (err) {
            for (const w of waiters) w.reject(err as Error);
            this.failQueued(err as Error);
          }
          continue;
        }

        if (!switchFile && !written && this.queue.length > 0 && (!syncing || this.queuedBytes >= WRITE_BEHIND_BYTES)) {
          const { group, data } = this.takeQueue();
          try {
            await this.opts.fs.write(this.fd, data);
            written = { group, bytes: data.length };
          } catch (err) {
            // The group syncing before this one settles first: durable, it is resolved.
            if (syncing) {
              const settled = await this.settle(syncing, group);
              syncing = undefined;
              if (!settled) continue;
              this.resolveGroup(settled);
            }
            await this.failFrom(err as Error, group);
            continue;
          }
        }

        if (!syncing) {
          if (written) syncing = this.startSync(written.group, written.bytes);
          written = undefined;
          continue;
        }
        // A sync is in flight. With nothing written behind it, appends that arrive before it
        // ends are written at once if they are large enough.
        if (!written && !switchFile && (await this.syncedOrArrival(syncing)) === 'arrival') continue;
        const settled = await this.settle(syncing, written?.group ?? []);
        syncing = undefined;
        const next = written;
        written = undefined;
        if (!settled) continue;
        // The group written behind starts its sync before this one's appends are resolved. What
        // queued meanwhile is written at the top of the loop, right after, before those appends'
        // continuations run (nothing is awaited in between).
        if (next) syncing = this.startSync(next.group, next.bytes);
        this.resolveGroup(settled);
      }
    } finally {
      this.running = false;
      const waiters = this.idleWaiters;
      this.idleWaiters = [];
      for (const w of waiters) w();
    }
  }

  /** Take every queued append, with their records joined into one write. */
  private takeQueue(): { group: PendingAppend[]; data: Buffer } {
    const group = this.queue;
    this.queue = [];
    this.queuedBytes = 0;
    return { group, data: group.length === 1 ? group[0]!.record : Buffer.concat(group.map((g) => g.record)) };
  }

  /** Wait until `syncing`'s sync ends (either way) or an append or a rotation arrives. */
  private async syncedOrArrival(syncing: SyncingGroup): Promise<'synced' | 'arrival'> {
    const arrival = new Promise<'arrival'>((resolve) => (this.wake = () => resolve('arrival')));
    const synced = syncing.sync.then(
      () => 'synced' as const,
      () => 'synced' as const,
    );
    try {
      return await Promise.race([synced, arrival]);
    } finally {
      this.wake = undefined;
    }
  }

  private startSync(group: PendingAppend[], bytes: number): SyncingGroup {
    const file = this.active!;
    if (this.opts.syncMode !== 'always') return { group, bytes, file, sync: Promise.resolve(0) };
    const started = performance.now();
    // Settled as soon as the sync ends, so its time is the sync's alone.
    const sync = this.opts.fs.fdatasync(this.fd).then(() => (performance.now() - started) / 1000);
    // Awaited later; a rejection before then is not unhandled.
    sync.catch(() => undefined);
    return { group, bytes, file, sync };
  }

  /**
   * Wait for a group's sync. Durable: its bytes are counted as acknowledged and it is returned
   * (to be resolved). Failed: it, `after` (written behind it) and every queued append fail.
   */
  private async settle(syncing: SyncingGroup, after: PendingAppend[]): Promise<SyncedGroup | undefined> {
    let syncSeconds: number;
    try {
      syncSeconds = await syncing.sync;
    } catch (err) {
      await this.failFrom(err as Error, [...syncing.group, ...after]);
      return undefined;
    }
    const { file, group, bytes } = syncing;
    file.bytes += bytes;
    for (const g of group) if (g.maxLsn > file.maxLsn) file.maxLsn = g.maxLsn;
    if (file.bytes >= this.opts.maxFileBytes) this.needsNewFile = true;
    return { group, bytes, syncSeconds };
  }

  private resolveGroup({ group, bytes, syncSeconds }: SyncedGroup): void {
    let events = 0;
    for (const g of group) events += g.events;
    this.opts.observer?.onGroupCommit?.(group.length, bytes, syncSeconds, events);
    for (const g of group) g.resolve();
  }

  /**
   * A write or sync failed. The file may now end in a partial record, or in whole records whose
   * sync failed but that sit in the page cache: a restart would replay those rejected appends.
   * Cut them off now (best effort; should that fail, recovery still cuts a partial tail). Never
   * write after them: the next group starts a new file. Appends queued behind were prepared on
   * top of the failed ones, so they fail too and the caller re-derives its state.
   */
  private async failFrom(error: Error, failed: PendingAppend[]): Promise<void> {
    this.needsNewFile = true;
    await this.discardFailedBytes(this.active!);
    for (const g of failed) g.reject(error);
    this.failQueued(error);
    this.opts.observer?.onWriteError?.(error);
  }

  /** Truncate `file` back to its acknowledged bytes after a failed write or sync. */
  private async discardFailedBytes(file: WalFile): Promise<void> {
    try {
      await this.opts.fs.truncate(file.path, file.bytes);
      if (this.opts.syncMode === 'always') await this.opts.fs.fdatasync(this.fd);
    } catch {
      // The disk is failing; the rejected records may survive, as with a crash mid-write.
    }
  }

  private failQueued(error: Error): void {
    const queued = this.queue;
    this.queue = [];
    this.queuedBytes = 0;
    for (const g of queued) g.reject(error);
  }

  private async openNewFile(): Promise<void> {
    const { fs, dir } = this.opts;
    const last = this.files[this.files.length - 1];
    const id = (last?.id ?? 0) + 1;
    const filePath = path.join(dir, fileName(id));
    const fd = await fs.openAppend(filePath);
    await fs.fsyncDir(dir);
    if (this.fd >= 0) {
      const old = this.fd;
      this.fd = -1;
      await fs.close(old).catch(() => undefined);
    }
    this.fd = fd;
    const file: WalFile = { id, path: filePath, bytes: 0, maxLsn: -1 };
    this.files.push(file);
    this.active = file;
    this.needsNewFile = false;
  }
}
