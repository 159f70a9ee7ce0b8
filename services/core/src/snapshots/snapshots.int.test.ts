/**
 * Snapshots through real sockets: manual and automatic (every N events, and by age), listing,
 * latest with state, caps, errors, metrics, and survival across a restart on the same data dir.
 */
import { readdir, readFile, writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import type { CreateSnapshotResponse, LatestSnapshotResponse, ListSnapshotsResponse, RawResponse } from '@allsource/client';
import { AllSourceClient } from '@allsource/client';
import pino from 'pino';
import { startCore, type CoreInstance } from '../app/createCore';
import { loadConfig } from '../config';
import { sumSamples } from '../testing/metricsText';
import { startTestCore, useTestCore, type TestCore } from '../testing/testCore';
import { sleep, waitFor as poll } from '../testing/wait';
import { snapshotFileName } from './snapshotFiles';

/** Poll `check` until it returns a value (fails after 15 s). */
const waitFor = <T>(what: string, check: () => Promise<T | undefined>): Promise<T> => poll(what, check, 15_000);

/** Sum of the samples of `name` whose labels include `labels`, from /metrics text. */
const metric = async (client: AllSourceClient, name: string, labels: Record<string, string> = {}): Promise<number> => sumSamples(await client.metricsText(), name, labels);

function expectError(res: RawResponse<unknown>, status: number, code: string): void {
  expect({ status: res.status, code: (res.data as { code?: string }).code }).toEqual({ status, code });
}

/** Payload i of the test entities, and the state after the first n of them. */
const payload = (i: number) => ({ i, [`k${i % 3}`]: i, ...(i % 4 === 0 ? { [`only${i}`]: [i] } : {}) });
function stateAfter(n: number): Record<string, unknown> {
  const state: Record<string, unknown> = {};
  for (let i = 1; i <= n; i++) Object.assign(state, payload(i));
  return state;
}

async function ingestN(client: AllSourceClient, entity: string, from: number, to: number): Promise<string[]> {
  const stamps: string[] = [];
  for (let i = from; i <= to; i++) stamps.push((await client.ingest({ event_type: 'acct.changed', entity_id: entity, payload: payload(i) })).timestamp);
  return stamps;
}

describe('snapshots API', () => {
  const t = useTestCore({ SNAPSHOT_EVERY_EVENTS: '5', SNAPSHOT_MAX_PER_ENTITY: '3', SNAPSHOT_MAX_AGE_MS: '0' });

  it('creates a manual snapshot of the current state and serves it as the latest', async () => {
    const entity = 'user/ü 1';
    const stamps = await ingestN(t.client, entity, 1, 3);
    const before = await metric(t.client, 'allsource_snapshots_created_total', { snapshot_type: 'manual' });
    const created = await t.client.snapshots.create(entity);
    expect(created).toEqual<CreateSnapshotResponse & { snapshot_type: string }>({
      snapshot_id: expect.stringMatching(/^[0-9a-f-]{36}$/) as unknown as string,
      entity_id: entity,
      created_at: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/) as unknown as string,
      as_of: stamps[2]!,
      event_count: 3,
      size_bytes: Buffer.byteLength(JSON.stringify(stateAfter(3))),
      snapshot_type: 'manual',
    });
    const latest = await t.client.snapshots.latest(entity);
    expect(latest).toEqual<LatestSnapshotResponse>({
      id: created.snapshot_id,
      entity_id: entity,
      created_at: created.created_at,
      as_of: created.as_of,
      event_count: 3,
      size_bytes: created.size_bytes,
      snapshot_type: 'manual',
      state: stateAfter(3) as LatestSnapshotResponse['state'],
    });
    const list = await t.client.snapshots.list({ entity_id: entity });
    expect(list.total).toBe(1);
    expect(list.snapshots[0]).toEqual({ ...latest, state: undefined });
    expect(await metric(t.client, 'allsource_snapshots_created_total', { snapshot_type: 'manual' })).toBe(before + 1);
    expect(await metric(t.client, 'allsource_snapshot_creation_duration_seconds_count')).toBeGreaterThanOrEqual(1);

    // The entity state is unchanged by the snapshot, also with events after it.
    await ingestN(t.client, entity, 4, 4);
    const state = await t.client.entityState(entity);
    expect(state.current_state).toEqual(stateAfter(4));
    expect(state.event_count).toBe(4);
    expect(state.history).toHaveLength(4);
    const mid = await t.client.entityState(entity, { as_of: stamps[1]! });
    expect(mid.current_state).toEqual(stateAfter(2));
  });

  it('takes automatic snapshots every N events, off the ingest path', async () => {
    const entity = 'auto-1';
    // One batch crosses versions 5 and 10: the entity is queued once and snapshotted at 10.
    const batch = await t.client.ingestBatch(
      Array.from({ length: 10 }, (_, i) => ({ event_type: 'acct.changed', entity_id: entity, payload: payload(i + 1) })),
    );
    const auto = await waitFor('an automatic snapshot', async () => {
      const list = await t.client.snapshots.list({ entity_id: entity });
      return list.snapshots.find((s) => s.snapshot_type === 'automatic');
    });
    expect(auto).toMatchObject({ entity_id: entity, event_count: 10, as_of: batch.events[9]!.timestamp });
    await waitFor('the automatic snapshot to be counted', async () =>
      (await metric(t.client, 'allsource_snapshots_created_total', { snapshot_type: 'automatic' })) === 1 ? true : undefined,
    );
    // Versions 11 and 12 cross no multiple of 5.
    await ingestN(t.client, entity, 11, 12);
    const list = await t.client.snapshots.list({ entity_id: entity });
    expect(list.snapshots.map((s) => [s.event_count, s.snapshot_type])).toEqual([[10, 'automatic']]);
    const latest = await t.client.snapshots.latest(entity);
    expect(latest.state).toEqual(stateAfter(10));
    // The state starts from the snapshot and still counts and lists every event.
    const state = await t.client.entityState(entity);
    expect(state).toMatchObject({ event_count: 12, current_state: stateAfter(12) });
    expect(state.history.map((h) => h.payload)).toEqual(Array.from({ length: 12 }, (_, i) => payload(i + 1)));
    const atSnapshot = await t.client.entityState(entity, { as_of: auto.as_of });
    expect(atSnapshot).toMatchObject({ event_count: 10, current_state: stateAfter(10) });
    expect(atSnapshot.history).toHaveLength(10);
  });

  it('keeps at most SNAPSHOT_MAX_PER_ENTITY per entity, dropping the oldest', async () => {
    const entity = 'capped';
    for (let i = 1; i <= 4; i++) {
      await ingestN(t.client, entity, i, i);
      await t.client.snapshots.create({ entity_id: entity });
    }
    const list = await t.client.snapshots.list({ entity_id: entity });
    expect(list.total).toBe(3);
    expect(list.snapshots.map((s) => [s.event_count, s.snapshot_type])).toEqual([
      [4, 'manual'],
      [3, 'manual'],
      [2, 'manual'],
    ]);
  });

  it('lists every snapshot, newest first, in pages; the gauge agrees', async () => {
    const all = await t.client.snapshots.list();
    expect(all.total).toBeGreaterThanOrEqual(5);
    expect(all.snapshots).toHaveLength(all.total);
    const created = all.snapshots.map((s) => s.created_at);
    expect([...created].sort().reverse()).toEqual(created);
    const page = await t.client.raw<ListSnapshotsResponse>('GET', '/api/v1/snapshots', { params: { limit: 2, offset: 1 } });
    expect(page.status).toBe(200);
    expect(page.data.total).toBe(all.total);
    expect(page.data.snapshots.map((s) => s.id)).toEqual(all.snapshots.slice(1, 3).map((s) => s.id));
    expect(await metric(t.client, 'allsource_snapshots_total')).toBe(all.total);
    expect(await t.client.snapshots.list({ entity_id: 'nobody' })).toEqual({ snapshots: [], total: 0 });
  });

  it('answers 404 for unknown entities and 400/413/415 for bad requests', async () => {
    const post = (body: unknown, headers?: Record<string, string>) =>
      t.client.raw('POST', '/api/v1/snapshots', { body: body as string, ...(headers ? { headers } : {}) });
    expectError(await post({ entity_id: 'nobody' }), 404, 'ENTITY_NOT_FOUND');
    expectError(await post({}), 400, 'INVALID_INPUT');
    expectError(await post({ entity_id: 5 }), 400, 'INVALID_INPUT');
    expectError(await post({ entity_id: '' }), 400, 'INVALID_INPUT');
    expectError(await post([1]), 400, 'INVALID_INPUT');
    expectError(await post('{"entity_id":', { 'Content-Type': 'application/json' }), 400, 'INVALID_JSON');
    expectError(await post('entity_id=x', { 'Content-Type': 'text/plain' }), 415, 'UNSUPPORTED_MEDIA_TYPE');
    expectError(await t.client.raw('GET', '/api/v1/snapshots/nobody/latest'), 404, 'NOT_FOUND');
    expectError(await t.client.raw('GET', '/api/v1/snapshots', { params: { limit: 0 } }), 400, 'INVALID_QUERY');
    const bad = await t.client.raw('GET', '/api/v1/snapshots', { params: { offset: -1 } });
    expectError(bad, 400, 'INVALID_QUERY');
    expect((bad.data as { error: string }).error.startsWith('Invalid query: ')).toBe(true);
  });
});

