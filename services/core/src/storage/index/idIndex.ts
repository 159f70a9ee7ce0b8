import { Worker } from 'node:worker_threads';
import { IdTable, idTableSource, moveSlotsPerAdd, readU32BE, uuidKeyOfText } from './idTable';

/**
 * Event id → positions. Two homes for the same `IdTable`:
 * - `LocalIdIndex`: on the calling thread;
 * - `WorkerIdIndex`: on a worker thread of its own. Each insert is one cache miss in a table of
 *   tens of MB (200–450 ns amid the engine's other work), the largest single cost of an append on
 *   the event loop; on the worker it runs beside the event loop. Ids are only read by lookups
 *   (`GET /events/:id`, snapshot checks at start), which are asynchronous anyway.
 */
export interface IdIndex {
  /** Add an id given as text (checked in full; other text is not indexed). */
  add(id: string, position: number): void;
  /** Add by the id's 16 UUID bytes at `offset` (ids the engine made). */
  addBytes(bytes: Uint8Array, offset: number, position: number): void;
  /** Add by the id's 64-bit key (see `uuidKeyOfUtf8`). */
  addKey(hi: number, lo: number, position: number): void;
  /** Make room for `total` ids at once (before a bulk load). */
  reserve(total: number): void;
  /** Positions whose id shares the id's 64-bit key (usually zero or one), after every add made before the call. */
  candidates(id: string): Promise<number[]>;
  /** Ids added. */
  readonly size: number;
  /** Bytes the table's slots hold (on the worker: as the same table would, computed here). */
  readonly byteLength: number;
  /** Adds wait for the worker beyond its bound: appends should be refused until it catches up. */
  readonly backlogged: boolean;
  /** Settles once not `backlogged` (or the worker is gone): a bulk load waits here between segments. */
  caughtUp(): Promise<void>;
  close(): Promise<void>;
}

export class LocalIdIndex implements IdIndex {
  private readonly table = new IdTable();

  add(id: string, position: number): void {
    this.table.add(id, position);
  }

  addBytes(bytes: Uint8Array, offset: number, position: number): void {
    this.table.addBytes(bytes, offset, position);
  }

  addKey(hi: number, lo: number, position: number): void {
    this.table.addKey(hi, lo, position);
  }

  reserve(total: number): void {
    this.table.reserve(total);
  }

  candidates(id: string): Promise<number[]> {
    return Promise.resolve(this.table.candidates(id));
  }

  get size(): number {
    return this.table.size;
  }

  get byteLength(): number {
    return this.table.byteLength;
  }

  readonly backlogged = false;

  caughtUp(): Promise<void> {
    return Promise.resolve();
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}

/** Lookups by id cannot be answered: the index is closed, or its worker died (until a restart). */
export class IdIndexUnavailableError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'IdIndexUnavailableError';
  }
}

/**
 * Keys sent to the worker in chunks of this many ids (12 bytes each, 768 KiB): one message per
 * chunk rather than per batch. A message cost the event loop 200-300 µs under load, whatever its
 * size (with 8,192-id chunks, 1.2% of an ingest's time; with these, 0.2%). Ids still in the chunk
 * are sent before any lookup, so a lookup always sees every id added before it.
 */
const CHUNK_IDS = 65536;
/**
 * Chunks posted and not yet inserted by the worker (48 MiB at most): past this, `backlogged`
 * asks the store to refuse appends until the worker catches up. It inserts ~10× faster than
 * the engine appends, so only a worker starved of CPU gets there.
 */
const MAX_CHUNKS_IN_FLIGHT = 64;

// The worker runs IdTable from its source text (see parquetWriterPool for the same approach),
// so the class and the functions it calls must reference nothing else.
const WORKER_SOURCE = `
const { parentPort } = require('node:worker_threads');
${idTableSource()}
const table = new IdTable();
parentPort.on('message', (m) => {
  if (m.kind === 'add') {
    const k = m.keys;
    for (let i = 0; i < k.length; i += 3) table.addKey(k[i], k[i + 1], k[i + 2]);
    parentPort.postMessage({ inserted: 1 });
  } else if (m.kind === 'reserve') {
    table.reserve(m.total);
  } else if (m.kind === 'find') {
    parentPort.postMessage({ id: m.id, positions: table.candidatesOfKey(m.hi, m.lo) });
  }
});
`;

interface Lookup {
  resolve: (positions: number[]) => void;
  reject: (err: Error) => void;
}

export class WorkerIdIndex implements IdIndex {
  /**
   * `onFailure`: told once if the worker dies (lookups fail from then on). `maxChunksInFlight`:
   * see `MAX_CHUNKS_IN_FLIGHT` (tests set it lower).
   */
  constructor(
    private readonly onFailure: (err: Error) => void = () => {},
    private readonly maxChunksInFlight = MAX_CHUNKS_IN_FLIGHT,
  ) {}

  /** Chunks posted that the worker has not inserted yet. */
  private chunksInFlight = 0;
  private catchUpWaiters: Array<() => void> = [];

  private worker: Worker | undefined;
  private failure: Error | undefined;
  private chunk = new Uint32Array(CHUNK_IDS * 3);
  private filled = 0;
  private count = 0;
  /**
   * The worker table's slot count, followed here by the same rules as `IdTable` for
   * `byteLength`: with, while it grows, the previous table's slots and the adds left until
   * they are all moved.
   */
  private capacity = 1024;
  private oldCapacity = 0;
  private moveStepsLeft = 0;
  private nextLookup = 1;
  private readonly lookups = new Map<number, Lookup>();
  private closed = false;

  add(id: string, position: number): void {
    const key = uuidKeyOfText(id);
    if (key) this.addKey(key[0], key[1], position);
  }

