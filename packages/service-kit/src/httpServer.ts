import { AllSourceError } from '@allsource/errors';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';

/** A server listening through `listenHttp`, ready for a graceful close. */
export interface ListeningHttpServer {
  server: http.Server;
  /** The bound port (useful with PORT=0). */
  port: number;
  /**
   * From now on every answer closes its connection: a keep-alive client would otherwise go on
   * sending requests over it and hold the shutdown until its timeout. `close` does this too; call
   * it first when other shutdown work comes before closing the server.
   */
  beginShutdown(): void;
  /** `beginShutdown`, then `closeHttpServer` with this timeout. */
  close(timeoutMs: number): Promise<void>;
}

/**
 * Sets the services' keep-alive, header and request timeouts, marks answers `Connection: close`
 * once shutting down, and listens on host:port (rejecting on a listen error such as EADDRINUSE).
 */
export async function listenHttp(server: http.Server, port: number, host: string): Promise<ListeningHttpServer> {
  server.keepAliveTimeout = 65_000;
  server.headersTimeout = 66_000;
  server.requestTimeout = 120_000;
  let shuttingDown = false;
  server.prependListener('request', (_req: http.IncomingMessage, res: http.ServerResponse) => {
    if (shuttingDown) res.setHeader('Connection', 'close');
  });
  server.on('clientError', answerClientError);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const beginShutdown = (): void => {
    shuttingDown = true;
  };
  return {
    server,
    port: (server.address() as AddressInfo).port,
    beginShutdown,
    close: (timeoutMs) => {
      beginShutdown();
      return closeHttpServer(server, timeoutMs);
    },
  };
}

/**
 * A request Node's HTTP parser refused (headers over the 16 KiB limit, a malformed request line,
 * a header or request timeout) gets the API's JSON error instead of Node's bare status line, then
 * the connection is closed. As Node does itself, a connection whose current answer has started
 * going out is just closed: another answer would corrupt it.
 */
export function answerClientError(err: Error & { code?: string }, socket: Duplex & { _httpMessage?: { headersSent?: boolean } | null }): void {
  if (err.code === 'ECONNRESET' || !socket.writable || socket._httpMessage?.headersSent === true) {
    socket.destroy();
    return;
  }
  const error =
    err.code === 'HPE_HEADER_OVERFLOW'
      ? new AllSourceError('HEADERS_TOO_LARGE', 'the request line and headers exceed 16 KiB')
      : err.code === 'HPE_CHUNK_EXTENSIONS_OVERFLOW'
        ? new AllSourceError('PAYLOAD_TOO_LARGE', 'chunk extensions too large')
        : err.code === 'ERR_HTTP_REQUEST_TIMEOUT'
          ? new AllSourceError('REQUEST_TIMEOUT', 'the request did not arrive in time')
          : new AllSourceError('INVALID_INPUT', 'malformed HTTP request');
  const body = JSON.stringify(error.toBody());
  socket.end(
    `HTTP/1.1 ${error.status} ${http.STATUS_CODES[error.status] ?? 'Error'}\r\n` +
      `Content-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
  );
}

/**
 * Stops accepting connections and lets in-flight requests finish: idle connections close at once,
 * busy ones as soon as their answer is sent; whatever is still open after `timeoutMs` is cut.
 */
export async function closeHttpServer(server: http.Server, timeoutMs: number): Promise<void> {
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  server.closeIdleConnections();
  // Connections busy now turn idle once their answer is sent: close them as they do.
  const sweep = setInterval(() => server.closeIdleConnections(), 50);
  const timeout = new Promise<void>((resolve) => setTimeout(resolve, timeoutMs).unref());
  await Promise.race([closed, timeout]);
  clearInterval(sweep);
  server.closeAllConnections();
}
