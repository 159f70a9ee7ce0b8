import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { makeTempDir, removeDir } from '../../testing/tempDirs';
import { waitFor } from '../../testing/wait';
import { nodeFileSystem, type FileSystem } from '../fs/fileSystem';
import { decodeRecords, encodeRecord } from './walRecord';
import { WriteAheadLog, type SyncMode, type WalObserver } from './writeAheadLog';

const WAL_FILE = /^wal-\d{12}\.log$/;

let dir: string;

beforeEach(async () => {
  dir = await makeTempDir('allsource-wal-');
});

afterEach(async () => {
  await removeDir(dir);
});

/** A record payload carrying its LSN, padded so records have a realistic size. */
function payloadOf(lsn: number): Buffer {
  return Buffer.from(JSON.stringify([{ lsn, event_type: 'order.placed', entity_id: `order-${lsn % 17}`, payload: { amount: lsn } }]));
}

/** A record large enough to be written while a sync is in flight (over 64 KiB). */
function bigPayloadOf(lsn: number): Buffer {
  return Buffer.from(JSON.stringify([{ lsn, pad: 'x'.repeat(70_000) }]));
}

function lsnOf(payload: Buffer): number {
  const parsed = JSON.parse(payload.toString()) as Array<{ lsn: number }>;
  return parsed[0]!.lsn;
}

interface Groups {
  appends: number[];
  bytes: number[];
  errors: Error[];
}

function recordingObserver(): { observer: WalObserver; groups: Groups } {
  const groups: Groups = { appends: [], bytes: [], errors: [] };
  return {
    groups,
    observer: {
      onGroupCommit: (appends, bytes) => {
        groups.appends.push(appends);
        groups.bytes.push(bytes);
      },
      onWriteError: (error) => groups.errors.push(error),
    },
  };
}

function newWal(opts: { fs?: FileSystem; syncMode?: SyncMode; maxFileBytes?: number; observer?: WalObserver } = {}): WriteAheadLog {
  return new WriteAheadLog({
    dir,
    fs: opts.fs ?? nodeFileSystem,
    syncMode: opts.syncMode ?? 'always',
    maxFileBytes: opts.maxFileBytes ?? 64 * 1024 * 1024,
    ...(opts.observer ? { observer: opts.observer } : {}),
  });
}

/** Open a WAL on `dir`, collecting the LSNs of every record it replays. */
async function openWal(opts: Parameters<typeof newWal>[0] = {}) {
  const wal = newWal(opts);
  const lsns: number[] = [];
  const corruptions = await wal.open((payload) => {
    const lsn = lsnOf(payload);
    lsns.push(lsn);
    return lsn;
  });
  return { wal, lsns, corruptions };
}

async function walFileNames(): Promise<string[]> {
  return (await fsp.readdir(dir)).filter((n) => WAL_FILE.test(n)).sort();
}

/** LSNs of the records of each WAL file on disk, read straight from the files. */
async function lsnsPerFile(): Promise<Map<string, number[]>> {
  const out = new Map<string, number[]>();
  for (const name of await walFileNames()) {
    out.set(name, decodeRecords(await fsp.readFile(path.join(dir, name))).records.map(lsnOf));
  }
  return out;
}

/** LSNs of every record in the WAL files, in file order. */
async function lsnsOnDisk(): Promise<number[]> {
  return [...(await lsnsPerFile()).values()].flat();
}

const range = (from: number, to: number): number[] => Array.from({ length: to - from + 1 }, (_, i) => from + i);

function enospc(op: string): Error {
  return Object.assign(new Error(`ENOSPC: no space left on device, ${op}`), { code: 'ENOSPC', errno: -28, syscall: op });
}

type Fault = 'write' | 'partial_write' | 'fdatasync' | 'openAppend' | 'truncate';

