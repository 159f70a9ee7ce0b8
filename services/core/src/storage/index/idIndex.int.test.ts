/**
 * The id index on its worker thread (a real worker) against the same table on this thread:
 * the same answers, lookups that see every add before them, and clear failures once the
 * worker is closed or gone.
 */
import { spawnSync } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { transformFileSync } from '@swc/core';
import type { Worker } from 'node:worker_threads';
import { IdIndexUnavailableError, LocalIdIndex, WorkerIdIndex, type IdIndex } from './idIndex';

const opened: IdIndex[] = [];
afterEach(async () => {
  await Promise.all(opened.splice(0).map((i) => i.close()));
});

function both(): [LocalIdIndex, WorkerIdIndex] {
  const pair: [LocalIdIndex, WorkerIdIndex] = [new LocalIdIndex(), new WorkerIdIndex()];
  opened.push(...pair);
  return pair;
}

/** UUID text of 16 bytes (as the engine's ids are laid out). */
function uuidText(b: Uint8Array, at: number): string {
  const hex = Buffer.from(b.subarray(at, at + 16)).toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

describe('WorkerIdIndex', () => {
  it('answers as the local table does, over several chunks and growths, each lookup seeing every add before it', async () => {
    const [local, worker] = both();
    const n = 200_000;
    const bytes = randomBytes(n * 16);
    const ids: string[] = [];
    for (let pos = 0; pos < n; pos++) {
      // Ids as bytes (new events) and as text (old WAL records), as the store adds them.
      if (pos % 3 === 0) {
        const id = uuidText(bytes, pos * 16);
        local.add(id, pos);
        worker.add(id, pos);
      } else {
        local.addBytes(bytes, pos * 16, pos);
        worker.addBytes(bytes, pos * 16, pos);
      }
      ids.push(uuidText(bytes, pos * 16));
      // A lookup right behind adds still in the unsent chunk finds them.
      if (pos % 25_000 === 1) expect(await worker.candidates(ids[pos]!)).toContain(pos);
    }
    expect(worker.size).toBe(local.size);
    expect(worker.byteLength).toBe(local.byteLength);
    const sample = ids.filter((_, pos) => pos % 97 === 0);
    const answers = await Promise.all(sample.map((id) => worker.candidates(id)));
    for (const [k, id] of sample.entries()) expect(answers[k]).toEqual(await local.candidates(id));
    for (const [k, pos] of sample.map((_, k) => k * 97).entries()) expect(answers[k]).toContain(pos);
    expect(await worker.candidates(randomUUID())).toEqual([]);
    expect(await worker.candidates('not-a-uuid')).toEqual([]);
  });

  it('takes a reserve and keys added in bulk (recovery), with the same size accounting', async () => {
    const [local, worker] = both();
    const n = 50_000;
    const keys = new Uint32Array(randomBytes(n * 8).buffer);
    local.reserve(n);
    worker.reserve(n);
    for (let pos = 0; pos < n; pos++) {
      local.addKey(keys[pos * 2]!, keys[pos * 2 + 1]!, pos);
      worker.addKey(keys[pos * 2]!, keys[pos * 2 + 1]!, pos);
    }
    expect(worker.byteLength).toBe(local.byteLength);
    const id = '00000000-0000-4000-8000-000000000000';
    local.add(id, n);
    worker.add(id, n);
    expect(await worker.candidates(id)).toEqual(await local.candidates(id));
    expect(await worker.candidates(id)).toContain(n);
  });

  it('says it is backlogged while more chunks than its bound wait for the worker, and not once they are inserted', async () => {
    const worker = new WorkerIdIndex(undefined, 2);
    opened.push(worker);
    expect(worker.backlogged).toBe(false);
    const n = 2 * 65_536;
    const bytes = randomBytes(n * 16);
    // 65,536 ids a chunk: the second full chunk reaches the bound of 2 before any is inserted.
    for (let pos = 0; pos < n; pos++) worker.addBytes(bytes, pos * 16, pos);
    expect(worker.backlogged).toBe(true);
    await worker.caughtUp();
    expect(worker.backlogged).toBe(false);
    // A lookup is answered after both chunks are inserted (messages are handled in order).
    expect(await worker.candidates(uuidText(bytes, (n - 1) * 16))).toContain(n - 1);
    expect(worker.backlogged).toBe(false);
    expect(new LocalIdIndex().backlogged).toBe(false);
  });

  it('lets a process exit with the worker idle, and keeps it alive while a lookup waits', () => {
    // A plain node process over this source (as jest compiles it): jest's own handles would
    // hide a worker that holds the process open.
    const dir = mkdtempSync(path.join(tmpdir(), 'allsource-idindex-'));
    try {
      for (const name of ['idIndex', 'idTable']) {
        const { code } = transformFileSync(path.join(__dirname, `${name}.ts`), {
          jsc: { target: 'es2022', parser: { syntax: 'typescript' } },
          module: { type: 'commonjs' },
        });
        writeFileSync(path.join(dir, `${name}.js`), code);
      }
      const script = path.join(dir, 'child.js');
      writeFileSync(
        script,
        `const { WorkerIdIndex } = require('./idIndex.js');
const ids = new WorkerIdIndex();
ids.reserve(10);
ids.add('7b0c8a52-3e4f-4d6b-9a1c-2f3e4d5c6b7a', 3);
if (process.argv[2] === 'lookup') ids.candidates('7b0c8a52-3e4f-4d6b-9a1c-2f3e4d5c6b7a').then((p) => console.log(JSON.stringify(p)));
`,
      );
      const idle = spawnSync(process.execPath, [script, 'idle'], { timeout: 20_000, encoding: 'utf8' });
      expect({ status: idle.status, signal: idle.signal, stderr: idle.stderr }).toEqual({ status: 0, signal: null, stderr: '' });
      const lookup = spawnSync(process.execPath, [script, 'lookup'], { timeout: 20_000, encoding: 'utf8' });
      expect({ status: lookup.status, stdout: lookup.stdout }).toEqual({ status: 0, stdout: '[3]\n' });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('answers an empty index without starting a worker', async () => {
    const worker = new WorkerIdIndex();
    opened.push(worker);
    expect(await worker.candidates(randomUUID())).toEqual([]);
    expect((worker as unknown as { worker?: Worker }).worker).toBeUndefined();
  });

  it('refuses lookups once closed, including those waiting for an answer', async () => {
    const worker = new WorkerIdIndex();
    const id = randomUUID();
    worker.add(id, 7);
    const waiting = expect(worker.candidates(id)).rejects.toThrow(IdIndexUnavailableError);
    await worker.close();
    await waiting;
    await expect(worker.candidates(id)).rejects.toThrow('the store is closed');
  });

  it('fails lookups clearly when its thread dies, and takes adds without throwing', async () => {
    const [, worker] = both();
    const id = randomUUID();
    worker.add(id, 1);
    expect(await worker.candidates(id)).toEqual([1]);
    const thread = (worker as unknown as { worker: Worker }).worker;
    const exited = new Promise((resolve) => thread.once('exit', resolve));
    await thread.terminate();
    await exited;
    await expect(worker.candidates(id)).rejects.toThrow(/id index is unavailable .*a restart rebuilds it/);
    expect(worker.byteLength).toBe(0);
    for (let pos = 2; pos < 70_000; pos++) worker.add(randomUUID(), pos);
    await expect(worker.candidates(id)).rejects.toThrow(IdIndexUnavailableError);
  });
});
