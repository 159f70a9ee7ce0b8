/**
 * Resource attacks: floods that must meet a bound and a clear error, never a crash or a 5xx
 * other than the documented 503.
 *
 * - 1000 WebSocket connections (WS_MAX_CONNECTIONS default) are served; the ones above are
 *   refused with 503 OVERLOADED (JSON); every accepted client gets the live events.
 * - Slow readers (clients that stop reading) are closed with 1013 and a reason while the
 *   reading clients get everything.
 * - A flood of replays: never more than REPLAY_MAX_CONCURRENT running, the rest 429 (or 409
 *   for a projection already being rebuilt).
 * - A flood of pipeline creations: exactly PIPELINE_MAX created, the rest 429.
 */
import type { IngestEventRequest } from '@allsource/client';
import WebSocket from 'ws';
import { defineProjection } from '../projections/defineProjection';
import { sumSamples } from '../testing/metricsText';
import { orderSensitiveFold } from '../testing/projections';
import { startTestCore, type TestCore } from '../testing/testCore';
import { waitFor } from '../testing/wait';

async function metric(t: TestCore, name: string): Promise<number> {
  const res = await t.client.raw('GET', '/metrics', { headers: { Accept: 'text/plain' } });
  expect(res.status).toBe(200);
  return sumSamples(res.text, name);
}

interface Client {
  ws: WebSocket;
  frames: number;
  closed?: { code: number; reason: string };
  closedPromise: Promise<{ code: number; reason: string }>;
}

/** Opens a WebSocket; resolves with the client, or with the refusal's status and JSON body. */
function open(url: string): Promise<Client | { status: number; body: { error?: string; code?: string } }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url);
    const client: Client = {
      ws,
      frames: 0,
      closedPromise: new Promise((done) =>
        ws.on('close', (code: number, reason: Buffer) => {
          client.closed = { code, reason: reason.toString('utf8') };
          done(client.closed);
        }),
      ),
    };
    ws.on('message', () => client.frames++);
    ws.on('error', () => undefined);
    ws.once('open', () => resolve(client));
    ws.once('unexpected-response', (_req, res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (text += c));
      res.on('end', () => {
        try {
          resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) as { error?: string; code?: string } });
        } catch {
          resolve({ status: res.statusCode ?? 0, body: {} });
        }
      });
    });
    setTimeout(() => reject(new Error('no answer to the upgrade within 20 s')), 20_000).unref();
  });
}

const isClient = (c: Client | { status: number }): c is Client => 'ws' in c;
const ev = (entity_id: string, payload: IngestEventRequest['payload'] = { n: 1 }): IngestEventRequest => ({ entity_id, event_type: 'attack.test', payload });

describe('WebSocket connection flood', () => {
  let t: TestCore;
  const clients: Client[] = [];
  afterAll(async () => {
    for (const c of clients) c.ws.terminate();
    await t?.stop();
  });

  it('serves 1000 connections (the default limit), refuses the next ones with 503 OVERLOADED, and recovers', async () => {
    t = await startTestCore({ WAL_SYNC_MODE: 'none' });
    expect(t.core.config.wsMaxConnections).toBe(1000);
    const url = `${t.baseUrl.replace(/^http/, 'ws')}/api/v1/events/stream`;
    for (let round = 0; round < 10; round++) {
      const opened = await Promise.all(Array.from({ length: 100 }, () => open(url)));
      for (const c of opened) {
        if (!isClient(c)) throw new Error(`connection ${clients.length} refused: ${JSON.stringify(c)}`);
        clients.push(c);
      }
    }
    expect(await metric(t, 'allsource_websocket_connections_active')).toBe(1000);

    const extra = await Promise.all(Array.from({ length: 10 }, () => open(url)));
    for (const c of extra) {
      expect(isClient(c)).toBe(false);
      if (!isClient(c)) expect(c).toEqual({ status: 503, body: { code: 'OVERLOADED', error: expect.stringMatching(/^Overloaded: too many WebSocket connections \(limit 1000\)/) } });
    }
    // The HTTP API answers meanwhile, and every accepted client gets the live events.
    expect((await t.client.raw('GET', '/health')).status).toBe(200);
    await t.client.ingestBatch([ev('ws-flood-1'), ev('ws-flood-2')]);
    await waitFor('every client to get both events', () => clients.every((c) => c.frames >= 2), 30_000);

    // Closing some frees their slots.
    for (const c of clients.splice(0, 50)) c.ws.close(1000);
    await waitFor('slots to free up', async () => (await metric(t, 'allsource_websocket_connections_active')) === 950, 20_000);
    const again = await open(url);
    expect(isClient(again)).toBe(true);
    if (isClient(again)) clients.push(again);
  });
});