/** nodeFileSystem with faults that can be armed to fire once. */
function faultyFs(): { fs: FileSystem; arm: (fault: Fault) => void; fired: Fault[] } {
  const armed = new Set<Fault>();
  const fired: Fault[] = [];
  const take = (fault: Fault): boolean => {
    if (!armed.delete(fault)) return false;
    fired.push(fault);
    return true;
  };
  const fs: FileSystem = {
    ...nodeFileSystem,
    async write(fd, data) {
      if (take('write')) throw enospc('write');
      if (take('partial_write')) {
        // The disk filled up part-way: some of the bytes reached the file.
        await nodeFileSystem.write(fd, data.subarray(0, Math.floor(data.length / 2)));
        throw enospc('write');
      }
      return nodeFileSystem.write(fd, data);
    },
    async fdatasync(fd) {
      if (take('fdatasync')) throw enospc('fdatasync');
      return nodeFileSystem.fdatasync(fd);
    },
    async openAppend(file) {
      if (take('openAppend')) throw enospc('open');
      return nodeFileSystem.openAppend(file);
    },
    async truncate(file, length) {
      if (take('truncate')) throw enospc('truncate');
      return nodeFileSystem.truncate(file, length);
    },
  };
  return { fs, arm: (fault) => armed.add(fault), fired };
}

/** Every successful LSN appears exactly once, in order; anything else is one of `mayAppear`. */
function expectSuccessfulExactlyOnce(replayed: number[], successful: number[], mayAppear: number[]): void {
  const ok = new Set(successful);
  expect(replayed.filter((l) => ok.has(l))).toEqual(successful);
  const allowed = new Set(mayAppear);
  expect(replayed.filter((l) => !ok.has(l) && !allowed.has(l))).toEqual([]);
  expect(new Set(replayed).size).toBe(replayed.length);
}

describe('WriteAheadLog group commit', () => {
  it('groups 200 concurrent appends into fewer writes, each append counted once', async () => {
    const { observer, groups } = recordingObserver();
    const { wal, lsns } = await openWal({ observer });
    expect(lsns).toEqual([]);

    const results = await Promise.allSettled(range(1, 200).map((lsn) => wal.append(payloadOf(lsn), lsn)));
    expect(results.every((r) => r.status === 'fulfilled')).toBe(true);

    expect(groups.appends.length).toBeGreaterThan(0);
    expect(groups.appends.length).toBeLessThan(200);
    expect(groups.appends.reduce((a, b) => a + b, 0)).toBe(200);
    expect(groups.appends.some((n) => n > 1)).toBe(true);
    const expectedBytes = range(1, 200).reduce((sum, lsn) => sum + encodeRecord(payloadOf(lsn)).length, 0);
    expect(groups.bytes.reduce((a, b) => a + b, 0)).toBe(expectedBytes);
    expect(wal.totalBytes).toBe(expectedBytes);
    expect(wal.pendingAppends).toBe(0);
    expect(groups.errors).toEqual([]);
    await wal.close();

    const reopened = await openWal();
    expect(reopened.corruptions).toEqual([]);
    expect(reopened.lsns).toEqual(range(1, 200));
    await reopened.wal.close();
  });

  it('writes a lone sequential writer in groups of exactly one, without waiting for a timer', async () => {
    const { observer, groups } = recordingObserver();
    const { wal } = await openWal({ observer, syncMode: 'none' });
    for (let lsn = 1; lsn <= 50; lsn++) await wal.append(payloadOf(lsn), lsn);
    expect(groups.appends).toEqual(new Array<number>(50).fill(1));
    expect(groups.bytes).toEqual(range(1, 50).map((lsn) => encodeRecord(payloadOf(lsn)).length));
    await wal.close();

    const reopened = await openWal();
    expect(reopened.lsns).toEqual(range(1, 50));
    await reopened.wal.close();
  });

  it('syncs each group of a sequential writer in "always" mode too', async () => {
    const { observer, groups } = recordingObserver();
    const { wal } = await openWal({ observer, syncMode: 'always' });
    for (let lsn = 1; lsn <= 20; lsn++) await wal.append(payloadOf(lsn), lsn);
    expect(groups.appends).toEqual(new Array<number>(20).fill(1));
    await wal.close();
  });

  it('close() waits for queued appends, then refuses new ones', async () => {
    const { wal } = await openWal();
    const pending = range(1, 30).map((lsn) => wal.append(payloadOf(lsn), lsn));
    await wal.close();
    await expect(Promise.all(pending)).resolves.toHaveLength(30);
    await expect(wal.append(payloadOf(31), 31)).rejects.toThrow(/closed/);

    const reopened = await openWal();
    expect(reopened.lsns).toEqual(range(1, 30));
    await reopened.wal.close();
  });
});

