/**
 * The WebSocket live stream, `GET /api/v1/events/stream`.
 *
 * - Server → client: one text frame per committed event, the Event JSON (as GET /events/:id).
 *   Each event is serialised once per commit group, whatever the number of clients.
 * - Client → server: a filter `{"entity_id"?, "event_type"?}` replaces the connection's filter
 *   (`{}` clears it) and is acknowledged with `{"type":"filter","filter":{…}}`. Anything else
 *   (unparsable text, a non-object, a wrong type, an unknown field, a binary frame) is answered
 *   with an error frame `{"error":"Invalid input: …","code":"INVALID_INPUT"}`; the connection
 *   and its filter stay as they were. A message over 4 KiB closes the connection (1009).
 * - An initial filter may be given on the URL: `?entity_id=…&event_type=…` (invalid → HTTP 400).
 * - Backpressure: when new events arrive, a client that still has more than
 *   WS_MAX_BUFFERED_BYTES of earlier frames waiting to be sent (`bufferedAmount`) is closed with
 *   1013 (try again later) and a reason, never silently skipped.
 * - Above WS_MAX_CONNECTIONS an upgrade is refused with HTTP 503 and the API's JSON error.
 *   Upgrades on any other path get HTTP 404.
 * - Heartbeat: a ping every WS_HEARTBEAT_INTERVAL_MS; a client that did not answer the previous
 *   one is terminated.
 * - Shutdown: every client is closed with 1001 (going away) as soon as the server stops
 *   accepting connections; clients that do not finish the closing handshake are terminated.
 */
import * as http from 'node:http';
import type { Duplex } from 'node:stream';
import { AllSourceError } from '@allsource/errors';
import { presentedKey, type ApiKeyStore } from '@allsource/service-kit';
import type { Logger } from 'pino';
import { WebSocket, WebSocketServer, type RawData } from 'ws';
import type { CoreModule, CoreModuleDeps } from '../app/coreModule';
import type { StoredEvent } from '../events/storedEvent';
import { eventJson } from '../query/serialize';
import { filterFrom, filterJson, matches, parseFilterMessage, type StreamFilter } from './filter';

export const STREAM_PATH = '/api/v1/events/stream';

/** Largest message a client may send (a filter is a few hundred bytes). */
export const MAX_CLIENT_MESSAGE_BYTES = 4 * 1024;

/** Close codes (RFC 6455 §7.4.1 and the IANA registry). */
export const CLOSE_GOING_AWAY = 1001;
export const CLOSE_TRY_AGAIN_LATER = 1013;

/** How long clients get to finish the closing handshake on shutdown before they are cut. */
const SHUTDOWN_GRACE_MS = 2_000;

interface Connection {
  ws: WebSocket;
  filter: StreamFilter;
  /** Answered the last ping (or has just connected). */
  alive: boolean;
}

export interface EventStreamOptions {
  maxConnections: number;
  maxBufferedBytes: number;
  heartbeatIntervalMs: number;
  /** When keys are configured, an upgrade must present one (header, or `?api_key=` for browsers). */
  apiKeys?: ApiKeyStore;
}

export class EventStream implements CoreModule {
  readonly name = 'event-stream';

  private readonly log: Logger;
  private readonly wss: WebSocketServer;
  private readonly connections = new Set<Connection>();
  private readonly unsubscribe: () => void;
  private readonly heartbeat: NodeJS.Timeout;
  private readonly active;
  private readonly accepted;
  private readonly sent;
  private readonly errors;
  private shuttingDown = false;
  private allClosed: (() => void) | undefined;

  constructor(
    deps: Pick<CoreModuleDeps, 'logger' | 'store' | 'metrics'>,
    private readonly opts: EventStreamOptions,
  ) {
    this.log = deps.logger.child({ component: 'stream' });
    this.active = deps.metrics.m.gauge('allsource_websocket_connections_active');
    this.accepted = deps.metrics.m.counter('allsource_websocket_connections_total');
    this.sent = deps.metrics.m.counter('allsource_websocket_messages_sent');
    this.errors = deps.metrics.m.counter('allsource_websocket_errors_total');
    this.wss = new WebSocketServer({ noServer: true, clientTracking: false, maxPayload: MAX_CLIENT_MESSAGE_BYTES, perMessageDeflate: false });
    // A malformed handshake (bad key, version, method …) on the stream path: answer it ourselves
    // so it is counted and gets the API's JSON error shape.
    this.wss.on('wsClientError', (err: Error, socket: Duplex) => {
      this.errors.inc();
      refuse(socket, 400, new AllSourceError('INVALID_INPUT', `not a valid WebSocket handshake: ${err.message}`));
    });
    this.unsubscribe = deps.store.onCommit((events) => this.broadcast(events));
    this.heartbeat = setInterval(() => this.ping(), opts.heartbeatIntervalMs);
    this.heartbeat.unref();
  }