describe('slow WebSocket readers', () => {
  let t: TestCore;
  afterAll(() => t?.stop());

  it('closes every client that stops reading with 1013 and a reason, while reading clients get everything', async () => {
    t = await startTestCore({ WS_MAX_BUFFERED_BYTES: '16384', WAL_SYNC_MODE: 'none' });
    const url = `${t.baseUrl.replace(/^http/, 'ws')}/api/v1/events/stream`;
    const slow = (await Promise.all(Array.from({ length: 8 }, () => open(url)))) as Client[];
    const fast = (await Promise.all(Array.from({ length: 4 }, () => open(url)))) as Client[];
    for (const c of slow) c.ws.pause();
    const errorsBefore = await metric(t, 'allsource_websocket_errors_total');
    const blob = 'x'.repeat(16 * 1024);
    let sent = 0;
    // 1 MiB per batch until the server has given up on every slow client (bounded).
    for (let i = 0; ; i++) {
      if (i >= 300) throw new Error('the slow readers were never all closed');
      const res = await t.client.ingestBatch(Array.from({ length: 64 }, (_, j) => ev(`slow-${i}`, { j, blob })));
      sent += res.events.length;
      await waitFor('the fast clients to keep up', () => fast.every((c) => c.frames >= sent), 30_000);
      if ((await metric(t, 'allsource_websocket_errors_total')) >= errorsBefore + slow.length) break;
    }
    for (const c of slow) c.ws.resume();
    const closes = await Promise.all(slow.map((c) => c.closedPromise));
    for (const closed of closes) {
      expect(closed.code).toBe(1013);
      expect(closed.reason).toMatch(/^slow consumer: more than 16384 bytes waiting to be sent/);
    }
    expect(fast.every((c) => c.closed === undefined && c.frames === sent)).toBe(true);
    await waitFor('only the fast clients left', async () => (await metric(t, 'allsource_websocket_connections_active')) === fast.length);
    for (const c of fast) c.ws.close(1000);
    await Promise.all(fast.map((c) => c.closedPromise));
  });
});