describe('WriteAheadLog input checks', () => {
  it('rejects (does not throw) an append whose payload cannot be a record, and keeps working', async () => {
    const { wal } = await openWal();
    await wal.append(payloadOf(1), 1);
    let pending: Promise<void> | undefined;
    expect(() => {
      pending = wal.append(Buffer.alloc(0), 2);
    }).not.toThrow();
    await expect(pending).rejects.toThrow(RangeError);
    await wal.append(payloadOf(3), 3);
    await wal.close();

    const reopened = await openWal();
    expect(reopened.lsns).toEqual([1, 3]);
    expect(reopened.corruptions).toEqual([]);
    await reopened.wal.close();
  });
});

describe('WriteAheadLog recovery', () => {
  it('replays every record in order across several sessions, each session starting a new file', async () => {
    const first = await openWal();
    for (let lsn = 1; lsn <= 30; lsn++) await first.wal.append(payloadOf(lsn), lsn);
    expect(first.wal.fileCount).toBe(1);
    await first.wal.close();

    const second = await openWal();
    expect(second.lsns).toEqual(range(1, 30));
    expect(second.corruptions).toEqual([]);
    expect(second.wal.fileCount).toBe(2);
    await Promise.all(range(31, 60).map((lsn) => second.wal.append(payloadOf(lsn), lsn)));
    await second.wal.close();

    const third = await openWal();
    expect(third.lsns).toEqual(range(1, 60));
    expect(third.corruptions).toEqual([]);
    expect(third.wal.fileCount).toBe(3);
    const perFile = await lsnsPerFile();
    expect([...perFile.values()]).toEqual([range(1, 30), range(31, 60), []]);
    await third.wal.close();
  });

  it.each([
    {
      name: 'a torn tail (a record cut short)',
      kind: 'torn_tail',
      tail: () => encodeRecord(payloadOf(999)).subarray(0, 13),
    },
    {
      name: 'a zero-filled tail',
      kind: 'torn_tail',
      tail: () => Buffer.alloc(100),
    },
    {
      name: 'garbage with a huge length',
      kind: 'garbage',
      tail: () => Buffer.concat([Buffer.from([0xff, 0xff, 0xff, 0xff]), Buffer.from('definitely not a record')]),
    },
  ])('cuts $name at the end of the last file, reports it and quarantines the cut bytes', async ({ kind, tail }) => {
    const first = await openWal();
    for (let lsn = 1; lsn <= 10; lsn++) await first.wal.append(payloadOf(lsn), lsn);
    await first.wal.close();

    const names = await walFileNames();
    const last = names[names.length - 1]!;
    const lastPath = path.join(dir, last);
    const goodLength = (await fsp.stat(lastPath)).size;
    const bad = tail();
    await fsp.appendFile(lastPath, bad);

    const second = await openWal();
    expect(second.lsns).toEqual(range(1, 10));
    expect(second.corruptions).toHaveLength(1);
    const corruption = second.corruptions[0]!;
    expect(corruption).toMatchObject({ file: last, kind, offset: goodLength, bytesCut: bad.length });
    expect(path.dirname(corruption.quarantinedTo)).toBe(path.join(dir, 'corrupt'));
    expect(Buffer.compare(await fsp.readFile(corruption.quarantinedTo), bad)).toBe(0);
    expect((await fsp.stat(lastPath)).size).toBe(goodLength);
    // Appends after recovery land in a new file and survive the next restart.
    await second.wal.append(payloadOf(11), 11);
    await second.wal.close();

    const third = await openWal();
    expect(third.corruptions).toEqual([]);
    expect(third.lsns).toEqual([...range(1, 10), 11]);
    await third.wal.close();
  });

  it('cuts at a record whose checksum fails, keeping the records before it', async () => {
    const first = await openWal();
    for (let lsn = 1; lsn <= 10; lsn++) await first.wal.append(payloadOf(lsn), lsn);
    await first.wal.close();

    const last = path.join(dir, (await walFileNames())[0]!);
    const content = await fsp.readFile(last);
    const lastRecordStart = content.length - encodeRecord(payloadOf(10)).length;
    content[content.length - 3] = content[content.length - 3]! ^ 0x10; // inside the last payload
    await fsp.writeFile(last, content);

    const second = await openWal();
    expect(second.lsns).toEqual(range(1, 9));
    expect(second.corruptions).toEqual([
      expect.objectContaining({ kind: 'checksum', offset: lastRecordStart, bytesCut: content.length - lastRecordStart }),
    ]);
    expect((await fsp.stat(last)).size).toBe(lastRecordStart);
    await second.wal.close();
  });
});

