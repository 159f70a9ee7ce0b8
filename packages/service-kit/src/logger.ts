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

export function createLogger(level: string, service: string): Logger {
  return pino(
    {
      level,
      base: { service },
      timestamp: pino.stdTimeFunctions.isoTime,
      redact: ['req.headers.authorization', 'headers.authorization', 'api_key', 'apiKey'],
    },
    // Bounded: if stdout stalls (a blocked pipe or log collector), lines beyond this are dropped
    // instead of piling up in memory.
    pino.destination({ dest: 1, sync: false, maxLength: LOG_BUFFER_MAX_BYTES }),
  );
}
