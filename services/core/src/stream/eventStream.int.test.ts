/**
 * Integration tests of the WebSocket live stream (GET /api/v1/events/stream) through real
 * sockets: delivery (single, batch, order, exact Event JSON), filters, invalid messages, limits,
 * the slow-consumer close, the heartbeat, shutdown, and the websocket metrics.
 */
import type { IngestEventRequest } from '@allsource/client';
import { WebSocket, type RawData } from 'ws';
import { startTestCore, useTestCore, type TestCore } from '../testing/testCore';
import { sleep, waitFor } from '../testing/wait';

interface Closed {
  code: number;
  reason: string;
}

/** A test client: every text frame it receives, in order, and how it closed. */
class StreamClient {
  readonly frames: string[] = [];
  readonly binaryFrames: Buffer[] = [];
  pings = 0;
  closed: Closed | undefined;
  readonly closedPromise: Promise<Closed>;

  constructor(readonly ws: WebSocket) {
    ws.on('message', (data: RawData, isBinary: boolean) => {
      const buf = Buffer.isBuffer(data) ? data : Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data);
      if (isBinary) this.binaryFrames.push(buf);
      else this.frames.push(buf.toString('utf8'));
    });
    ws.on('ping', () => this.pings++);
    ws.on('error', () => undefined);
    this.closedPromise = new Promise((resolve) =>
      ws.on('close', (code: number, reason: Buffer) => {
        this.closed = { code, reason: reason.toString('utf8') };
        resolve(this.closed);
      }),
    );
  }

  get parsed(): Array<Record<string, unknown>> {
    return this.frames.map((f) => JSON.parse(f) as Record<string, unknown>);
  }

  /** Event frames only (they have an `id`). */
  get events(): Array<Record<string, unknown>> {
    return this.parsed.filter((f) => typeof f.id === 'string');
  }

  async waitFrames(n: number, what = `${n} frames`): Promise<void> {
    await waitFor(what, () => this.frames.length >= n || this.closed !== undefined);
    if (this.frames.length < n) throw new Error(`connection closed (${JSON.stringify(this.closed)}) before ${what}`);
  }

  /** Send a text message and wait for the one frame that answers it (an ack or an error). */
  async request(text: string | Buffer): Promise<Record<string, unknown>> {
    const before = this.frames.length;
    this.ws.send(text, { binary: Buffer.isBuffer(text) });
    await this.waitFrames(before + 1, `an answer to ${String(text).slice(0, 40)}`);
    return JSON.parse(this.frames[before]!) as Record<string, unknown>;
  }

  async close(): Promise<Closed> {
    if (this.ws.readyState === WebSocket.OPEN || this.ws.readyState === WebSocket.CONNECTING) this.ws.close(1000);
    return this.closedPromise;
  }
}

const wsUrl = (t: TestCore, path = '/api/v1/events/stream'): string => `${t.baseUrl.replace(/^http/, 'ws')}${path}`;

async function connect(t: TestCore, path?: string, options: { autoPong?: boolean } = {}): Promise<StreamClient> {
  const ws = new WebSocket(wsUrl(t, path), options);
  const client = new StreamClient(ws);
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
    ws.once('unexpected-response', (_req, res) => reject(new Error(`upgrade refused with ${res.statusCode}`)));
  });
  return client;
}

/** An upgrade the server must refuse: its HTTP status, content type and JSON body. */
async function refusedUpgrade(t: TestCore, path?: string): Promise<{ status: number; contentType: string; body: { error: string; code: string } }> {
  const ws = new WebSocket(wsUrl(t, path));
  ws.on('error', () => undefined);
  return new Promise((resolve, reject) => {
    ws.once('open', () => reject(new Error('the upgrade was accepted')));
    ws.once('unexpected-response', (_req, res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (text += chunk));
      res.on('end', () => {
        try {
          resolve({ status: res.statusCode ?? 0, contentType: String(res.headers['content-type']), body: JSON.parse(text) as { error: string; code: string } });
        } catch (err) {
          reject(err as Error);
        }
      });
    });
  });
}