describe('automatic snapshots by age', () => {
  const t = useTestCore({ SNAPSHOT_EVERY_EVENTS: '0', SNAPSHOT_MAX_AGE_MS: '1' });

  it('snapshots an entity whose latest snapshot is older than SNAPSHOT_MAX_AGE_MS when an event arrives', async () => {
    await ingestN(t.client, 'never-snapshotted', 1, 3);
    await ingestN(t.client, 'aged', 1, 2);
    await t.client.snapshots.create('aged');
    await sleep(5); // older than 1 ms
    await ingestN(t.client, 'aged', 3, 3);
    const auto = await waitFor('an automatic snapshot by age', async () => {
      const list = await t.client.snapshots.list({ entity_id: 'aged' });
      return list.snapshots.find((s) => s.snapshot_type === 'automatic');
    });
    expect(auto.event_count).toBe(3);
    expect((await t.client.snapshots.latest('aged')).state).toEqual(stateAfter(3));
    // The age rule applies to entities that have a snapshot; the count rule is off.
    expect((await t.client.snapshots.list({ entity_id: 'never-snapshotted' })).total).toBe(0);
    // Counted once durable, which may be just after it is listed.
    await waitFor('the automatic snapshot to be counted', async () =>
      (await metric(t.client, 'allsource_snapshots_created_total', { snapshot_type: 'automatic' })) === 1 ? true : undefined,
    );
  });
});

