import * as path from 'node:path';

/** Readers of environment variables with the services' one error style; each throws ConfigError. */

export type Env = Record<string, string | undefined>;

/** An invalid setting in the environment; `runService` turns it into exit code 2. */
export class ConfigError extends Error {}

export function envInt(env: Env, name: string, fallback: number, min: number, max = Number.MAX_SAFE_INTEGER): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isSafeInteger(value) || value < min || value > max) {
    throw new ConfigError(`${name} must be an integer between ${min} and ${max}, got '${raw}'`);
  }
  return value;
}

export function envBool(env: Env, name: string, fallback: boolean): boolean {
  const raw = env[name]?.toLowerCase();
  if (raw === undefined || raw === '') return fallback;
  if (['1', 'true', 'yes', 'on'].includes(raw)) return true;
  if (['0', 'false', 'no', 'off'].includes(raw)) return false;
  throw new ConfigError(`${name} must be true or false, got '${env[name]}'`);
}

export function envOneOf<T extends string>(env: Env, name: string, fallback: T, allowed: readonly T[]): T {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  if (!(allowed as readonly string[]).includes(raw)) {
    throw new ConfigError(`${name} must be one of ${allowed.join(', ')}, got '${raw}'`);
  }
  return raw as T;
}

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

/** The settings every service reads the same way (only their defaults differ). */
export interface ServiceSettings {
  port: number;
  host: string;
  dataDir: string;
  logLevel: string;
  /** Log one line per HTTP request. */
  logRequests: boolean;
  shutdownTimeoutMs: number;
}

/** PORT, HOST, DATA_DIR (made absolute), LOG_LEVEL, LOG_REQUESTS, SHUTDOWN_TIMEOUT_MS. */
export function serviceSettings(env: Env, d: ServiceSettings): ServiceSettings {
  return {
    port: envInt(env, 'PORT', d.port, 0, 65535),
    host: env.HOST || d.host,
    dataDir: path.resolve(env.DATA_DIR || d.dataDir),
    logLevel: envOneOf(env, 'LOG_LEVEL', d.logLevel, LOG_LEVELS as readonly string[]),
    logRequests: envBool(env, 'LOG_REQUESTS', d.logRequests),
    shutdownTimeoutMs: envInt(env, 'SHUTDOWN_TIMEOUT_MS', d.shutdownTimeoutMs, 0),
  };
}
