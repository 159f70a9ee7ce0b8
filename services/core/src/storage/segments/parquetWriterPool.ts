import { Worker } from 'node:worker_threads';
import { segmentColumnsToTable, walRecordsToColumns, type WalSlices } from './walColumns';

/**
 * Encodes segments (from WAL records or Arrow IPC) to Parquet, and merges Parquet segments into
 * one, on a worker thread, so a segment flush or a compaction never blocks the event loop that
 * serves ingest and queries. The worker is started lazily and does not keep the process alive.
 */
export interface ParquetEncodeOptions {
  rowGroupSize: number;
  /** The codec of every column chunk (`SEGMENT_COMPRESSION`). */
  compression: SegmentCompression;
}

/**
 * Parquet codecs a segment can be written with. Snappy, the default, is read by every Parquet
 * reader. Measured on 50,000 bench events (`writeParquet`, median of 4): Snappy 65 ms for 3.33 MB,
 * LZ4_RAW 42 ms for 3.22 MB, ZSTD 101 ms for 1.57 MB, uncompressed 36 ms for 7.6 MB. LZ4_RAW
 * needs a reader from 2022 on (parquet-mr 1.12.3, Arrow 7, DuckDB 0.x read it).
 */
export const SEGMENT_COMPRESSIONS = ['snappy', 'zstd', 'lz4_raw', 'uncompressed'] as const;
export type SegmentCompression = (typeof SEGMENT_COMPRESSIONS)[number];

/** A merged segment, with what the worker checked of it (read back from the bytes it wrote). */
export interface ParquetMergeResult {
  bytes: Uint8Array;
  /** Rows read from the input files. */
  rowsIn: number;
  /** Rows in the written file. */
  rows: number;
  /** `sequence` of the first and last row of the written file (-1 when empty). */
  firstSequence: number;
  lastSequence: number;
  /** Whether `sequence` strictly increases through the written file. */
  ordered: boolean;
}

/** Rows of a segment built from WAL records, as the worker read them back from its columns. */
export interface WalEncodeResult {
  bytes: Uint8Array;
  rows: number;
  firstSequence: number;
  lastSequence: number;
}

// The worker runs walColumns.ts's functions from their source text, so they must reference
// nothing outside themselves. (Coverage instrumentation that injects module-scope counters,
// e.g. istanbul, would break them; the jest config collects no coverage.)
const WORKER_SOURCE = `
const fs = require('node:fs');
const { parentPort, workerData } = require('node:worker_threads');
const pw = require(workerData.parquetWasm);
const arrow = require(workerData.apacheArrow);
const walRecordsToColumns = ${walRecordsToColumns.toString()};
const segmentColumnsToTable = ${segmentColumnsToTable.toString()};

function props(options) {
  return new pw.WriterPropertiesBuilder()
    .setMaxRowGroupSize(options.rowGroupSize)
    .setCompression(pw.Compression[options.compression.toUpperCase()])
    .setDictionaryEnabled(false)
    .setColumnDictionaryEnabled('event_type', true)
    .setColumnDictionaryEnabled('entity_id', true)
    .setColumnDictionaryEnabled('tenant_id', true)
    // Min/max statistics (and page indexes) only for the numeric columns, where a reader can
    // prune by range; text columns interleave (every row group spans most entities) and their
    // statistics were a quarter of the encoding time (50,000 bench events: 45 -> 34 ms).
    .setColumnStatisticsEnabled('id', pw.EnabledStatistics.None)
    .setColumnStatisticsEnabled('event_type', pw.EnabledStatistics.None)
    .setColumnStatisticsEnabled('entity_id', pw.EnabledStatistics.None)
    .setColumnStatisticsEnabled('tenant_id', pw.EnabledStatistics.None)
    .setColumnStatisticsEnabled('payload', pw.EnabledStatistics.None)
    .setColumnStatisticsEnabled('metadata', pw.EnabledStatistics.None)
    .setCreatedBy('allsource-core')
    .build();
}

// Stream the input files' record batches (one file decoded at a time) through the Parquet
// writer, then read the written bytes' sequence column back to check what was written.
async function merge(files, options) {
  let next = 0;
  let rowsIn = 0;
  const batches = new ReadableStream({
    pull(controller) {
      if (next >= files.length) {
        controller.close();
        return;
      }
      const table = pw.readParquet(fs.readFileSync(files[next++]));
      for (const batch of table.recordBatches()) {
        rowsIn += batch.numRows;
        controller.enqueue(batch);
      }
    },
  });
  const chunks = [];
  let total = 0;
  for await (const chunk of await pw.transformParquetStream(batches, props(options))) {
    chunks.push(chunk);
    total += chunk.byteLength;
  }
  const out = new Uint8Array(total);
  let at = 0;
  for (const chunk of chunks) {
    out.set(chunk, at);
    at += chunk.byteLength;
  }
  const written = arrow.tableFromIPC(pw.readParquet(out, { columns: ['sequence'] }).intoIPCStream());
  let rows = 0;
  let first = -1;
  let last = -1;
  let ordered = true;
  for (const value of written.getChild('sequence')) {
    const seq = Number(value);
    if (rows === 0) first = seq;
    else if (!(seq > last)) ordered = false;
    last = seq;
    rows++;
  }
  return { out, rowsIn, rows, firstSequence: first, lastSequence: last, ordered };
}

parentPort.on('message', async (msg) => {
  try {
    if (msg.kind === 'merge') {
      const result = await merge(msg.files, msg.options);
      parentPort.postMessage({ id: msg.id, ...result }, [result.out.buffer]);
      return;
    }
    if (msg.kind === 'encodeWal') {
      const cols = walRecordsToColumns(msg.wal);
      const ipc = arrow.tableToIPC(segmentColumnsToTable(arrow, cols), 'stream');
      const out = pw.writeParquet(pw.Table.fromIPCStream(ipc), props(msg.options));
      const seq = (i) => cols.sequence[i * 2] + cols.sequence[i * 2 + 1] * 0x100000000;
      const rows = cols.rows;
      parentPort.postMessage({ id: msg.id, out, rows, firstSequence: rows > 0 ? seq(0) : -1, lastSequence: rows > 0 ? seq(rows - 1) : -1 }, [out.buffer]);
      return;
    }
    const out = pw.writeParquet(pw.Table.fromIPCStream(msg.ipc), props(msg.options));
    parentPort.postMessage({ id: msg.id, out }, [out.buffer]);
  } catch (err) {
    parentPort.postMessage({ id: msg.id, error: String((err && err.message) || err) });
  }
});
`;

