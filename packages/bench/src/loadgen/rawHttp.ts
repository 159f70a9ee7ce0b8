import * as net from 'node:net';
import type { Req } from './protocol';

export interface RawResponse {
  status: number;
  /** Bytes of the body as received (chunk framing not counted). */
  bytes: number;
  body?: Buffer;
}

/** A request as the bytes sent on the wire, built before the clock starts. */
export function encodeRequest(host: string, req: Req): Buffer {
  const body = req.body === undefined ? undefined : Buffer.from(req.body, 'utf8');
  let head = `${req.method ?? 'GET'} ${req.path} HTTP/1.1\r\nHost: ${host}\r\n`;
  if (body) head += `Content-Type: application/json\r\nContent-Length: ${body.length}\r\n`;
  for (const [name, value] of Object.entries(req.headers ?? {})) head += `${name}: ${value}\r\n`;
  head += '\r\n';
  return body ? Buffer.concat([Buffer.from(head, 'latin1'), body]) : Buffer.from(head, 'latin1');
}

const HEAD_END = Buffer.from('\r\n\r\n');
const CRLF = Buffer.from('\r\n');
/** A response head larger than this is refused (a bench talks to its own servers). */
const MAX_HEAD_BYTES = 64 * 1024;

type BodyMode = { kind: 'length'; left: number } | { kind: 'chunked' } | { kind: 'until-close' } | { kind: 'none' };

/**
 * One keep-alive HTTP/1.1 connection that sends prebuilt requests one at a time and reads each
 * answer with a minimal parser (status line, then a Content-Length, chunked or read-until-close
 * body). The latency lanes use it instead of `node:http`, whose client work and garbage put a
 * tail of its own on every sample: measured against a server answering a prebuilt 40 KB body,
 * from a new load-generator process, p99 2.1–2.4 ms through `http.request`, 0.9–1.4 ms through
 * this connection (and less once the process has warmed up: docs/benchmarks.md, Method).
 *
 * A connection the server closes (or answers with `Connection: close`, or HTTP/1.0 without
 * keep-alive) is opened again by the next request; a request whose kept-alive connection closes
 * before any byte of an answer (the server timed it out as idle) is sent once more on a new one.
 * A request not answered within `timeoutMs` fails and drops the connection.
 */
export class RawHttpConnection {
  private readonly host: string;
  private readonly port: number;
  private readonly timeoutMs: number;
  private socket: net.Socket | undefined;
  private pending:
    | { resolve: (r: RawResponse) => void; reject: (e: Error) => void; keepBody: boolean; sentAt: number; request: Buffer; reused: boolean }
    | undefined;
  private head: Buffer | undefined;
  private status = 0;
  private mode: BodyMode = { kind: 'none' };
  private closeAfter = false;
  private bytes = 0;
  private body: Buffer[] = [];
  /** Undecoded bytes of a chunked body (framing not yet read). */
  private chunked: Buffer | undefined;
  private timer: NodeJS.Timeout | undefined;

  constructor(host: string, port: number, timeoutMs = 30_000) {
    this.host = host;
    this.port = port;
    this.timeoutMs = timeoutMs;
  }

  send(request: Buffer, keepBody = false): Promise<RawResponse> {
    if (this.pending) return Promise.reject(new Error('a request is already in flight on this connection'));
    return new Promise<RawResponse>((resolve, reject) => {
      this.pending = { resolve, reject, keepBody, sentAt: performance.now(), request, reused: this.socket !== undefined };
      this.head = undefined;
      this.mode = { kind: 'none' };
      this.status = 0;
      this.bytes = 0;
      this.body = [];
      this.chunked = undefined;
      this.closeAfter = false;
      // One timer per connection, restarted for each request (not one timer a request).
      if (this.timer) this.timer.refresh();
      else this.timer = setTimeout(() => this.checkTimeout(), this.timeoutMs).unref();
      (this.socket ?? this.connect()).write(request);
    });
  }

  close(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.drop(new Error('connection closed by the client'));
  }

  private connect(): net.Socket {
    const socket = net.connect(this.port, this.host);
    socket.setNoDelay(true);
    // Events of a connection already dropped or replaced are ignored: they must not touch the
    // request in flight on the next one.
    socket.on('data', (chunk: Buffer) => {
      if (this.socket !== socket) return;
      try {
        this.onData(chunk);
      } catch (err) {
        this.drop(err as Error);
      }
    });
    socket.on('error', (err) => {
      if (this.socket === socket) this.drop(err);
    });
    socket.on('close', () => {
      if (this.socket !== socket) return;
      const p = this.pending;
      if (p && this.status !== 0 && this.head === undefined && this.mode.kind === 'until-close') {
        this.socket = undefined;
        this.finish();
      } else if (p && p.reused && this.status === 0 && this.head === undefined) {
        // Closed as idle just as the request went out: nothing was answered, send it again.
        p.reused = false;
        this.socket = undefined;
        this.connect().write(p.request);
      } else {
        this.drop(new Error('the server closed the connection'));
      }
    });
    this.socket = socket;
    return socket;
  }

  /** Forget the current connection (the next request opens another) and fail the request in flight. */
  private drop(err: Error): void {
    const socket = this.socket;
    this.socket = undefined;
    socket?.destroy();
    this.fail(err);
  }