describe('snapshots across a restart', () => {
  let t: TestCore;
  let second: CoreInstance | undefined;
  afterAll(async () => {
    await second?.close();
    await t.stop();
  });

  it('loads the snapshots saved before, drops one that no longer matches the store, and folds from them', async () => {
    t = await startTestCore({ SNAPSHOT_EVERY_EVENTS: '4' });
    await ingestN(t.client, 'keep', 1, 6);
    await waitFor('an automatic snapshot', async () => ((await t.client.snapshots.list({ entity_id: 'keep' })).total > 0 ? true : undefined));
    await t.client.snapshots.create('keep');
    await ingestN(t.client, 'keep', 7, 7);
    await ingestN(t.client, 'tampered', 1, 2);
    await t.client.snapshots.create('tampered');
    const before = await t.client.snapshots.list();
    const stateBefore = await t.client.entityState('keep');
    await t.core.close();

    const dir = path.join(t.dataDir, 'snapshots');
    expect((await readdir(dir)).sort()).toEqual([snapshotFileName('keep'), snapshotFileName('tampered')].sort());
    // Make the 'tampered' snapshot claim an event the store does not have there.
    const file = path.join(dir, snapshotFileName('tampered'));
    await writeFile(file, (await readFile(file, 'utf8')).replace(/"last_event_id":"[^"]+"/, '"last_event_id":"00000000-0000-4000-8000-000000000000"'));

    second = await startCore(loadConfig({ DATA_DIR: t.dataDir, PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'silent', SNAPSHOT_EVERY_EVENTS: '4' }), {
      logger: pino({ level: 'silent' }),
    });
    const client = new AllSourceClient({ baseUrl: `http://127.0.0.1:${second.port}` });
    const after = await client.snapshots.list();
    expect(after.snapshots).toEqual(before.snapshots.filter((s) => s.entity_id !== 'tampered'));
    expect(after.snapshots.map((s) => s.snapshot_type).sort()).toEqual(['automatic', 'manual']);
    expect((await client.snapshots.latest('keep')).state).toEqual(stateAfter(6));
    expect(await client.entityState('keep')).toEqual(stateBefore);
    expectError(await client.raw('GET', '/api/v1/snapshots/tampered/latest'), 404, 'NOT_FOUND');
    expect(await metric(client, 'allsource_snapshots_total')).toBe(after.total);
    // The stale entity's file is rewritten without it (removed: nothing is left).
    await waitFor('the stale file to go', async () => ((await readdir(dir)).includes(snapshotFileName('tampered')) ? undefined : true));
  });
});
