import { readdir, readFile, writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import { AllSourceError } from '@allsource/errors';
import { nodeFileSystem, type FileSystem } from '../storage/fs/fileSystem';
import { makeTempDir, removeDir } from '../testing/tempDirs';
import { EntityStateCache } from './entityStateCache';
import type { ProcessDelta } from './pipeline';
import { PipelineManager, type PipelineManagerOptions } from './pipelineManager';
import { storedEvent as ev, TEST_PIPELINE_OPTIONS } from './testEvents';

let dir: string;
beforeEach(async () => {
  dir = await makeTempDir('allsource-pipelines-');
});
afterEach(async () => {
  await removeDir(dir);
});

const warnings: string[] = [];
const logger = { info: () => undefined, warn: (_o: object, msg?: string) => void warnings.push(msg ?? ''), error: () => undefined };

function open(extra: Partial<PipelineManagerOptions> = {}): Promise<PipelineManager> {
  return PipelineManager.open({ dir, fs: nodeFileSystem, maxPipelines: 3, maxOperators: 8, pipeline: TEST_PIPELINE_OPTIONS, logger, ...extra });
}

async function expectError(promise: Promise<unknown> | (() => unknown), status: number, code: string): Promise<AllSourceError> {
  let caught: unknown;
  try {
    await (typeof promise === 'function' ? promise() : promise);
  } catch (err) {
    caught = err;
  }
  expect(caught).toBeInstanceOf(AllSourceError);
  expect((caught as AllSourceError).status).toBe(status);
  expect((caught as AllSourceError).code).toBe(code);
  return caught as AllSourceError;
}

const countAll = { name: 'count', source_event_types: [], operators: [{ type: 'reduce', function: 'count' }] };

describe('PipelineManager', () => {
  it('persists configs atomically and loads them at the next open; state starts empty', async () => {
    const first = await open();
    const created = await first.create({ ...countAll, id: 'p1', description: 'all events' });
    expect(await readdir(dir)).toEqual(['p1.json']);
    const doc = JSON.parse(await readFile(path.join(dir, 'p1.json'), 'utf8')) as { format: number; config: unknown };
    expect(doc.format).toBe(1);
    expect(doc.config).toEqual({ id: 'p1', name: 'count', description: 'all events', source_event_types: [], operators: [{ type: 'reduce', function: 'count', field: null, group_by: null }], enabled: true });
    first.process([ev('a.b', {})]);
    expect(first.stats('p1').events_processed).toBe(1);

    const second = await open();
    expect(second.get('p1')).toEqual(created);
    expect(second.stats('p1')).toMatchObject({ events_processed: 0, last_processed: null });
  });

  it('answers 409 for a duplicate id, 429 past PIPELINE_MAX, 400 for an invalid config, 404 for unknown ids', async () => {
    const m = await open();
    await m.create({ ...countAll, id: 'dup' });
    await expectError(m.create({ ...countAll, id: 'dup' }), 409, 'CONFLICT');
    await m.create(countAll);
    await m.create(countAll);
    const err = await expectError(m.create(countAll), 429, 'RATE_LIMITED');
    expect(err.message).toMatch(/at most 3 pipelines/);
    await expectError(m.create({ ...countAll, operators: [{ type: 'nope' }] }), 400, 'INVALID_INPUT');
    await expectError(m.create({ ...countAll, operators: Array.from({ length: 9 }, () => ({ type: 'reduce', function: 'count' })) }), 400, 'INVALID_INPUT');
    for (const call of [() => m.get('x'), () => m.stats('x'), () => m.reset('x'), () => m.results('x'), () => m.delete('x')]) {
      await expectError(call, 404, 'NOT_FOUND');
    }
  });

  it('deletes the stored config with the pipeline', async () => {
    const m = await open();
    await m.create({ ...countAll, id: 'gone' });
    await m.delete('gone');
    expect(await readdir(dir)).toEqual([]);
    expect(m.size).toBe(0);
    expect((await open()).size).toBe(0);
  });

  it('skips invalid or misnamed files at load (left on disk) and removes interrupted writes', async () => {
    await writeFile(path.join(dir, 'bad.json'), '{not json');
    await writeFile(path.join(dir, 'other.json'), JSON.stringify({ format: 1, created_at: '2026-01-01T00:00:00.000Z', config: { ...countAll, id: 'mismatch' } }));
    await writeFile(path.join(dir, 'ok.json.123.1.tmp'), 'partial');
    await writeFile(path.join(dir, 'ok.json'), JSON.stringify({ format: 1, created_at: '2026-01-01T00:00:00.000Z', config: { ...countAll, id: 'ok' } }));
    warnings.length = 0;
    const m = await open();
    expect(m.list().map((p) => p.id)).toEqual(['ok']);
    expect(warnings.filter((w) => w.includes('not loaded'))).toHaveLength(2);
    expect((await readdir(dir)).sort()).toEqual(['bad.json', 'ok.json', 'other.json']);
  });

  it('answers 503 and registers nothing when the config cannot be written', async () => {
    const failing: FileSystem = { ...nodeFileSystem, writeFileAtomic: async () => Promise.reject(Object.assign(new Error('no space'), { code: 'ENOSPC' })) };
    const m = await open({ fs: failing });
    await expectError(m.create({ ...countAll, id: 'p' }), 503, 'STORAGE_UNAVAILABLE');
    expect(m.size).toBe(0);
    // The id is free again.
    const ok = await open();
    await ok.create({ ...countAll, id: 'p' });
  });

  it('feeds only enabled pipelines, reports per group, and never throws out of process()', async () => {
    const counts: number[] = [];
    const reports: Array<[string, ProcessDelta]> = [];
    const m = await open({
      observer: {
        onActiveCount: (n) => counts.push(n),
        onProcessed: (name, delta, seconds) => {
          expect(seconds).toBeGreaterThanOrEqual(0);
          reports.push([name, delta]);
          if (name === 'explodes') throw new Error('observer failure');
        },
      },
    });
    await m.create({ ...countAll, name: 'on', operators: [{ type: 'filter', field: 'ok', op: 'eq', value: true }] });
    await m.create({ ...countAll, name: 'off', enabled: false });
    await m.create({ ...countAll, name: 'explodes', source_event_types: ['x.y'] });
    expect(counts).toEqual([0, 1, 1, 2]);
    expect(() => m.process([ev('a.b', { ok: true }), ev('a.b', { ok: false }), ev('x.y', {})])).not.toThrow();
    expect(reports).toEqual([
      ['on', { received: 3, processed: 1, filtered: 2, failed: 0 }],
      ['explodes', { received: 1, processed: 1, filtered: 0, failed: 0 }],
    ]);
    expect(m.allStats().map((s) => [s.name, s.events_processed])).toEqual([['on', 1], ['off', 0], ['explodes', 1]]);
  });

  it('keeps entity states for enrich only while an active pipeline reads them', async () => {
    const cache = new EntityStateCache({ maxEntries: 100, maxBytes: 1 << 20, maxPendingLoads: 4, load: async () => undefined, versionOf: () => 0 });
    const m = await open({
      entityCache: cache,
      pipeline: { ...TEST_PIPELINE_OPTIONS, entityState: (id) => cache.get(id), onEntityMiss: (id) => cache.warm(id) },
    });
    m.process([ev('customer.created', { tier: 'gold' }, { entity: 'c0' })]);
    expect(cache.size).toBe(0);
    await m.create({
      id: 'enrich',
      name: 'enrich',
      source_event_types: ['order.placed'],
      operators: [
        { type: 'enrich', source: 'entity:customer', fields: ['tier'] },
        { type: 'reduce', function: 'count', group_by: 'tier' },
      ],
    });
    m.process([ev('customer.created', { tier: 'gold' }, { entity: 'c1' })]);
    m.process([ev('order.placed', { customer: 'c1' }, { entity: 'o1' }), ev('order.placed', { customer: 'c0' }, { entity: 'o2' })]);
    const reduce = (m.results('enrich') as { operators: Array<{ groups?: unknown }> }).operators[1]!;
    expect(reduce.groups).toEqual([
      { group: null, count: 1, value: 1 },
      { group: 'gold', count: 1, value: 1 },
    ]);
    await m.delete('enrich');
    expect(cache.size).toBe(0);
  });
});