  private checkTimeout(): void {
    if (this.pending && performance.now() - this.pending.sentAt >= this.timeoutMs) {
      this.drop(new Error(`no answer in ${this.timeoutMs} ms`));
    } else if (this.pending) {
      this.timer?.refresh();
    }
  }

  private fail(err: Error): void {
    const p = this.pending;
    this.pending = undefined;
    p?.reject(err);
  }

  private finish(): void {
    const p = this.pending!;
    this.pending = undefined;
    const res: RawResponse = { status: this.status, bytes: this.bytes };
    if (p.keepBody) res.body = Buffer.concat(this.body);
    if (this.closeAfter) {
      const socket = this.socket;
      this.socket = undefined;
      socket?.destroy();
    }
    p.resolve(res);
  }

  private onData(chunk: Buffer): void {
    if (!this.pending) throw new Error('bytes from the server with no request in flight');
    let rest: Buffer | undefined = chunk;
    if (this.head !== undefined || this.status === 0) {
      const head = this.head ? Buffer.concat([this.head, chunk]) : chunk;
      const end = head.indexOf(HEAD_END);
      if (end < 0) {
        if (head.length > MAX_HEAD_BYTES) throw new Error('response head too large');
        this.head = head;
        return;
      }
      this.head = undefined;
      this.parseHead(head.toString('latin1', 0, end));
      rest = head.subarray(end + 4);
    }
    this.onBody(rest);
  }

  private parseHead(text: string): void {
    const lines = text.split('\r\n');
    const m = /^HTTP\/1\.([01]) (\d{3})/.exec(lines[0] ?? '');
    if (!m) throw new Error(`not an HTTP response: ${JSON.stringify((lines[0] ?? '').slice(0, 80))}`);
    this.status = Number(m[2]);
    let keepAlive = m[1] === '1';
    let length: number | undefined;
    let chunked = false;
    for (let i = 1; i < lines.length; i++) {
      const line = lines[i]!;
      const colon = line.indexOf(':');
      if (colon < 0) continue;
      const name = line.slice(0, colon).trim().toLowerCase();
      const value = line.slice(colon + 1).trim();
      if (name === 'content-length') length = Number(value);
      else if (name === 'transfer-encoding') chunked = value.toLowerCase().includes('chunked');
      else if (name === 'connection') {
        const tokens = value.toLowerCase().split(',').map((t) => t.trim());
        if (tokens.includes('close')) keepAlive = false;
        else if (tokens.includes('keep-alive')) keepAlive = true;
      }
    }
    this.closeAfter = !keepAlive;
    const noBody = this.status === 204 || this.status === 304 || (this.status >= 100 && this.status < 200);
    if (noBody) this.mode = { kind: 'none' };
    else if (chunked) this.mode = { kind: 'chunked' };
    else if (length !== undefined && Number.isFinite(length)) this.mode = { kind: 'length', left: length };
    else this.mode = { kind: 'until-close' };
    if (this.mode.kind === 'until-close') this.closeAfter = true;
  }

  private take(bytes: Buffer): void {
    this.bytes += bytes.length;
    if (this.pending!.keepBody && bytes.length > 0) this.body.push(Buffer.from(bytes));
  }

  private onBody(data: Buffer): void {
    const mode = this.mode;
    if (mode.kind === 'none') {
      if (data.length > 0) throw new Error('bytes after a response without a body');
      this.finish();
    } else if (mode.kind === 'length') {
      if (data.length > mode.left) throw new Error('more bytes than Content-Length');
      this.take(data);
      mode.left -= data.length;
      if (mode.left === 0) this.finish();
    } else if (mode.kind === 'until-close') {
      this.take(data);
    } else {
      this.onChunked(data);
    }
  }

  /** Chunked framing: `<hex size>[;ext]\r\n<data>\r\n` … `0\r\n[trailers]\r\n`. */
  private onChunked(data: Buffer): void {
    let buf = this.chunked ? Buffer.concat([this.chunked, data]) : data;
    for (;;) {
      const lineEnd = buf.indexOf(CRLF);
      if (lineEnd < 0) break;
      const size = parseInt(buf.toString('latin1', 0, lineEnd).split(';')[0]!.trim(), 16);
      if (!Number.isFinite(size) || size < 0) throw new Error('bad chunk size');
      if (size === 0) {
        // Last chunk: trailers (if any) end with an empty line.
        const end = buf.indexOf(HEAD_END, lineEnd - 2 >= 0 ? lineEnd - 2 : 0);
        if (end < 0) break;
        if (end + 4 !== buf.length) throw new Error('bytes after a chunked response');
        this.chunked = undefined;
        this.finish();
        return;
      }
      if (buf.length < lineEnd + 2 + size + 2) break;
      if (buf[lineEnd + 2 + size] !== 0x0d || buf[lineEnd + 3 + size] !== 0x0a) throw new Error('chunk not followed by CRLF');
      this.take(buf.subarray(lineEnd + 2, lineEnd + 2 + size));
      buf = buf.subarray(lineEnd + 2 + size + 2);
    }
    this.chunked = buf.length > 0 ? Buffer.from(buf) : undefined;
  }
}