describe('WriteAheadLog rotation and removal', () => {
  it('rotates by size and removes only closed files whose max LSN is covered', async () => {
    const recordBytes = encodeRecord(payloadOf(1)).length;
    const maxFileBytes = recordBytes * 3;
    const { wal } = await openWal({ maxFileBytes });
    const counts: number[] = [];
    for (let lsn = 1; lsn <= 40; lsn++) {
      await wal.append(payloadOf(lsn), lsn);
      counts.push(wal.fileCount);
    }
    expect(wal.fileCount).toBeGreaterThan(5);
    // The count never shrinks and grows by one file at a time.
    for (let i = 1; i < counts.length; i++) expect(counts[i]! - counts[i - 1]!).toBeGreaterThanOrEqual(0);
    for (let i = 1; i < counts.length; i++) expect(counts[i]! - counts[i - 1]!).toBeLessThanOrEqual(1);

    const before = await lsnsPerFile();
    expect(before.size).toBe(wal.fileCount);
    expect([...before.values()].flat()).toEqual(range(1, 40));
    for (const [name, lsns] of before) {
      expect((await fsp.stat(path.join(dir, name))).size).toBeLessThan(maxFileBytes + recordBytes * 2);
      expect(lsns.length).toBeGreaterThan(0);
    }

    // Remove what LSN 20 covers: every file whose records are all ≤ 20.
    const names = [...before.keys()];
    const activeName = names[names.length - 1]!;
    const covered = names.filter((n) => n !== activeName && Math.max(...before.get(n)!) <= 20);
    expect(covered.length).toBeGreaterThan(0);
    expect(await wal.removeFilesCoveredBy(20)).toBe(covered.length);
    expect(await walFileNames()).toEqual(names.filter((n) => !covered.includes(n)));
    expect(wal.fileCount).toBe(names.length - covered.length);
    // Every record above 20 survives; the removed files held nothing above 20.
    const survivors = [...(await lsnsPerFile()).values()].flat();
    expect(survivors.filter((l) => l > 20)).toEqual(range(21, 40));
    expect(covered.flatMap((n) => before.get(n)!).every((l) => l <= 20)).toBe(true);

    // Nothing more is covered by the same LSN.
    expect(await wal.removeFilesCoveredBy(20)).toBe(0);
    await wal.close();
  });

  it('never removes the active file, even when everything is covered', async () => {
    const { wal } = await openWal();
    for (let lsn = 1; lsn <= 5; lsn++) await wal.append(payloadOf(lsn), lsn);
    expect(await wal.removeFilesCoveredBy(Number.MAX_SAFE_INTEGER)).toBe(0);
    expect(wal.fileCount).toBe(1);
    await wal.close();
    const reopened = await openWal();
    expect(reopened.lsns).toEqual(range(1, 5));
    await reopened.wal.close();
  });

  it('rotate() starts a new file so that everything before it can be removed once flushed', async () => {
    const { wal } = await openWal();
    for (let lsn = 1; lsn <= 10; lsn++) await wal.append(payloadOf(lsn), lsn);
    await wal.rotate();
    expect(wal.fileCount).toBe(2);
    for (let lsn = 11; lsn <= 15; lsn++) await wal.append(payloadOf(lsn), lsn);
    // LSN 9 does not cover the first file (it holds LSN 10).
    expect(await wal.removeFilesCoveredBy(9)).toBe(0);
    expect(await wal.removeFilesCoveredBy(10)).toBe(1);
    expect(wal.fileCount).toBe(1);
    await wal.close();

    const reopened = await openWal();
    expect(reopened.lsns).toEqual(range(11, 15));
    await reopened.wal.close();
  });

  it('removes empty files left by earlier sessions', async () => {
    const first = await openWal();
    await first.wal.close(); // an empty file
    const second = await openWal();
    await second.wal.append(payloadOf(1), 1);
    expect(second.wal.fileCount).toBe(2);
    expect(await second.wal.removeFilesCoveredBy(0)).toBe(1);
    expect(second.wal.fileCount).toBe(1);
    await second.wal.close();
  });
});

