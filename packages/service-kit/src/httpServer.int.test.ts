import * as http from 'node:http';
import * as net from 'node:net';
import { listenHttp, type ListeningHttpServer } from './httpServer';

/** Sends raw bytes on a new connection; resolves with everything the server sent before closing. */
function rawExchange(port: number, bytes: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1', () => socket.write(bytes));
    const chunks: Buffer[] = [];
    socket.on('data', (c: Buffer) => chunks.push(c));
    socket.on('error', reject);
    socket.on('close', () => resolve(Buffer.concat(chunks).toString('latin1')));
  });
}

function parse(answer: string): { status: number; contentType: string | undefined; body: { error?: string; code?: string } } {
  const [head, body] = answer.split('\r\n\r\n');
  const lines = head!.split('\r\n');
  const type = lines.find((l) => l.toLowerCase().startsWith('content-type:'));
  return { status: Number(lines[0]!.split(' ')[1]), contentType: type?.slice(13).trim(), body: JSON.parse(body!) as { error?: string; code?: string } };
}

describe('listenHttp: requests the HTTP parser refuses', () => {
  let listening: ListeningHttpServer;
  beforeAll(async () => {
    listening = await listenHttp(
      http.createServer((_req, res) => res.end('ok')),
      0,
      '127.0.0.1',
    );
  });
  afterAll(() => listening.close(1000));

  it('answers headers over 16 KiB (a long URL) with 431 and the API error shape', async () => {
    const answer = parse(await rawExchange(listening.port, `GET /health?offset=${'x'.repeat(20_000)} HTTP/1.1\r\nHost: x\r\n\r\n`));
    expect(answer).toEqual({
      status: 431,
      contentType: 'application/json; charset=utf-8',
      body: { error: 'Request headers too large: the request line and headers exceed 16 KiB', code: 'HEADERS_TOO_LARGE' },
    });
  });

  it('answers a malformed request line with 400 INVALID_INPUT', async () => {
    const answer = parse(await rawExchange(listening.port, 'NOT A REQUEST\r\n\r\n'));
    expect(answer.status).toBe(400);
    expect(answer.body.code).toBe('INVALID_INPUT');
  });

  it('answers a bad request on a keep-alive connection after the answer before it', async () => {
    const answer = await new Promise<string>((resolve, reject) => {
      const socket = net.connect(listening.port, '127.0.0.1', () => socket.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n'));
      let text = '';
      let sentSecond = false;
      socket.on('data', (c: Buffer) => {
        text += c.toString('latin1');
        // The first answer is complete: send a request whose headers are too large.
        if (!sentSecond && text.endsWith('ok')) {
          sentSecond = true;
          socket.write(`GET /${'y'.repeat(20_000)} HTTP/1.1\r\nHost: x\r\n\r\n`);
        }
      });
      socket.on('error', reject);
      socket.on('close', () => resolve(text));
    });
    expect(answer.startsWith('HTTP/1.1 200 OK')).toBe(true);
    const second = answer.indexOf('HTTP/1.1 431 ');
    expect(second).toBeGreaterThan(0);
    expect(parse(answer.slice(second)).body.code).toBe('HEADERS_TOO_LARGE');
  });
});