/** Current value of an unlabelled counter or gauge on /metrics. */
async function metric(t: TestCore, name: string): Promise<number> {
  const res = await t.client.raw('GET', '/metrics', { headers: { Accept: 'text/plain' } });
  expect(res.status).toBe(200);
  const line = res.text.split('\n').find((l) => l.startsWith(`${name} `));
  if (!line) throw new Error(`${name} is missing from /metrics`);
  return Number(line.slice(name.length + 1));
}

const ev = (entity_id: string, event_type: string, payload: IngestEventRequest['payload'] = { n: 1 }): IngestEventRequest => ({ entity_id, event_type, payload });

describe('WebSocket live stream', () => {
  let t: TestCore;
  const clients: StreamClient[] = [];
  const open = async (path?: string): Promise<StreamClient> => {
    const c = await connect(t, path);
    clients.push(c);
    return c;
  };

  beforeAll(async () => {
    t = await startTestCore();
  });
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => c.close()));
  });
  afterAll(() => t.stop());

  it('delivers events committed after connecting, single and batch, in order, as GET /events/:id answers them', async () => {
    await t.client.ingest(ev('before-connect', 'stream.test'));
    const c = await open();
    const single = await t.client.ingest({ ...ev('s-1', 'stream.single', { text: 'héllo "quoted" \u2028', nested: { a: [1, 2] } }), metadata: { m: 1 } });
    const batch = await t.client.ingestBatch([ev('s-2', 'stream.batch', { i: 0 }), ev('s-1', 'stream.batch', { i: 1 }), ev('s-3', 'stream.batch', null)]);
    const ids = [single.event_id, ...batch.events.map((e) => e.event_id)];
    await c.waitFrames(4);
    expect(c.events.map((e) => e.id)).toEqual(ids);
    for (let i = 0; i < ids.length; i++) {
      const res = await t.client.raw('GET', `/api/v1/events/${ids[i]}`);
      expect(res.status).toBe(200);
      expect(c.frames[i]).toBe(res.text);
    }
    expect(c.events[0]).toMatchObject({ entity_id: 's-1', event_type: 'stream.single', metadata: { m: 1 }, version: 1 });
    expect(c.events[2]).toMatchObject({ entity_id: 's-1', version: 2 });
  });

  it('sends every event to every client, in commit order', async () => {
    const [a, b] = [await open(), await open()];
    const batches = await Promise.all(
      Array.from({ length: 10 }, (_, i) => t.client.ingestBatch([ev(`o-${i}`, 'stream.order'), ev(`o-${i}`, 'stream.order')])),
    );
    await a.waitFrames(20);
    await b.waitFrames(20);
    expect(b.frames).toEqual(a.frames);
    expect(new Set(a.events.map((e) => e.id))).toEqual(new Set(batches.flatMap((r) => r.events.map((e) => e.event_id))));
    // Within an entity, versions arrive in order; the two events of one batch arrive together.
    for (let i = 0; i < 20; i += 2) {
      expect([a.events[i]!.entity_id, a.events[i]!.version, a.events[i + 1]!.version]).toEqual([a.events[i + 1]!.entity_id, 1, 2]);
    }
  });

  it('filters by entity_id, event_type or both, acknowledges each filter and {} clears it', async () => {
    const c = await open();
    const workload = (): Promise<unknown> =>
      t.client.ingestBatch([ev('f-a', 'f.one'), ev('f-b', 'f.one'), ev('f-a', 'f.two'), ev('f-b', 'f.two')]);
    /** Set the filter, run the workload, and return what came through (entity/type). */
    const received = async (filter: { entity_id?: string | null; event_type?: string | null }): Promise<string[]> => {
      const expected = Object.fromEntries(Object.entries(filter).filter(([, v]) => v !== null));
      expect(await c.request(JSON.stringify(filter))).toEqual({ type: 'filter', filter: expected });
      const before = c.events.length;
      await workload();
      // A fence: an event the filter lets through, committed last, so anything the filter should
      // have held back would have arrived before it.
      const { event_id } = await t.client.ingest(ev(filter.entity_id ?? 'f-c', filter.event_type ?? 'f.fence'));
      await waitFor('the fence event', () => c.events.slice(before).some((e) => e.id === event_id));
      return c.events.slice(before, -1).map((e) => `${e.entity_id}/${e.event_type}`);
    };

    expect(await received({ entity_id: 'f-a' })).toEqual(['f-a/f.one', 'f-a/f.two']);
    expect(await received({ event_type: 'f.one' })).toEqual(['f-a/f.one', 'f-b/f.one']);
    expect(await received({ entity_id: 'f-a', event_type: 'f.two' })).toEqual(['f-a/f.two']);
    expect(await received({})).toEqual(['f-a/f.one', 'f-b/f.one', 'f-a/f.two', 'f-b/f.two']);
    // A new filter replaces the old one (it does not narrow it); null is the same as absent.
    expect(await received({ entity_id: 'f-b' })).toEqual(['f-b/f.one', 'f-b/f.two']);
    expect(await received({ entity_id: null, event_type: 'f.two' })).toEqual(['f-a/f.two', 'f-b/f.two']);
  });

  it('takes an initial filter from the URL and refuses an invalid one with 400', async () => {
    const c = await open('/api/v1/events/stream?entity_id=q-a&event_type=q.one');
    await t.client.ingestBatch([ev('q-b', 'q.one'), ev('q-a', 'q.two'), ev('q-a', 'q.one')]);
    await c.waitFrames(1);
    const { event_id } = await t.client.ingest(ev('q-a', 'q.one'));
    await waitFor('the second q-a/q.one', () => c.events.some((e) => e.id === event_id));
    expect(c.events.map((e) => `${e.entity_id}/${e.event_type}`)).toEqual(['q-a/q.one', 'q-a/q.one']);

    for (const query of ['?entity_id=', '?event_type=Not.Valid', '?entity_id=a&entity_id=b']) {
      const refused = await refusedUpgrade(t, `/api/v1/events/stream${query}`);
      expect(refused).toMatchObject({ status: 400, body: { code: 'INVALID_QUERY' } });
      expect(refused.contentType).toMatch(/^application\/json/);
      expect(refused.body.error).toMatch(/^Invalid query: /);
    }
  });

  it('answers unparsable or invalid messages and binary frames with an error frame, and stays connected with its filter', async () => {
    const errorsBefore = await metric(t, 'allsource_websocket_errors_total');
    const c = await open();
    expect(await c.request('{"entity_id":"bad-a"}')).toEqual({ type: 'filter', filter: { entity_id: 'bad-a' } });
    const bad: Array<[string | Buffer, RegExp]> = [
      ['not json', /not valid JSON/],
      ['{"entity_id":', /not valid JSON/],
      ['[]', /JSON object/],
      ['null', /JSON object/],
      ['42', /JSON object/],
      ['"text"', /JSON object/],
      ['{"entity_id":5}', /entity_id must be a string/],
      ['{"event_type":["a"]}', /event_type must be a string/],
      ['{"event_type":"No Spaces"}', /event_type may hold/],
      ['{"entity_id":""}', /entity_id must be 1-128/],
      ['{"entityId":"bad-b"}', /unknown field 'entityId'/],
      [Buffer.from('{"entity_id":"bad-b"}'), /binary frames are not accepted/],
    ];
    for (const [message, problem] of bad) {
      const answer = await c.request(message);
      expect(answer).toEqual({ error: expect.stringMatching(/^Invalid input: /), code: 'INVALID_INPUT' });
      expect(answer.error).toMatch(problem);
      expect(c.ws.readyState).toBe(WebSocket.OPEN);
    }
    expect(c.binaryFrames).toEqual([]);
    // The filter set before the bad messages still holds.
    await t.client.ingestBatch([ev('bad-b', 'bad.x'), ev('bad-a', 'bad.x')]);
    await waitFor('the bad-a event', () => c.events.length >= 1);
    const { event_id } = await t.client.ingest(ev('bad-a', 'bad.y'));
    await waitFor('the fence', () => c.events.some((e) => e.id === event_id));
    expect(c.events.map((e) => e.entity_id)).toEqual(['bad-a', 'bad-a']);
    expect(await metric(t, 'allsource_websocket_errors_total')).toBeGreaterThanOrEqual(errorsBefore + bad.length);
  });

  it('closes a connection that sends a message over 4 KiB with 1009', async () => {
    const c = await open();
    c.ws.send(JSON.stringify({ entity_id: 'x'.repeat(5000) }));
    expect((await c.closedPromise).code).toBe(1009);
  });

  it('refuses upgrades on any other path with 404 and the JSON error shape', async () => {
    for (const path of ['/api/v1/events', '/api/v1/events/streams', '/ws', '/api/v1/events/stream/extra']) {
      const refused = await refusedUpgrade(t, path);
      expect(refused).toMatchObject({ status: 404, body: { code: 'NOT_FOUND' } });
      expect(refused.contentType).toMatch(/^application\/json/);
      expect(refused.body.error).toMatch(/^Not found: /);
    }
    // The trailing-slash spelling is the same endpoint, as for the HTTP routes.
    const c = await open('/api/v1/events/stream/');
    expect(c.ws.readyState).toBe(WebSocket.OPEN);
    // Plain HTTP keeps working on the same server.
    expect((await t.client.raw('GET', '/health')).status).toBe(200);
  });

  it('moves the websocket metrics: connections, frames sent, errors; active returns to 0', async () => {
    await waitFor('no client left', async () => (await metric(t, 'allsource_websocket_connections_active')) === 0);
    const totalBefore = await metric(t, 'allsource_websocket_connections_total');
    const sentBefore = await metric(t, 'allsource_websocket_messages_sent');
    const errorsBefore = await metric(t, 'allsource_websocket_errors_total');
    const [a, b] = [await open(), await open()];
    expect(await metric(t, 'allsource_websocket_connections_active')).toBe(2);
    expect(await metric(t, 'allsource_websocket_connections_total')).toBe(totalBefore + 2);
    await t.client.ingestBatch([ev('m-1', 'metrics.ws'), ev('m-2', 'metrics.ws'), ev('m-3', 'metrics.ws')]);
    await a.waitFrames(3);
    await b.waitFrames(3);
    await a.request('not json'); // an error frame: one more frame sent and one error
    expect(await metric(t, 'allsource_websocket_messages_sent')).toBe(sentBefore + 7);
    expect(await metric(t, 'allsource_websocket_errors_total')).toBe(errorsBefore + 1);
    await refusedUpgrade(t, '/nowhere');
    expect(await metric(t, 'allsource_websocket_errors_total')).toBe(errorsBefore + 2);
    await Promise.all(clients.splice(0).map((c) => c.close()));
    await waitFor('active back to 0', async () => (await metric(t, 'allsource_websocket_connections_active')) === 0);
    expect(await metric(t, 'allsource_websocket_connections_total')).toBe(totalBefore + 2);
  });
});

