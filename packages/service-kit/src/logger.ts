import pino, { type Logger } from 'pino';

/**
 * Structured JSON logs on stdout. Secrets never reach a log line: authorization headers are
 * redacted.
 *
 * Written asynchronously: a line logged while a write is in flight joins the next write, so a
 * busy server makes one write per batch of access-log lines instead of a blocking write per
 * request. pino flushes what is buffered synchronously when the process exits; a batch still
 * being written at that moment, or a kill -9, can lose the last lines (never data: events are
 * in the write-ahead log).
 */
export const LOG_BUFFER_MAX_BYTES = 16 * 1024 * 1024;

let cachedSecond = Number.NaN;
let secondPrefix = '';

/**
 * pino's `isoTime` with the date and time up to the second made once a second: formatting a
 * `Date` was a visible part of an access log line (about a microsecond a request).
 */
export function isoTime(): string {
  const now = Date.now();
  const second = Math.floor(now / 1000);
  if (second !== cachedSecond) {
    cachedSecond = second;
    secondPrefix = `,"time":"${new Date(second * 1000).toISOString().slice(0, 20)}`;
  }
  const ms = now - second * 1000;
  return `${secondPrefix}${ms < 10 ? '00' : ms < 100 ? '0' : ''}${ms}Z"`;
}

export function createLogger(level: string, service: string): Logger {
  return pino(
    {
      level,
      base: { service },
      timestamp: isoTime,
      redact: ['req.headers.authorization', 'headers.authorization', 'api_key', 'apiKey'],
    },
    // Bounded: if stdout stalls (a blocked pipe or log collector), lines beyond this are dropped
    // instead of piling up in memory.
    pino.destination({ dest: 1, sync: false, maxLength: LOG_BUFFER_MAX_BYTES }),
  );
}