describe('WriteAheadLog fault injection', () => {
  it.each<{ fault: Fault }>([
    // The write reached the page cache but its sync failed: the log cuts it off again.
    { fault: 'fdatasync' },
    // The write itself failed before any byte reached the file.
    { fault: 'write' },
  ])('a failing $fault rejects that group and those queued behind it; the next append goes to a new file', async ({ fault }) => {
    const { fs, arm, fired } = faultyFs();
    const { observer, groups } = recordingObserver();
    const { wal } = await openWal({ fs, observer });
    for (let lsn = 1; lsn <= 5; lsn++) await wal.append(payloadOf(lsn), lsn);
    const filesBefore = wal.fileCount;

    arm(fault);
    // The first starts a write at once; the other two queue behind it.
    const results = await Promise.allSettled([6, 7, 8].map((lsn) => wal.append(payloadOf(lsn), lsn)));
    expect(fired).toEqual([fault]);
    for (const r of results) {
      expect(r.status).toBe('rejected');
      if (r.status === 'rejected') expect((r.reason as { code?: string }).code).toBe('ENOSPC');
    }
    expect(groups.errors).toHaveLength(1);
    expect(wal.pendingAppends).toBe(0);

    await wal.append(payloadOf(9), 9);
    expect(wal.fileCount).toBe(filesBefore + 1);
    await Promise.all([10, 11, 12].map((lsn) => wal.append(payloadOf(lsn), lsn)));
    await wal.close();

    // The rejected appends were cut off the first file: nothing of them comes back.
    expect([...(await lsnsPerFile()).values()]).toEqual([[1, 2, 3, 4, 5], [9, 10, 11, 12]]);

    const reopened = await openWal();
    expectSuccessfulExactlyOnce(reopened.lsns, [1, 2, 3, 4, 5, 9, 10, 11, 12], []);
    expect(reopened.corruptions).toEqual([]);
    await reopened.wal.close();
  });

  /** A file system whose every fdatasync waits until the test calls `held[i]()`, i in call order. */
  function heldSyncs(): { fs: FileSystem; held: Array<() => void> } {
    const held: Array<() => void> = [];
    const fs: FileSystem = {
      ...nodeFileSystem,
      async fdatasync(fd) {
        await new Promise<void>((resolve) => held.push(resolve));
        return nodeFileSystem.fdatasync(fd);
      },
    };
    return { fs, held };
  }

  /** A file system whose next fdatasync, once armed, waits at a gate and then succeeds or fails. */
  function gatedSync(): { fs: FileSystem; armNext: (outcome: 'succeed' | 'fail') => void; failNextWrite: () => void; reached: () => Promise<void>; release: () => void } {
    let outcome: 'succeed' | 'fail' | undefined;
    let failWrite = false;
    let reached: () => void = () => undefined;
    let syncReached = new Promise<void>((resolve) => (reached = resolve));
    let release: () => void = () => undefined;
    let gate = new Promise<void>((resolve) => (release = resolve));
    const fs: FileSystem = {
      ...nodeFileSystem,
      async write(fd, data) {
        if (!failWrite) return nodeFileSystem.write(fd, data);
        failWrite = false;
        throw enospc('write');
      },
      async fdatasync(fd) {
        const armed = outcome;
        outcome = undefined;
        if (!armed) return nodeFileSystem.fdatasync(fd);
        reached();
        await gate;
        if (armed === 'fail') throw enospc('fdatasync');
        return nodeFileSystem.fdatasync(fd);
      },
    };
    return {
      fs,
      armNext: (o) => {
        outcome = o;
        syncReached = new Promise<void>((resolve) => (reached = resolve));
        gate = new Promise<void>((resolve) => (release = resolve));
      },
      failNextWrite: () => (failWrite = true),
      reached: () => syncReached,
      release: () => release(),
    };
  }

  it('writes large appends that arrive while a group syncs at once, and resolves each group only after its own sync', async () => {
    const { fs, held } = heldSyncs();
    const { wal } = await openWal({ fs });
    const resolved: number[] = [];
    const first = wal.append(payloadOf(6), 6).then(() => resolved.push(6));
    await waitFor('the sync of 6', () => held.length === 1);
    const behind = [7, 8].map((lsn) => wal.append(bigPayloadOf(lsn), lsn).then(() => resolved.push(lsn)));
    // 7 and 8 (over 64 KiB together) are written while 6 syncs, not queued until it ends.
    await waitFor('7 and 8 written behind the held sync', async () => wal.pendingAppends === 0 && (await lsnsOnDisk()).includes(8));
    expect(resolved).toEqual([]);
    held[0]!();
    // 6 is durable; 7 and 8 wait for the sync that covers them, which starts at once.
    await waitFor('the sync of 7 and 8', () => held.length === 2);
    await waitFor('6 resolved', () => resolved.length === 1);
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(resolved).toEqual([6]);
    held[1]!();
    await Promise.all([first, ...behind]);
    expect(resolved).toEqual([6, 7, 8]);
    // Close writes nothing more: let any further sync through.
    const closing = wal.close();
    for (let i = 2; i < 4; i++) held[i]?.();
    await closing;

    const reopened = await openWal();
    expectSuccessfulExactlyOnce(reopened.lsns, [6, 7, 8], []);
    await reopened.wal.close();
  });

  it('a rotation asked for while a group syncs and another is written behind it waits for both, then starts a new file', async () => {
    const { fs, held } = heldSyncs();
    const { wal } = await openWal({ fs });
    const first = wal.append(payloadOf(1), 1);
    await waitFor('the sync of 1', () => held.length === 1);
    const behind = wal.append(bigPayloadOf(2), 2);
    await waitFor('2 written behind the held sync', async () => (await lsnsOnDisk()).includes(2));
    let rotated = false;
    const rotation = wal.rotate().then(() => (rotated = true));
    const after = wal.append(payloadOf(3), 3);
    held[0]!();
    await waitFor('the sync of 2', () => held.length === 2);
    expect(rotated).toBe(false);
    held[1]!();
    await Promise.all([first, behind, rotation]);
    // 3 goes to the new file, with a sync of its own.
    await waitFor('the sync of 3', () => held.length === 3);
    held[2]!();
    await after;
    expect([...(await lsnsPerFile()).values()]).toEqual([[1, 2], [3]]);
    const closing = wal.close();
    held[3]?.();
    await closing;
  });

  it('close() while the log waits for a sync lets it end and resolves what it covered', async () => {
    const { fs, held } = heldSyncs();
    const { wal } = await openWal({ fs });
    const first = wal.append(payloadOf(1), 1);
    await waitFor('the sync of 1', () => held.length === 1);
    let closed = false;
    const closing = wal.close().then(() => (closed = true));
    await new Promise((resolve) => setTimeout(resolve, 30));
    expect(closed).toBe(false);
    await expect(wal.append(payloadOf(2), 2)).rejects.toThrow(/closed/);
    held[0]!();
    await first;
    await closing;
    const reopened = await openWal();
    expectSuccessfulExactlyOnce(reopened.lsns, [1], []);
    await reopened.wal.close();
  });

  /** A WAL whose group commits are recorded: 1 is durable, 2 is written and its sync held. */
  async function holdingTheSecondSync() {
    const gated = gatedSync();
    const { observer, groups } = recordingObserver();
    const { wal } = await openWal({ fs: gated.fs, observer });
    await wal.append(payloadOf(1), 1);
    gated.armNext('succeed');
    const first = wal.append(payloadOf(2), 2);
    await gated.reached();
    return { gated, groups, wal, first };
  }

  it('small appends that arrive during a sync wait for it to end, then go out together in the next sync', async () => {
    const { gated, groups, wal, first } = await holdingTheSecondSync();
    const queued = [3, 4, 5].map((lsn) => wal.append(payloadOf(lsn), lsn));
    await new Promise((resolve) => setTimeout(resolve, 50));
    // Not written while 2 syncs: a write now would not spare them a sync.
    expect(wal.pendingAppends).toBe(3);
    expect(await lsnsOnDisk()).toEqual([1, 2]);
    gated.release();
    await Promise.all([first, ...queued]);
    expect(groups.appends).toEqual([1, 1, 3]);
    await wal.close();
  });

  it('small appends queued behind a large one written during a sync wait for its sync, then go out together', async () => {
    const { gated, groups, wal, first } = await holdingTheSecondSync();
    const behind = wal.append(bigPayloadOf(3), 3); // large: written at once, behind the held sync
    await waitFor('3 written behind the held sync', async () => wal.pendingAppends === 0 && (await lsnsOnDisk()).includes(3));
    const queued = [4, 5, 6].map((lsn) => wal.append(payloadOf(lsn), lsn));
    expect(wal.pendingAppends).toBe(3);
    gated.release();
    await Promise.all([first, behind, ...queued]);
    // 1 alone, 2 alone, 3 (written behind 2's sync) alone, then the three small ones together.
    expect(groups.appends).toEqual([1, 1, 1, 3]);
    await wal.close();
  });

  it('appends written behind a group whose sync fails are rejected and cut off with it', async () => {
    const gated = gatedSync();
    const { wal } = await openWal({ fs: gated.fs });
    for (let lsn = 1; lsn <= 5; lsn++) await wal.append(payloadOf(lsn), lsn);

    gated.armNext('fail');
    const inFlight = wal.append(payloadOf(6), 6);
    await gated.reached(); // 6 is written and its sync is held
    const behind = [7, 8].map((lsn) => wal.append(bigPayloadOf(lsn), lsn));
    await waitFor('7 and 8 written behind the held sync', async () => (await lsnsOnDisk()).includes(8));
    const queued = wal.append(payloadOf(9), 9); // queued: one group at most is written behind a sync
    expect(wal.pendingAppends).toBe(1);
    gated.release();
    const results = await Promise.allSettled([inFlight, ...behind, queued]);
    expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected', 'rejected', 'rejected']);

    await wal.append(payloadOf(10), 10);
    await wal.close();
    const perFile = [...(await lsnsPerFile()).values()];
    // 6, 7 and 8 reached the page cache before 6's sync failed and were cut off; 9 was never written.
    expect(perFile).toEqual([[1, 2, 3, 4, 5], [10]]);

    const reopened = await openWal();
    expectSuccessfulExactlyOnce(reopened.lsns, [1, 2, 3, 4, 5, 10], []);
    await reopened.wal.close();
  });

  it('a write that fails behind a syncing group fails alone: the group before it is acknowledged', async () => {
    const gated = gatedSync();
    const { wal } = await openWal({ fs: gated.fs });
    for (let lsn = 1; lsn <= 5; lsn++) await wal.append(payloadOf(lsn), lsn);

    gated.armNext('succeed');
    const syncing = wal.append(payloadOf(6), 6);
    await gated.reached();
    gated.failNextWrite();
    const failing = wal.append(bigPayloadOf(7), 7);
    await waitFor('the write behind the held sync to be tried', () => wal.pendingAppends === 0);
    gated.release();
    const results = await Promise.allSettled([syncing, failing]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected']);

    await wal.append(payloadOf(8), 8);
    await wal.close();
    expect([...(await lsnsPerFile()).values()]).toEqual([[1, 2, 3, 4, 5, 6], [8]]);
    const reopened = await openWal();
    expectSuccessfulExactlyOnce(reopened.lsns, [1, 2, 3, 4, 5, 6, 8], []);
    await reopened.wal.close();
  });

  it('when the failed bytes cannot be cut off either, only acknowledged appends are guaranteed after a restart', async () => {
    const { fs, arm, fired } = faultyFs();
    const { wal } = await openWal({ fs });
    for (let lsn = 1; lsn <= 5; lsn++) await wal.append(payloadOf(lsn), lsn);
    arm('fdatasync');
    arm('truncate');
    await expect(wal.append(payloadOf(6), 6)).rejects.toMatchObject({ code: 'ENOSPC' });
    expect(fired).toEqual(['fdatasync', 'truncate']);
    await wal.append(payloadOf(7), 7);
    await wal.close();

    const reopened = await openWal();
    // 6 reached the page cache: like a crash after a write, it may come back.
    expectSuccessfulExactlyOnce(reopened.lsns, [1, 2, 3, 4, 5, 7], [6]);
    await reopened.wal.close();
  });

  it('a write that fails part-way is cut off at once, and the log goes on in a new file', async () => {
    const { fs, arm } = faultyFs();
    const { wal } = await openWal({ fs });
    for (let lsn = 1; lsn <= 5; lsn++) await wal.append(payloadOf(lsn), lsn);
    const firstFile = (await walFileNames())[0]!;
    const goodLength = (await fsp.stat(path.join(dir, firstFile))).size;

    arm('partial_write');
    const results = await Promise.allSettled([6, 7, 8].map((lsn) => wal.append(payloadOf(lsn), lsn)));
    expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected', 'rejected']);
    expect((await fsp.stat(path.join(dir, firstFile))).size).toBe(goodLength);
    await wal.append(payloadOf(9), 9);
    await wal.close();

    const reopened = await openWal();
    expectSuccessfulExactlyOnce(reopened.lsns, [1, 2, 3, 4, 5, 9], []);
    expect(reopened.corruptions).toEqual([]);
    await reopened.wal.close();
  });

  it('a part-way write that cannot be cut off leaves a torn record that recovery cuts from the older file', async () => {
    const { fs, arm } = faultyFs();
    const { wal } = await openWal({ fs });
    for (let lsn = 1; lsn <= 5; lsn++) await wal.append(payloadOf(lsn), lsn);
    const firstFile = (await walFileNames())[0]!;
    const goodLength = (await fsp.stat(path.join(dir, firstFile))).size;

    arm('partial_write');
    arm('truncate');
    const results = await Promise.allSettled([6, 7, 8].map((lsn) => wal.append(payloadOf(lsn), lsn)));
    expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected', 'rejected']);
    expect((await fsp.stat(path.join(dir, firstFile))).size).toBeGreaterThan(goodLength);

    // Never written after the partial record: the next appends go to a new file.
    await wal.append(payloadOf(9), 9);
    await wal.append(payloadOf(10), 10);
    await wal.close();

    const reopened = await openWal();
    expectSuccessfulExactlyOnce(reopened.lsns, [1, 2, 3, 4, 5, 9, 10], []);
    expect(reopened.corruptions).toEqual([
      expect.objectContaining({ file: firstFile, kind: 'torn_tail', offset: goodLength }),
    ]);
    expect((await fsp.stat(path.join(dir, firstFile))).size).toBe(goodLength);
    await reopened.wal.close();
  });

  it('a rotation that cannot open its new file rejects, and the log keeps working', async () => {
    const { fs, arm } = faultyFs();
    const { wal } = await openWal({ fs });
    for (let lsn = 1; lsn <= 3; lsn++) await wal.append(payloadOf(lsn), lsn);
    arm('openAppend');
    await expect(wal.rotate()).rejects.toMatchObject({ code: 'ENOSPC' });
    await wal.append(payloadOf(4), 4);
    await wal.rotate();
    await wal.append(payloadOf(5), 5);
    await wal.close();

    const reopened = await openWal();
    expect(reopened.lsns).toEqual(range(1, 5));
    expect(reopened.corruptions).toEqual([]);
    await reopened.wal.close();
  });

  it('keeps accepting appends after repeated sync failures', async () => {
    const { fs, arm } = faultyFs();
    const { wal } = await openWal({ fs });
    const successful: number[] = [];
    const failed: number[] = [];
    for (let lsn = 1; lsn <= 30; lsn++) {
      if (lsn % 7 === 0) arm('fdatasync');
      try {
        await wal.append(payloadOf(lsn), lsn);
        successful.push(lsn);
      } catch {
        failed.push(lsn);
      }
    }
    expect(failed).toEqual([7, 14, 21, 28]);
    await wal.close();

    const reopened = await openWal();
    expectSuccessfulExactlyOnce(reopened.lsns, successful, []);
    await reopened.wal.close();
  });
});
