/**
 * The latency lanes' HTTP client against a real node:http server on a real socket: bodies by
 * Content-Length and chunked, request bodies, keep-alive reuse, reconnects after the server
 * closes, and failures (no answer, connection dropped) reported without hanging.
 */
import * as http from 'node:http';
import * as net from 'node:net';
import type { AddressInfo } from 'node:net';
import { encodeRequest, RawHttpConnection } from './rawHttp';

describe('RawHttpConnection', () => {
  let server: http.Server;
  let port: number;
  let connections = 0;
  const received: Array<{ method: string; url: string; contentType?: string; body: string }> = [];

  beforeAll(async () => {
    server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const body = Buffer.concat(chunks).toString('utf8');
        received.push({ method: req.method!, url: req.url!, ...(req.headers['content-type'] ? { contentType: req.headers['content-type'] } : {}), body });
        const url = req.url!;
        if (url === '/chunked') {
          res.write('first part, ');
          setTimeout(() => res.end('ü second part'), 5);
        } else if (url === '/big') {
          res.end(Buffer.alloc(1024 * 1024, 'b'));
        } else if (url === '/close') {
          res.setHeader('Connection', 'close');
          res.end('bye');
        } else if (url === '/empty') {
          res.statusCode = 204;
          res.end();
        } else if (url === '/silent') {
          // never answers
        } else if (url === '/drop') {
          req.socket.destroy();
        } else {
          res.statusCode = url === '/missing' ? 404 : 200;
          res.setHeader('Content-Type', 'application/json');
          res.end(JSON.stringify({ url, body }));
        }
      });
    });
    server.on('connection', () => connections++);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
  });

  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  const get = (path: string) => encodeRequest(`127.0.0.1:${port}`, { path });

  it('sends one request after another on one kept-alive connection, bodies by Content-Length', async () => {
    const c = new RawHttpConnection('127.0.0.1', port);
    const before = connections;
    for (let i = 0; i < 20; i++) {
      const res = await c.send(get(`/item/${i}`), true);
      expect(res.status).toBe(200);
      expect(JSON.parse(res.body!.toString('utf8'))).toEqual({ url: `/item/${i}`, body: '' });
      expect(res.bytes).toBe(res.body!.length);
    }
    const missing = await c.send(get('/missing'));
    expect(missing.status).toBe(404);
    expect(missing.body).toBeUndefined();
    expect(connections - before).toBe(1);
    c.close();
  });

  it('reads chunked and large bodies, and answers without a body', async () => {
    const c = new RawHttpConnection('127.0.0.1', port);
    const chunked = await c.send(get('/chunked'), true);
    expect(chunked.body!.toString('utf8')).toBe('first part, ü second part');
    expect(chunked.bytes).toBe(Buffer.byteLength('first part, ü second part'));
    const big = await c.send(get('/big'), true);
    expect(big.bytes).toBe(1024 * 1024);
    expect(big.body!.every((b) => b === 0x62)).toBe(true);
    expect((await c.send(get('/empty'))).status).toBe(204);
    expect((await c.send(get('/after'))).status).toBe(200);
    c.close();
  });

  it('sends request bodies with their headers', async () => {
    const c = new RawHttpConnection('127.0.0.1', port);
    const body = JSON.stringify({ event_type: 'x.y', payload: { text: 'ünï 🎉' } });
    const req = encodeRequest(`127.0.0.1:${port}`, { method: 'POST', path: '/api/v1/events', body, headers: { 'X-Test': '1' } });
    const res = await c.send(req, true);
    expect(JSON.parse(res.body!.toString('utf8'))).toEqual({ url: '/api/v1/events', body });
    expect(received.at(-1)).toEqual({ method: 'POST', url: '/api/v1/events', contentType: 'application/json', body });
    c.close();
  });

  it('opens a new connection after the server closes one', async () => {
    const c = new RawHttpConnection('127.0.0.1', port);
    const before = connections;
    expect((await c.send(get('/close'), true)).body!.toString()).toBe('bye');
    expect((await c.send(get('/next'))).status).toBe(200);
    expect(connections - before).toBe(2);
    c.close();
  });

  it('fails a request the server drops or never answers, and goes on with the next', async () => {
    const c = new RawHttpConnection('127.0.0.1', port, 300);
    await expect(c.send(get('/drop'))).rejects.toThrow(/closed the connection/);
    expect((await c.send(get('/again'))).status).toBe(200);
    await expect(c.send(get('/silent'))).rejects.toThrow(/no answer in 300 ms/);
    expect((await c.send(get('/after-timeout'))).status).toBe(200);
    c.close();
  });

  it('refuses a second request while one is in flight', async () => {
    const c = new RawHttpConnection('127.0.0.1', port);
    const first = c.send(get('/one'));
    await expect(c.send(get('/two'))).rejects.toThrow(/already in flight/);
    expect((await first).status).toBe(200);
    c.close();
  });

  describe('against a hand-written server', () => {
    let raw: net.Server;
    let rawPort: number;
    let accepted = 0;
    beforeAll(async () => {
      // Each connection answers its first request; the second request on a connection is
      // dropped unanswered (as a server closing an idle keep-alive connection would), except on
      // /http10 and /multi-close, which answer in ways that end the connection.
      raw = net.createServer((socket) => {
        accepted++;
        let seen = 0;
        let buffered = '';
        socket.on('data', (d) => {
          buffered += d.toString('latin1');
          while (buffered.includes('\r\n\r\n')) {
            const end = buffered.indexOf('\r\n\r\n');
            const head = buffered.slice(0, end);
            buffered = buffered.slice(end + 4);
            seen++;
            const path = head.split(' ')[1];
            if (path === '/http10') socket.end('HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\nold style');
            else if (path === '/multi-close') socket.write('HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: keep-alive, close\r\n\r\nok');
            else if (seen >= 2) socket.destroy();
            else socket.write('HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nfirst');
          }
        });
      });
      await new Promise<void>((resolve) => raw.listen(0, '127.0.0.1', resolve));
      rawPort = (raw.address() as AddressInfo).port;
    });
    afterAll(async () => {
      await new Promise((resolve) => raw.close(resolve));
    });

    const rawGet = (path: string) => encodeRequest(`127.0.0.1:${rawPort}`, { path });

    it('sends a request again on a new connection when a kept-alive one closes before answering', async () => {
      const c = new RawHttpConnection('127.0.0.1', rawPort);
      const before = accepted;
      for (let i = 0; i < 3; i++) {
        const res = await c.send(rawGet(`/r${i}`), true);
        expect(res.body!.toString()).toBe('first');
      }
      // 1st on connection A; 2nd dropped on A, resent on B; 3rd dropped on B, resent on C.
      expect(accepted - before).toBe(3);
      c.close();
    });

    it('treats HTTP/1.0 without keep-alive and "Connection: keep-alive, close" as ending the connection', async () => {
      const c = new RawHttpConnection('127.0.0.1', rawPort);
      const before = accepted;
      expect((await c.send(rawGet('/http10'), true)).body!.toString()).toBe('old style');
      expect((await c.send(rawGet('/multi-close'), true)).body!.toString()).toBe('ok');
      expect((await c.send(rawGet('/after'), true)).body!.toString()).toBe('first');
      expect(accepted - before).toBe(3);
      c.close();
    });
  });
});