interface WorkerReply {
  id: number;
  out?: Uint8Array;
  error?: string;
  rowsIn?: number;
  rows?: number;
  firstSequence?: number;
  lastSequence?: number;
  ordered?: boolean;
}

interface Job {
  worker: Worker;
  kind: string;
  resolve: (reply: WorkerReply) => void;
  reject: (err: Error) => void;
}

export class ParquetWriterPool {
  private worker: Worker | undefined;
  private nextId = 1;
  private readonly jobs = new Map<number, Job>();

  async encode(ipc: Uint8Array, options: ParquetEncodeOptions): Promise<Uint8Array> {
    // Transfer the bytes when the view owns its whole buffer; otherwise copy them.
    const owned = ipc.byteOffset === 0 && ipc.byteLength === ipc.buffer.byteLength ? ipc : ipc.slice();
    const reply = await this.send({ kind: 'encode', ipc: owned, options: { ...options } }, [owned.buffer as ArrayBuffer]);
    return reply.out!;
  }

  /**
   * Parquet bytes of the events in WAL records (walColumns.ts): the columns are cut out of the
   * records' bytes on the worker. The bytes are transferred (the caller gives up `wal.bytes`).
   */
  async encodeWal(wal: WalSlices, options: ParquetEncodeOptions): Promise<WalEncodeResult> {
    const reply = await this.send({ kind: 'encodeWal', wal, options: { ...options } }, [wal.bytes.buffer as ArrayBuffer, wal.slices.buffer as ArrayBuffer]);
    return { bytes: reply.out!, rows: reply.rows!, firstSequence: reply.firstSequence!, lastSequence: reply.lastSequence! };
  }

  /**
   * Merge Parquet files (absolute paths, in order) into the bytes of one Parquet file with the
   * same columns, rows in input order. The caller writes the bytes where it wants them.
   */
  async merge(files: readonly string[], options: ParquetEncodeOptions): Promise<ParquetMergeResult> {
    const reply = await this.send({ kind: 'merge', files: [...files], options: { ...options } }, []);
    return {
      bytes: reply.out!,
      rowsIn: reply.rowsIn!,
      rows: reply.rows!,
      firstSequence: reply.firstSequence!,
      lastSequence: reply.lastSequence!,
      ordered: reply.ordered!,
    };
  }

  /** Stop the worker (pending jobs fail); the next job starts a new one. */
  async close(): Promise<void> {
    const worker = this.worker;
    this.worker = undefined;
    if (worker) await worker.terminate();
  }

  private send(message: Record<string, unknown>, transfer: ArrayBuffer[]): Promise<WorkerReply> {
    const worker = this.ensureWorker();
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.jobs.set(id, { worker, kind: String(message.kind), resolve, reject });
      if (this.jobs.size === 1) worker.ref();
      worker.postMessage({ ...message, id }, transfer);
    });
  }

  private ensureWorker(): Worker {
    if (this.worker) return this.worker;
    const worker = new Worker(WORKER_SOURCE, {
      eval: true,
      workerData: { parquetWasm: require.resolve('parquet-wasm'), apacheArrow: require.resolve('apache-arrow') },
    });
    worker.unref();
    worker.on('message', (msg: WorkerReply) => {
      const job = this.jobs.get(msg.id);
      if (!job) return;
      this.jobs.delete(msg.id);
      if (this.jobs.size === 0) worker.unref();
      if (msg.error !== undefined || !msg.out) job.reject(new Error(`parquet ${job.kind} failed: ${msg.error}`));
      else job.resolve(msg);
    });
    worker.on('error', (err) => this.failAll(worker, err));
    worker.on('exit', () => {
      if (this.worker === worker) this.worker = undefined;
      this.failAll(worker, new Error('parquet worker exited'));
    });
    this.worker = worker;
    return worker;
  }

  /** Fail the jobs of `worker` (a worker started after it keeps its own). */
  private failAll(worker: Worker, err: Error): void {
    for (const [id, job] of this.jobs) {
      if (job.worker !== worker) continue;
      this.jobs.delete(id);
      job.reject(err);
    }
  }
}