describe('WebSocket connection limit', () => {
  let t: TestCore;
  afterAll(() => t?.stop());

  it('refuses an upgrade past WS_MAX_CONNECTIONS with 503 OVERLOADED, and accepts again once one closes', async () => {
    t = await startTestCore({ WS_MAX_CONNECTIONS: '2' });
    const a = await connect(t);
    const b = await connect(t);
    const errorsBefore = await metric(t, 'allsource_websocket_errors_total');
    const refused = await refusedUpgrade(t);
    expect(refused).toMatchObject({ status: 503, body: { code: 'OVERLOADED' } });
    expect(refused.contentType).toMatch(/^application\/json/);
    expect(refused.body.error).toMatch(/^Overloaded: too many WebSocket connections \(limit 2\)/);
    expect(await metric(t, 'allsource_websocket_errors_total')).toBe(errorsBefore + 1);
    expect(await metric(t, 'allsource_websocket_connections_active')).toBe(2);

    // The two accepted clients still work.
    await t.client.ingest(ev('lim', 'limit.test'));
    await a.waitFrames(1);
    await b.waitFrames(1);

    await a.close();
    await waitFor('the slot to free up', async () => (await metric(t, 'allsource_websocket_connections_active')) === 1);
    const c = await connect(t);
    expect(c.ws.readyState).toBe(WebSocket.OPEN);
    await Promise.all([b.close(), c.close()]);
  });
});