describe('replay and pipeline floods', () => {
  const names = Array.from({ length: 8 }, (_, i) => `flood_${i}`);
  let t: TestCore;
  beforeAll(async () => {
    t = await startTestCore(
      { REPLAY_MAX_CONCURRENT: '4', PIPELINE_MAX: '10', WAL_SYNC_MODE: 'none', FLUSH_MAX_EVENTS: '5000' },
      { extraProjections: names.map((n) => defineProjection(orderSensitiveFold(n, () => 1))) },
    );
    for (let b = 0; b < 20; b++) {
      await t.client.ingestBatch(Array.from({ length: 1000 }, (_, i) => ev(`replay-${i % 50}`, { b, i })));
    }
  });
  afterAll(() => t?.stop());

  it('never runs more than REPLAY_MAX_CONCURRENT replays: the rest get 429 (or 409 for a projection being rebuilt), never 5xx', async () => {
    const projections = [...names, 'event_counters', 'entity_snapshots'];
    let maxRunning = 0;
    let polling = true;
    const poller = (async () => {
      for (let i = 0; i < 10_000 && polling; i++) {
        const list = await t.client.raw<{ replays: Array<{ status: string }> }>('GET', '/api/v1/replay');
        maxRunning = Math.max(maxRunning, list.data.replays.filter((r) => r.status === 'running' || r.status === 'pending').length);
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
    })();
    const statuses = new Map<number, number>();
    const bad: string[] = [];
    for (let wave = 0; wave < 3; wave++) {
      const answers = await Promise.all(
        Array.from({ length: 60 }, (_, i) =>
          t.client.raw<{ code?: string; error?: string }>('POST', '/api/v1/replay', { body: { projection_name: projections[i % projections.length], config: { batch_size: 1 } } }),
        ),
      );
      for (const a of answers) {
        statuses.set(a.status, (statuses.get(a.status) ?? 0) + 1);
        if (a.status === 429 && !(a.data.code === 'RATE_LIMITED' && /REPLAY_MAX_CONCURRENT=4/.test(a.data.error ?? ''))) bad.push(JSON.stringify(a.data));
        if (a.status === 409 && a.data.code !== 'CONFLICT') bad.push(JSON.stringify(a.data));
        if (![200, 409, 429].includes(a.status)) bad.push(`${a.status} ${a.text}`);
      }
    }
    expect(bad).toEqual([]);
    expect(statuses.get(429)).toBeGreaterThan(0);
    expect(statuses.get(200)).toBeGreaterThan(0);
    await waitFor(
      'every replay to finish',
      async () => {
        const list = await t.client.raw<{ replays: Array<{ status: string }> }>('GET', '/api/v1/replay');
        return list.data.replays.every((r) => !['running', 'pending'].includes(r.status));
      },
      60_000,
    );
    polling = false;
    await poller;
    expect(maxRunning).toBeLessThanOrEqual(4);
    expect((await t.client.raw('GET', '/health')).status).toBe(200);
  });

  it('creates exactly PIPELINE_MAX pipelines out of a concurrent flood, the rest 429, and takes new ones once some are deleted', async () => {
    const answers = await Promise.all(
      Array.from({ length: 60 }, (_, i) =>
        t.client.raw<{ pipeline_id?: string; code?: string; error?: string }>('POST', '/api/v1/pipelines', {
          body: { name: `flood-${i}`, source_event_types: ['attack.test'], operators: [{ type: 'reduce', field: 'n', function: 'count' }], enabled: true },
        }),
      ),
    );
    const created = answers.filter((a) => a.status === 200);
    const limited = answers.filter((a) => a.status === 429);
    expect(created).toHaveLength(10);
    expect(limited).toHaveLength(50);
    for (const a of limited) expect(a.data).toEqual({ code: 'RATE_LIMITED', error: expect.stringMatching(/^Too many requests: /) });
    const list = await t.client.raw<{ pipelines: unknown[] }>('GET', '/api/v1/pipelines');
    expect(list.data.pipelines).toHaveLength(10);

    // The registered pipelines all run on new events.
    await t.client.ingest(ev('pipe-1', { n: 1 }));
    for (const a of created.slice(0, 3)) {
      const stats = await t.client.raw<{ events_processed: number }>('GET', `/api/v1/pipelines/${a.data.pipeline_id}/stats`);
      expect(stats.data.events_processed).toBeGreaterThanOrEqual(1);
    }
    expect((await t.client.raw('DELETE', `/api/v1/pipelines/${created[0]!.data.pipeline_id}`)).status).toBeLessThan(300);
    const next = await t.client.raw('POST', '/api/v1/pipelines', {
      body: { name: 'after-delete', source_event_types: ['attack.test'], operators: [{ type: 'reduce', field: 'n', function: 'count' }], enabled: true },
    });
    expect(next.status).toBe(200);
  });
});