  attach(server: http.Server): void {
    server.on('upgrade', (req: http.IncomingMessage, socket: Duplex, head: Buffer) => this.upgrade(req, socket, head));
    // Upgraded sockets are invisible to server.closeIdleConnections()/closeAllConnections() but
    // still hold server.close() open: say goodbye to the clients as soon as the server starts
    // closing, not after the shutdown timeout.
    const close = server.close;
    server.close = ((callback?: (err?: Error) => void) => {
      this.goAway();
      return close.call(server, callback);
    }) as typeof server.close;
  }

  async close(): Promise<void> {
    this.goAway();
    if (this.connections.size > 0) {
      await new Promise<void>((resolve) => {
        this.allClosed = resolve;
        setTimeout(resolve, SHUTDOWN_GRACE_MS + 500).unref();
      });
    }
    for (const c of this.connections) c.ws.terminate();
    this.unsubscribe();
    this.wss.close();
  }

  /** Number of clients connected now. */
  get connectionCount(): number {
    return this.connections.size;
  }

  private upgrade(req: http.IncomingMessage, socket: Duplex, head: Buffer): void {
    socket.on('error', () => socket.destroy());
    let url: URL;
    try {
      url = new URL(req.url ?? '/', 'http://localhost');
    } catch {
      this.errors.inc();
      refuse(socket, 400, new AllSourceError('INVALID_INPUT', 'malformed request target'));
      return;
    }
    if (url.pathname !== STREAM_PATH && url.pathname !== `${STREAM_PATH}/`) {
      this.errors.inc();
      refuse(socket, 404, new AllSourceError('NOT_FOUND', `no WebSocket endpoint at ${url.pathname.slice(0, 200)}`));
      return;
    }
    if (this.opts.apiKeys?.enabled) {
      const key = presentedKey(req, true);
      if (key === undefined || !this.opts.apiKeys.identify(key)) {
        this.errors.inc();
        refuse(socket, 401, new AllSourceError('UNAUTHORIZED', key === undefined ? 'an API key is required (Authorization: Bearer <key>, or ?api_key=)' : 'the API key is not valid'));
        return;
      }
    }
    if (this.shuttingDown) {
      this.errors.inc();
      refuse(socket, 503, new AllSourceError('OVERLOADED', 'the server is shutting down'));
      return;
    }
    if (this.connections.size >= this.opts.maxConnections) {
      this.errors.inc();
      this.log.warn({ limit: this.opts.maxConnections }, 'WebSocket connection refused: limit reached');
      refuse(socket, 503, new AllSourceError('OVERLOADED', `too many WebSocket connections (limit ${this.opts.maxConnections}); retry later`));
      return;
    }
    const initial: Record<string, unknown> = {};
    for (const key of ['entity_id', 'event_type']) {
      const values = url.searchParams.getAll(key);
      if (values.length > 1) {
        this.errors.inc();
        refuse(socket, 400, new AllSourceError('INVALID_QUERY', `${key} given more than once`));
        return;
      }
      if (values.length === 1) initial[key] = values[0];
    }
    const parsed = filterFrom(initial);
    if (!parsed.ok) {
      this.errors.inc();
      refuse(socket, 400, new AllSourceError('INVALID_QUERY', parsed.problem));
      return;
    }
    this.wss.handleUpgrade(req, socket, head, (ws) => this.connected(ws, parsed.filter));
  }

  private connected(ws: WebSocket, filter: StreamFilter): void {
    const conn: Connection = { ws, filter, alive: true };
    this.connections.add(conn);
    this.accepted.inc();
    this.active.inc();
    this.log.debug({ connections: this.connections.size }, 'WebSocket client connected');
    ws.on('pong', () => {
      conn.alive = true;
    });
    ws.on('message', (data: RawData, isBinary: boolean) => this.onMessage(conn, data, isBinary));
    ws.on('error', (err: Error) => {
      // Protocol violations (bad frame, message too large, invalid UTF-8); ws closes the
      // connection itself (1002/1007/1009).
      this.errors.inc();
      this.log.debug({ err: err.message }, 'WebSocket client error');
    });
    ws.on('close', (code: number) => {
      if (!this.connections.delete(conn)) return;
      this.active.dec();
      this.log.debug({ code, connections: this.connections.size }, 'WebSocket client disconnected');
      if (this.connections.size === 0) this.allClosed?.();
    });
    if (this.shuttingDown) ws.close(CLOSE_GOING_AWAY, 'server shutting down');
  }

  private onMessage(conn: Connection, data: RawData, isBinary: boolean): void {
    if (isBinary) {
      this.invalid(conn, 'binary frames are not accepted; send the filter as JSON text');
      return;
    }
    const text = Buffer.isBuffer(data) ? data.toString('utf8') : Array.isArray(data) ? Buffer.concat(data).toString('utf8') : Buffer.from(data).toString('utf8');
    const parsed = parseFilterMessage(text);
    if (!parsed.ok) {
      this.invalid(conn, parsed.problem);
      return;
    }
    conn.filter = parsed.filter;
    if (this.send(conn, JSON.stringify({ type: 'filter', filter: filterJson(parsed.filter) }))) this.sent.inc();
  }

