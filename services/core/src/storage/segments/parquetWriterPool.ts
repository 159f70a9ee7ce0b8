import { Worker } from 'node:worker_threads';

/**
 * Encodes Arrow IPC to Parquet on a worker thread, so a segment flush never blocks the event
 * loop that serves ingest and queries. The worker is started lazily and does not keep the
 * process alive.
 */
export interface ParquetEncodeOptions {
  rowGroupSize: number;
}

const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const pw = require(workerData.parquetWasm);
parentPort.on('message', ({ id, ipc, rowGroupSize }) => {
  try {
    const props = new pw.WriterPropertiesBuilder()
      .setMaxRowGroupSize(rowGroupSize)
      .setCompression(pw.Compression.SNAPPY)
      .setDictionaryEnabled(false)
      .setColumnDictionaryEnabled('event_type', true)
      .setColumnDictionaryEnabled('entity_id', true)
      .setColumnDictionaryEnabled('tenant_id', true)
      .setCreatedBy('allsource-core')
      .build();
    const out = pw.writeParquet(pw.Table.fromIPCStream(ipc), props);
    parentPort.postMessage({ id, out }, [out.buffer]);
  } catch (err) {
    parentPort.postMessage({ id, error: String(err && err.message || err) });
  }
});
`;

interface Job {
  resolve: (bytes: Uint8Array) => void;
  reject: (err: Error) => void;
}

export class ParquetWriterPool {
  private worker: Worker | undefined;
  private nextId = 1;
  private readonly jobs = new Map<number, Job>();

  encode(ipc: Uint8Array, options: ParquetEncodeOptions): Promise<Uint8Array> {
    const worker = this.ensureWorker();
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.jobs.set(id, { resolve, reject });
      if (this.jobs.size === 1) worker.ref();
      // Transfer the bytes when the view owns its whole buffer; otherwise copy them.
      const owned = ipc.byteOffset === 0 && ipc.byteLength === ipc.buffer.byteLength ? ipc : ipc.slice();
      worker.postMessage({ id, ipc: owned, rowGroupSize: options.rowGroupSize }, [owned.buffer as ArrayBuffer]);
    });
  }

  async close(): Promise<void> {
    const worker = this.worker;
    this.worker = undefined;
    if (worker) await worker.terminate();
  }

  private ensureWorker(): Worker {
    if (this.worker) return this.worker;
    const worker = new Worker(WORKER_SOURCE, {
      eval: true,
      workerData: { parquetWasm: require.resolve('parquet-wasm') },
    });
    worker.unref();
    worker.on('message', (msg: { id: number; out?: Uint8Array; error?: string }) => {
      const job = this.jobs.get(msg.id);
      if (!job) return;
      this.jobs.delete(msg.id);
      if (this.jobs.size === 0) worker.unref();
      if (msg.error !== undefined || !msg.out) job.reject(new Error(`parquet encode failed: ${msg.error}`));
      else job.resolve(msg.out);
    });
    worker.on('error', (err) => this.failAll(err));
    worker.on('exit', () => {
      if (this.worker === worker) this.worker = undefined;
      this.failAll(new Error('parquet worker exited'));
    });
    this.worker = worker;
    return worker;
  }

  private failAll(err: Error): void {
    for (const job of this.jobs.values()) job.reject(err);
    this.jobs.clear();
  }
}