  addBytes(bytes: Uint8Array, offset: number, position: number): void {
    this.addKey(readU32BE(bytes, offset), readU32BE(bytes, offset + 8), position);
  }

  addKey(hi: number, lo: number, position: number): void {
    const at = this.filled * 3;
    const c = this.chunk;
    c[at] = hi;
    c[at + 1] = lo;
    c[at + 2] = position;
    if (this.moveStepsLeft > 0 && --this.moveStepsLeft === 0) this.oldCapacity = 0;
    if ((this.count + 1) * 4 > this.capacity * 3) {
      this.oldCapacity = this.capacity;
      this.moveStepsLeft = Math.ceil(this.capacity / moveSlotsPerAdd());
      this.capacity *= 2;
    }
    this.count++;
    if (++this.filled === CHUNK_IDS) this.sendChunk();
  }

  reserve(total: number): void {
    this.sendChunk();
    let capacity = this.capacity;
    while (total * 4 > capacity * 3) capacity *= 2;
    if (capacity !== this.capacity) {
      // A reserve moves every slot at once.
      this.capacity = capacity;
      this.oldCapacity = 0;
      this.moveStepsLeft = 0;
    }
    this.send({ kind: 'reserve', total }, []);
  }

  candidates(id: string): Promise<number[]> {
    if (this.closed) return Promise.reject(new IdIndexUnavailableError('the store is closed'));
    const key = uuidKeyOfText(id);
    if (!key || this.count === 0) return Promise.resolve([]);
    this.sendChunk();
    if (this.failure) return Promise.reject(this.unavailable(this.failure));
    return new Promise((resolve, reject) => {
      const lookup = this.nextLookup++;
      this.lookups.set(lookup, { resolve, reject });
      this.send({ kind: 'find', id: lookup, hi: key[0], lo: key[1] }, []);
      this.updateRef();
    });
  }

  get size(): number {
    return this.count;
  }

  get byteLength(): number {
    // Once closed or dead, the worker's table is freed.
    return this.failure || this.closed ? 0 : (this.capacity + this.oldCapacity) * 12;
  }

  get backlogged(): boolean {
    return this.chunksInFlight >= this.maxChunksInFlight;
  }

  caughtUp(): Promise<void> {
    if (!this.backlogged) return Promise.resolve();
    const caughtUp = new Promise<void>((resolve) => this.catchUpWaiters.push(resolve));
    this.updateRef();
    return caughtUp;
  }

  /**
   * The worker keeps the process alive only while someone waits for it (a lookup, a bulk load
   * waiting to catch up); adds alone never do.
   */
  private updateRef(): void {
    const worker = this.worker;
    if (!worker) return;
    if (this.lookups.size > 0 || this.catchUpWaiters.length > 0) worker.ref();
    else worker.unref();
  }

  private wakeCaughtUp(): void {
    const waiters = this.catchUpWaiters;
    this.catchUpWaiters = [];
    for (const wake of waiters) wake();
    this.updateRef();
  }

  async close(): Promise<void> {
    this.closed = true;
    const worker = this.worker;
    this.worker = undefined;
    this.failAll(new IdIndexUnavailableError('the store is closed'));
    this.chunksInFlight = 0;
    this.wakeCaughtUp();
    if (worker) await worker.terminate();
  }

  private sendChunk(): void {
    if (this.filled === 0) return;
    // Once the worker is gone or closed, the ids are dropped without copying them first.
    if (this.failure || this.closed) {
      this.filled = 0;
      return;
    }
    const keys = this.chunk.slice(0, this.filled * 3);
    this.filled = 0;
    if (this.send({ kind: 'add', keys }, [keys.buffer])) this.chunksInFlight++;
  }

  private send(message: Record<string, unknown>, transfer: ArrayBuffer[]): Worker | undefined {
    if (this.failure || this.closed) return undefined;
    const worker = this.ensureWorker();
    worker.postMessage(message, transfer);
    return worker;
  }

  private ensureWorker(): Worker {
    if (this.worker) return this.worker;
    const worker = new Worker(WORKER_SOURCE, { eval: true });
    worker.on('message', (m: { id: number; positions: number[]; inserted?: 1 }) => {
      if (m.inserted) {
        this.chunksInFlight--;
        if (!this.backlogged && this.catchUpWaiters.length > 0) this.wakeCaughtUp();
        return;
      }
      const lookup = this.lookups.get(m.id);
      if (!lookup) return;
      this.lookups.delete(m.id);
      this.updateRef();
      lookup.resolve(m.positions);
    });
    // The table lives only in the worker: once it is gone, lookups fail until a restart
    // rebuilds it from the segments and the WAL. Appends go on (they do not need it).
    worker.on('error', (err) => this.fail(err));
    worker.on('exit', (code) => {
      if (!this.closed) this.fail(new Error(`id index worker exited with code ${code}`));
    });
    // After the listeners: adding a 'message' listener refs the worker again.
    worker.unref();
    this.worker = worker;
    return worker;
  }

  private fail(err: Error): void {
    if (this.failure || this.closed) return;
    this.failure = err;
    this.worker = undefined;
    // Nothing is sent from now on: appends must not wait for chunks that will never be inserted.
    this.chunksInFlight = 0;
    this.wakeCaughtUp();
    this.failAll(this.unavailable(err));
    this.onFailure(err);
  }

  private unavailable(cause: Error): IdIndexUnavailableError {
    return new IdIndexUnavailableError(`the event id index is unavailable (${cause.message}); a restart rebuilds it`);
  }

  private failAll(err: Error): void {
    for (const lookup of this.lookups.values()) lookup.reject(err);
    this.lookups.clear();
  }
}