  private invalid(conn: Connection, problem: string): void {
    this.errors.inc();
    if (this.send(conn, JSON.stringify(new AllSourceError('INVALID_INPUT', problem).toBody()))) this.sent.inc();
  }

  /**
   * One commit group: each event serialised once (the same Buffer is queued on every matching
   * connection, not copied), sent to every client whose filter matches. A client still holding
   * more than the limit from earlier groups is closed first, so what waits for one client is
   * bounded by the limit plus one commit group, and a burst (a large batch) does not by itself
   * cost a client that keeps reading its connection.
   */
  private broadcast(events: readonly StoredEvent[]): void {
    if (this.connections.size === 0) return;
    // Corked, a connection's frames of the whole group leave in one write (writev) instead of
    // one system call per frame: over twice the throughput with many clients and large batches.
    const corked: Duplex[] = [];
    for (const conn of this.connections) {
      if (!this.checkBacklog(conn)) continue;
      const socket = socketOf(conn.ws);
      if (socket) {
        socket.cork();
        corked.push(socket);
      }
    }
    let frames = 0;
    try {
      for (const e of events) {
        let frame: Buffer | undefined;
        for (const conn of this.connections) {
          if (conn.ws.readyState !== WebSocket.OPEN || !matches(conn.filter, e)) continue;
          frame ??= Buffer.from(eventJson(e), 'utf8');
          conn.ws.send(frame, { binary: false });
          frames++;
        }
      }
    } finally {
      for (const socket of corked) socket.uncork();
      if (frames > 0) this.sent.inc(frames);
    }
  }

  /** Send one control frame (acknowledgement, error) unless the client is closing or too far behind. */
  private send(conn: Connection, frame: string): boolean {
    if (!this.checkBacklog(conn)) return false;
    conn.ws.send(frame, { binary: false });
    return true;
  }

  /** False when the client cannot take frames now: closing, or too far behind (then closed with 1013). */
  private checkBacklog(conn: Connection): boolean {
    const { ws } = conn;
    if (ws.readyState !== WebSocket.OPEN) return false;
    const buffered = ws.bufferedAmount;
    if (buffered <= this.opts.maxBufferedBytes) return true;
    this.errors.inc();
    this.log.warn({ buffered_bytes: buffered, limit: this.opts.maxBufferedBytes }, 'closing slow WebSocket consumer');
    ws.close(CLOSE_TRY_AGAIN_LATER, `slow consumer: more than ${this.opts.maxBufferedBytes} bytes waiting to be sent`);
    return false;
  }

  private ping(): void {
    for (const conn of this.connections) {
      if (conn.ws.readyState !== WebSocket.OPEN) continue;
      if (!conn.alive) {
        this.errors.inc();
        this.log.debug('terminating WebSocket client that did not answer a ping');
        conn.ws.terminate();
        continue;
      }
      conn.alive = false;
      conn.ws.ping();
    }
  }

  /** Shutdown: refuse new upgrades, close every client with 1001, cut the stragglers. */
  private goAway(): void {
    if (this.shuttingDown) return;
    this.shuttingDown = true;
    clearInterval(this.heartbeat);
    if (this.connections.size === 0) return;
    this.log.info({ connections: this.connections.size }, 'closing WebSocket clients');
    for (const c of this.connections) {
      if (c.ws.readyState === WebSocket.OPEN) c.ws.close(CLOSE_GOING_AWAY, 'server shutting down');
    }
    setTimeout(() => {
      for (const c of this.connections) c.ws.terminate();
    }, SHUTDOWN_GRACE_MS).unref();
  }
}

/** The connection's socket (ws keeps it in `_socket`; absent → sends are simply not corked). */
function socketOf(ws: WebSocket): Duplex | undefined {
  const socket = (ws as unknown as { _socket?: Duplex | null })._socket;
  return socket && typeof socket.cork === 'function' ? socket : undefined;
}

/** Answer an upgrade request with an HTTP error (the API's JSON error body) and close. */
function refuse(socket: Duplex, status: number, error: AllSourceError): void {
  if (!socket.writable) {
    socket.destroy();
    return;
  }
  const body = JSON.stringify(error.toBody());
  socket.once('finish', () => socket.destroy());
  socket.end(
    `HTTP/1.1 ${status} ${http.STATUS_CODES[status] ?? ''}\r\n` +
      'Connection: close\r\n' +
      'Content-Type: application/json; charset=utf-8\r\n' +
      `Content-Length: ${Buffer.byteLength(body)}\r\n` +
      '\r\n' +
      body,
  );
}

export function eventStreamModule(deps: CoreModuleDeps): EventStream {
  return new EventStream(deps, {
    maxConnections: deps.config.wsMaxConnections,
    maxBufferedBytes: deps.config.wsMaxBufferedBytes,
    heartbeatIntervalMs: deps.config.wsHeartbeatIntervalMs,
    apiKeys: deps.config.security.apiKeys,
  });
}
