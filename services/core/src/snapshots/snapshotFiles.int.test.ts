/** Snapshot files in a real temporary folder: names, format, atomic rewrites, loading. */
import { readdir, writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import { nodeFileSystem, type FileSystem } from '../storage/fs/fileSystem';
import { makeTempDir, removeDir } from '../testing/tempDirs';
import { SnapshotFiles, decodeEntityFile, encodeEntityFile, snapshotFileName } from './snapshotFiles';
import type { Snapshot } from './snapshotRepository';

const log = { info: () => undefined, warn: () => undefined, error: () => undefined };

function snap(entityId: string, eventCount: number, state: unknown): Snapshot {
  const stateJson = JSON.stringify(state);
  return {
    id: `id-${eventCount}`,
    entityId,
    createdAtUs: 1_700_000_000_000_000 + eventCount,
    asOfUs: 1_699_999_999_000_000 + eventCount,
    eventCount,
    lastEventId: '11111111-2222-4333-8444-555555555555',
    type: eventCount % 2 ? 'manual' : 'automatic',
    stateJson,
    sizeBytes: Buffer.byteLength(stateJson),
  };
}

describe('snapshot files', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await makeTempDir('allsource-snapfiles-');
  });
  afterEach(() => removeDir(dir));

  it('names files by a hash of the entity id, whatever the id holds', () => {
    const names = ['user-1', '../../etc/passwd', 'ünïcødé/😀', 'a'.repeat(128), 'CON'].map(snapshotFileName);
    for (const n of names) expect(n).toMatch(/^[0-9a-f]{64}\.json$/);
    expect(new Set(names).size).toBe(5);
    expect(snapshotFileName('user-1')).toBe(snapshotFileName('user-1'));
  });

  it('encodes and decodes every field and the state text exactly', () => {
    const entity = 'ünï "quoted" \\ \n😀';
    const snapshots = [snap(entity, 1, { a: 1, '': null, nested: { x: [1, 'two'] }, '\u2028': 'sep' }), snap(entity, 2, {})];
    const decoded = decodeEntityFile(encodeEntityFile(entity, snapshots));
    expect(decoded.entityId).toBe(entity);
    expect(decoded.snapshots).toEqual(snapshots);
  });

  it('rejects malformed files', () => {
    const bad = [
      'not json',
      '{"format":2,"entity_id":"a","snapshots":[]}',
      '{"format":1,"snapshots":[]}',
      '{"format":1,"entity_id":"a","snapshots":[{"id":"x"}]}',
      '{"format":1,"entity_id":"a","snapshots":[{"id":"x","created_at_us":1,"as_of_us":1,"event_count":1,"last_event_id":"y","snapshot_type":"weird","state":{}}]}',
      '{"format":1,"entity_id":"a","snapshots":[{"id":"x","created_at_us":1,"as_of_us":1,"event_count":0,"last_event_id":"y","snapshot_type":"manual","state":{}}]}',
      '{"format":1,"entity_id":"a","snapshots":[{"id":"x","created_at_us":1,"as_of_us":1,"event_count":1,"last_event_id":"y","snapshot_type":"manual","state":[1]}]}',
    ];
    for (const text of bad) expect(() => decodeEntityFile(Buffer.from(text))).toThrow();
  });

  it('writes an entity file when asked, deletes it when the entity has none left, and loads what is there', async () => {
    const current = new Map<string, Snapshot[]>();
    const files = new SnapshotFiles(dir, nodeFileSystem, (id) => current.get(id) ?? [], log);
    current.set('a', [snap('a', 1, { v: 1 }), snap('a', 2, { v: 2 })]);
    current.set('b/c', [snap('b/c', 7, { w: true })]);
    await Promise.all([files.markDirty('a', true), files.markDirty('b/c', true)]);
    expect((await readdir(dir)).sort()).toEqual([snapshotFileName('a'), snapshotFileName('b/c')].sort());

    // Leftovers of an interrupted write, a corrupt file and a stranger are handled at load.
    await writeFile(path.join(dir, `${snapshotFileName('a')}.123.1.tmp`), 'partial');
    await writeFile(path.join(dir, snapshotFileName('zzz')), '{"format":1,');
    await writeFile(path.join(dir, 'README.txt'), 'not ours');
    // A file whose content names another entity than its name says is not trusted.
    await writeFile(path.join(dir, snapshotFileName('mallory')), encodeEntityFile('a', [snap('a', 9, {})]));
    const loaded = await new SnapshotFiles(dir, nodeFileSystem, () => [], log).load();
    expect(loaded.filesRead).toBe(2);
    expect(loaded.tempFilesRemoved).toBe(1);
    expect(loaded.badFiles.sort()).toEqual([snapshotFileName('zzz'), snapshotFileName('mallory')].sort());
    expect(loaded.snapshots.map((s) => `${s.entityId}:${s.eventCount}`).sort()).toEqual(['a:1', 'a:2', 'b/c:7']);

    current.set('a', []);
    await files.markDirty('a', true);
    expect(await readdir(dir)).not.toContain(snapshotFileName('a'));
    expect(files.stats.writes).toBe(3);
  });

  it('writes several changes of one entity once, with the latest state, and reports failures', async () => {
    let writes = 0;
    let fail = false;
    const counting: FileSystem = {
      ...nodeFileSystem,
      writeFileAtomic: async (file, data) => {
        writes++;
        if (fail) throw Object.assign(new Error('ENOSPC: no space left on device'), { code: 'ENOSPC' });
        await nodeFileSystem.writeFileAtomic(file, data);
      },
    };
    let state = 0;
    const files = new SnapshotFiles(dir, counting, (id) => [snap(id, 1, { state })], log);
    const waits: Array<Promise<void>> = [];
    for (state = 1; state <= 5; state++) waits.push(files.markDirty('a', true));
    state = 5;
    await Promise.all(waits);
    expect(writes).toBe(1);
    const loaded = await new SnapshotFiles(dir, nodeFileSystem, () => [], log).load();
    expect(JSON.parse(loaded.snapshots[0]!.stateJson)).toEqual({ state: 5 });

    fail = true;
    await expect(files.markDirty('a', true)).rejects.toThrow('ENOSPC');
    expect(files.stats.writeErrors).toBe(1);
    files.markDirty('b'); // not waited for: its failure is only logged and counted
    await files.drain();
    expect(files.stats.writeErrors).toBe(2);
  });
});