describe('WebSocket slow consumer', () => {
  let t: TestCore;
  afterAll(() => t?.stop());

  it('closes a client that stops reading with 1013 and a reason, while the others keep receiving everything', async () => {
    t = await startTestCore({ WS_MAX_BUFFERED_BYTES: '16384', WAL_SYNC_MODE: 'none' });
    const slow = await connect(t);
    const fast = await connect(t);
    slow.ws.pause(); // stops reading its socket: the kernel's buffers fill, then the server's queue
    const errorsBefore = await metric(t, 'allsource_websocket_errors_total');
    const ids: string[] = [];
    const blob = 'x'.repeat(16 * 1024);
    // 1 MiB per batch until the server gives up on the slow client (the kernel's socket buffers
    // on loopback take a few MiB first).
    for (let i = 0; ; i++) {
      if (i >= 300) throw new Error('the slow consumer was never closed');
      const res = await t.client.ingestBatch(Array.from({ length: 64 }, (_, j) => ev(`slow-${i}`, 'slow.test', { j, blob })));
      ids.push(...res.events.map((e) => e.event_id));
      // The fast client reads everything before the next batch comes.
      await fast.waitFrames(ids.length);
      if ((await metric(t, 'allsource_websocket_errors_total')) > errorsBefore) break;
    }
    // One more commit after the close: the fast client gets it too.
    ids.push((await t.client.ingest(ev('after', 'slow.test'))).event_id);
    await fast.waitFrames(ids.length);
    expect(fast.events.map((e) => e.id)).toEqual(ids);
    expect(fast.closed).toBeUndefined();

    // The slow client, reading again, gets what was queued for it, then the close frame.
    slow.ws.resume();
    const closed = await slow.closedPromise;
    expect(closed.code).toBe(1013);
    expect(closed.reason).toMatch(/^slow consumer: more than 16384 bytes waiting to be sent/);
    expect(slow.events.length).toBeLessThan(ids.length);
    expect(slow.events.map((e) => e.id)).toEqual(ids.slice(0, slow.events.length)); // a prefix, nothing skipped
    await waitFor('active to drop to 1', async () => (await metric(t, 'allsource_websocket_connections_active')) === 1);
    await fast.close();
  });
});

