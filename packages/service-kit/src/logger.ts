import pino, { type Logger } from 'pino';

/** Structured JSON logs. Secrets never reach a log line: authorization headers are redacted. */
export function createLogger(level: string, service: string): Logger {
  return pino({
    level,
    base: { service },
    timestamp: pino.stdTimeFunctions.isoTime,
    redact: ['req.headers.authorization', 'headers.authorization', 'api_key', 'apiKey'],
  });
}
