import { readdir, readFile, writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import { AllSourceError } from '@allsource/errors';
import type { NewEvent } from '../events/storedEvent';
import { nodeFileSystem, type FileSystem } from '../storage/fs/fileSystem';
import { makeTempDir, removeDir } from '../testing/tempDirs';
import { SchemaRegistry, type SchemaRegistryLimits, type SchemaRegistryOptions } from './schemaRegistry';

const LIMITS: SchemaRegistryLimits = {
  maxSubjects: 100,
  maxVersionsPerSubject: 100,
  maxSchemaBytes: 64 * 1024,
  maxTotalBytes: 1024 * 1024,
  validatorCacheEntries: 100,
  maxPendingWrites: 100,
  maxErrors: 100,
};

const userV1 = { type: 'object', properties: { name: { type: 'string' } }, required: ['name'] };
const userV2 = { type: 'object', properties: { name: { type: 'string' }, age: { type: 'integer' } }, required: ['name'] };

let dir: string;
beforeEach(async () => {
  dir = await makeTempDir('allsource-schemas-');
});
afterEach(() => removeDir(dir));

function open(overrides: Partial<SchemaRegistryOptions> = {}, limits: Partial<SchemaRegistryLimits> = {}): Promise<SchemaRegistry> {
  return SchemaRegistry.open({ dir, enforcement: 'off', limits: { ...LIMITS, ...limits }, ...overrides });
}

async function codeOf(p: Promise<unknown> | (() => unknown)): Promise<string> {
  try {
    await (typeof p === 'function' ? p() : p);
  } catch (err) {
    if (err instanceof AllSourceError) return err.code;
    throw err;
  }
  throw new Error('expected an AllSourceError');
}

const event = (eventType: string, payload: unknown): NewEvent => ({
  eventType,
  entityId: 'e1',
  tenantId: 'default',
  payloadJson: JSON.stringify(payload),
  metadataJson: null,
});

describe('SchemaRegistry', () => {
  it('versions a subject from 1 and keeps everything across a reopen', async () => {
    const r = await open();
    const a = await r.register({ subject: 'user.created', schema: userV1, description: 'first', tags: ['users'] });
    const b = await r.register({ subject: 'user.created', schema: userV2 });
    expect([a.record.version, b.record.version]).toEqual([1, 2]);
    await r.setCompatibility('user.created', 'FULL');
    await r.setEnforcement('user.created', true);
    await r.close();

    const again = await open();
    expect(again.subjectNames()).toEqual(['user.created']);
    expect(again.versions('user.created')).toEqual([1, 2]);
    const v1 = again.get('user.created', 1);
    expect(v1).toMatchObject({ id: a.record.id, schema: userV1, description: 'first', tags: ['users'], createdAt: a.record.createdAt });
    expect(again.get('user.created').version).toBe(2);
    expect(again.settings('user.created')).toEqual({ compatibility: 'FULL', enforce: true, enforced: true });
    expect(again.enforcing).toBe(true);
    expect((await again.register({ subject: 'user.created', schema: { ...userV2, description: 'x' } })).record.version).toBe(3);
  });

  it('registering the latest schema again returns it instead of a new version', async () => {
    const r = await open();
    await r.register({ subject: 'a.b', schema: userV1 });
    const same = await r.register({ subject: 'a.b', schema: JSON.parse(JSON.stringify(userV1)) });
    expect(same).toMatchObject({ created: false, record: { version: 1 } });
    expect(r.versions('a.b')).toEqual([1]);
  });

  it('refuses incompatible versions with the problems in the details, and accepts them under NONE', async () => {
    const r = await open();
    await r.register({ subject: 'a.b', schema: userV1 });
    const breaking = { ...userV1, properties: { name: { type: 'integer' } } };
    let error: AllSourceError | undefined;
    await r.register({ subject: 'a.b', schema: breaking }).catch((e: AllSourceError) => (error = e));
    expect(error?.code).toBe('CONFLICT');
    expect(error?.message).toMatch(/not BACKWARD compatible with version 1 of 'a.b': BACKWARD: \$\.name:/);
    expect(error?.details).toMatchObject({ compatibility: 'BACKWARD', previous_version: 1, problems: [expect.stringMatching(/name/)] });
    await r.setCompatibility('a.b', 'NONE');
    expect((await r.register({ subject: 'a.b', schema: breaking })).record.version).toBe(2);
  });

  it('refuses bad input with the right codes', async () => {
    const r = await open({}, { maxSchemaBytes: 200 });
    expect(await codeOf(r.register({ subject: 'Bad Subject', schema: {} }))).toBe('INVALID_INPUT');
    expect(await codeOf(r.register({ subject: 'a.b', schema: { type: 'nope' } }))).toBe('INVALID_INPUT');
    expect(await codeOf(r.register({ subject: 'a.b', schema: undefined }))).toBe('INVALID_INPUT');
    expect(await codeOf(r.register({ subject: 'a.b', schema: { description: 'x'.repeat(300) } }))).toBe('PAYLOAD_TOO_LARGE');
    expect(await codeOf(() => r.get('nope'))).toBe('NOT_FOUND');
    await r.register({ subject: 'a.b', schema: {} });
    expect(await codeOf(() => r.get('a.b', 2))).toBe('NOT_FOUND');
    expect(await codeOf(r.setCompatibility('nope', 'FULL'))).toBe('NOT_FOUND');
    expect(await codeOf(r.setEnforcement('nope', true))).toBe('NOT_FOUND');
    expect(await codeOf(() => r.validate('nope', {}))).toBe('NOT_FOUND');
    expect(r.subjectNames()).toEqual(['a.b']);
  });

  it('keeps to its limits: subjects, versions per subject, total bytes', async () => {
    const r = await open({}, { maxSubjects: 2, maxVersionsPerSubject: 2, maxTotalBytes: 2000 });
    await r.register({ subject: 's1', schema: {} });
    await r.register({ subject: 's2', schema: {} });
    expect(await codeOf(r.register({ subject: 's3', schema: {} }))).toBe('INVALID_INPUT');
    await r.register({ subject: 's1', schema: { title: 'two' } });
    expect(await codeOf(r.register({ subject: 's1', schema: { title: 'three' } }))).toBe('INVALID_INPUT');
    expect(await codeOf(r.register({ subject: 's2', schema: { title: 'x'.repeat(1990) } }))).toBe('INVALID_INPUT');
    expect(r.versions('s1')).toEqual([1, 2]);
    expect(r.subjectNames()).toEqual(['s1', 's2']);
  });

  it('keeps at most validatorCacheEntries compiled validators and recompiles evicted ones', async () => {
    const r = await open({}, { validatorCacheEntries: 2 });
    for (const s of ['a', 'b', 'c']) await r.register({ subject: s, schema: { type: 'string' } });
    expect(r.cachedValidators).toBe(2);
    expect(r.validate('a', 'x').valid).toBe(true);
    expect(r.validate('a', 1).valid).toBe(false);
    expect(r.cachedValidators).toBe(2);
  });

  it('serializes concurrent registrations: one version each, no number twice', async () => {
    const r = await open({}, { maxVersionsPerSubject: 100 });
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) => r.register({ subject: 'c.d', schema: { title: `v${i}` } })),
    );
    expect(results.map((x) => x.record.version).sort((a, b) => a - b)).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
    const files = (await readdir(path.join(dir, 'c.d'))).filter((f) => f.startsWith('v'));
    expect(files).toHaveLength(20);
  });

  it('a failed disk write answers 503 and leaves the registry as it was', async () => {
    let fail = false;
    const fs: FileSystem = {
      ...nodeFileSystem,
      writeFileAtomic: (file, data) => (fail ? Promise.reject(new Error('ENOSPC: no space left on device')) : nodeFileSystem.writeFileAtomic(file, data)),
    };
    const registered: number[] = [];
    const r = await open({ fs, observer: { onRegistered: (_s, v) => registered.push(v) } });
    await r.register({ subject: 'a.b', schema: userV1 });
    fail = true;
    expect(await codeOf(r.register({ subject: 'a.b', schema: userV2 }))).toBe('STORAGE_UNAVAILABLE');
    expect(await codeOf(r.register({ subject: 'new.one', schema: userV1 }))).toBe('STORAGE_UNAVAILABLE');
    expect(await codeOf(r.setCompatibility('a.b', 'NONE'))).toBe('STORAGE_UNAVAILABLE');
    expect(r.versions('a.b')).toEqual([1]);
    expect(r.subjectNames()).toEqual(['a.b']);
    expect(r.settings('a.b').compatibility).toBe('BACKWARD');
    fail = false;
    expect((await r.register({ subject: 'a.b', schema: userV2 })).record.version).toBe(2);
    expect(registered).toEqual([1, 2]);
  });

  it('bounds the writes waiting for their turn (503 past the limit)', async () => {
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const fs: FileSystem = { ...nodeFileSystem, writeFileAtomic: async (f, d) => { await gate; await nodeFileSystem.writeFileAtomic(f, d); } };
    const r = await open({ fs }, { maxPendingWrites: 2 });
    const first = r.register({ subject: 'a', schema: {} });
    const second = r.register({ subject: 'b', schema: {} });
    expect(await codeOf(r.register({ subject: 'c', schema: {} }))).toBe('OVERLOADED');
    release();
    await Promise.all([first, second]);
    expect(r.subjectNames()).toEqual(['a', 'b']);
  });

  it('on load: removes temp files of crashed writes, skips unreadable versions without reusing their numbers', async () => {
    const r = await open();
    await r.register({ subject: 'a.b', schema: userV1 });
    await r.register({ subject: 'a.b', schema: userV2 });
    await r.register({ subject: 'x.y', schema: {} });
    await r.close();
    await writeFile(path.join(dir, 'a.b', 'v000003.json.123.1.tmp'), '{"half');
    await writeFile(path.join(dir, 'a.b', 'v000002.json'), '{"torn');
    await writeFile(path.join(dir, 'x.y', 'v000001.json'), 'garbage');
    await writeFile(path.join(dir, 'README'), 'not a subject');

    const again = await open();
    expect(await readdir(path.join(dir, 'a.b'))).not.toContain('v000003.json.123.1.tmp');
    expect(again.versions('a.b')).toEqual([1]);
    expect(again.subjectNames()).toEqual(['a.b']);
    expect((await again.register({ subject: 'a.b', schema: { ...userV2, title: 'again' } })).record.version).toBe(3);
    expect((await again.register({ subject: 'x.y', schema: { title: 'again' } })).record.version).toBe(2);
    const stored = JSON.parse(await readFile(path.join(dir, 'a.b', 'v000003.json'), 'utf8'));
    expect(stored).toMatchObject({ subject: 'a.b', version: 3, schema: { title: 'again' } });
  });

  it('validates payloads and reports each validation to the observer', async () => {
    const seen: Array<[string, boolean]> = [];
    const r = await open({ observer: { onValidation: (s, valid, seconds) => { expect(seconds).toBeGreaterThanOrEqual(0); seen.push([s, valid]); } } });
    await r.register({ subject: 'a.b', schema: userV1 });
    await r.register({ subject: 'a.b', schema: userV2 });
    expect(r.validate('a.b', { name: 'x', age: 1 })).toEqual({ valid: true, version: 2, violations: [] });
    const bad = r.validate('a.b', { name: 'x', age: 'old' });
    expect(bad).toMatchObject({ valid: false, version: 2, violations: [{ instance_path: '/age', keyword: 'type', message: 'must be integer' }] });
    expect(r.validate('a.b', { name: 'x', age: 'old' }, 1).valid).toBe(true);
    expect(seen).toEqual([['a.b', true], ['a.b', false], ['a.b', true]]);
  });

  it('enforces on ingest only what is switched on, naming the failing index', async () => {
    const r = await open();
    await r.register({ subject: 'a.b', schema: userV1 });
    expect(r.enforcing).toBe(false);
    expect(() => r.validateEvents([event('a.b', {})])).not.toThrow();
    await r.setEnforcement('a.b', true);
    expect(r.enforcing).toBe(true);
    expect(() => r.validateEvents([event('a.b', { name: 'ok' }), event('other.type', 42)])).not.toThrow();
    let error: AllSourceError | undefined;
    try {
      r.validateEvents([event('a.b', { name: 'ok' }), event('a.b', { name: 5 })]);
    } catch (e) {
      error = e as AllSourceError;
    }
    expect(error?.code).toBe('VALIDATION_FAILED');
    expect(error?.message).toMatch(/^events\[1\]: payload does not match schema 'a.b' version 1: \/name must be string/);
    expect(error?.details).toMatchObject({ index: 1, event_type: 'a.b', schema_version: 1, errors: [{ instance_path: '/name' }] });
    await r.setEnforcement('a.b', false);
    expect(r.enforcing).toBe(false);
  });

  it('global enforcement applies to every subject that has a schema', async () => {
    const r = await open({ enforcement: 'all' });
    expect(r.enforcing).toBe(false);
    await r.register({ subject: 'a.b', schema: userV1 });
    expect(r.enforcing).toBe(true);
    expect(r.settings('a.b')).toEqual({ compatibility: 'BACKWARD', enforce: false, enforced: true });
    expect(() => r.validateEvents([event('a.b', {})])).toThrow(/payload does not match schema 'a.b' version 1: \(root\) must have required property 'name'/);
  });
});