describe('WebSocket heartbeat', () => {
  let t: TestCore;
  afterAll(() => t?.stop());

  it('terminates a client that does not answer pings and keeps one that does', async () => {
    t = await startTestCore({ WS_HEARTBEAT_INTERVAL_MS: '1000' });
    const errorsBefore = await metric(t, 'allsource_websocket_errors_total');
    const live = await connect(t);
    const dead = await connect(t, undefined, { autoPong: false });
    const closed = await dead.closedPromise;
    expect(closed.code).toBe(1006); // terminated: no closing handshake
    expect(dead.pings).toBeGreaterThanOrEqual(1);
    await waitFor('a second ping to the live client', () => live.pings >= 2);
    expect(live.ws.readyState).toBe(WebSocket.OPEN);
    expect(await metric(t, 'allsource_websocket_errors_total')).toBeGreaterThan(errorsBefore);
    await live.close();
  });
});

describe('WebSocket shutdown', () => {
  it('closes every client with 1001 and cuts one that does not finish the closing handshake', async () => {
    // A shutdown timeout far beyond the test's: the clients must be told at once, not after it.
    const t = await startTestCore({ SHUTDOWN_TIMEOUT_MS: '600000' });
    try {
      const a = await connect(t);
      const b = await connect(t);
      const stuck = await connect(t);
      stuck.ws.pause();
      await t.stop();
      for (const c of [a, b]) expect(await c.closedPromise).toEqual({ code: 1001, reason: 'server shutting down' });
      stuck.ws.resume();
      expect([1001, 1006]).toContain((await stuck.closedPromise).code);
    } finally {
      await t.stop();
    }
  });
});

describe('a plain GET of the stream path', () => {
  const t = useTestCore();

  it('answers 426 Upgrade Required with the JSON error, not an unknown event', async () => {
    const res = await t.client.raw('GET', '/api/v1/events/stream');
    expect(res.status).toBe(426);
    expect(res.headers.upgrade).toBe('websocket');
    expect(res.data).toEqual({ error: expect.stringMatching(/^Upgrade required: /), code: 'UPGRADE_REQUIRED' });
  });
});
