import * as path from 'node:path';
import type { SyncMode } from './storage/wal/writeAheadLog';

/**
 * The core's only reader of the environment. Every setting, its variable and its default is
 * listed here and in docs/configuration.md.
 */
export interface CoreConfig {
  port: number;
  host: string;
  dataDir: string;
  logLevel: string;
  /** Log one line per HTTP request. */
  logRequests: boolean;
  shutdownTimeoutMs: number;

  syncMode: SyncMode;
  walMaxFileBytes: number;
  walPendingMaxBytes: number;
  flushMaxEvents: number;
  flushMaxBytes: number;
  flushMaxAgeMs: number;
  bufferMaxBytes: number;
  rowGroupSize: number;
  segmentCacheBytes: number;
  maxOpenSegments: number;

  maxBodyBytes: number;
  maxBatchEvents: number;
  maxEventBytes: number;
  maxQueryLimit: number;
  maxEntityHistory: number;
  entitySnapshotCacheEntries: number;

  metricsEnabled: boolean;
  eventTypeLabelLimit: number;
  labelValueLimit: number;
}

const MiB = 1024 * 1024;

export const DEFAULTS: CoreConfig = {
  port: 8080,
  host: '127.0.0.1',
  dataDir: './data',
  logLevel: 'info',
  logRequests: true,
  shutdownTimeoutMs: 10_000,

  syncMode: 'always',
  walMaxFileBytes: 64 * MiB,
  walPendingMaxBytes: 64 * MiB,
  flushMaxEvents: 50_000,
  flushMaxBytes: 32 * MiB,
  flushMaxAgeMs: 10_000,
  bufferMaxBytes: 256 * MiB,
  rowGroupSize: 1024,
  segmentCacheBytes: 128 * MiB,
  maxOpenSegments: 256,

  maxBodyBytes: 16 * MiB,
  maxBatchEvents: 10_000,
  maxEventBytes: 1 * MiB,
  maxQueryLimit: 10_000,
  maxEntityHistory: 10_000,
  entitySnapshotCacheEntries: 10_000,

  metricsEnabled: true,
  eventTypeLabelLimit: 1000,
  labelValueLimit: 200,
};

type Env = Record<string, string | undefined>;

export class ConfigError extends Error {}

function int(env: Env, name: string, fallback: number, min: number, max = Number.MAX_SAFE_INTEGER): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isSafeInteger(value) || value < min || value > max) {
    throw new ConfigError(`${name} must be an integer between ${min} and ${max}, got '${raw}'`);
  }
  return value;
}

function bool(env: Env, name: string, fallback: boolean): boolean {
  const raw = env[name]?.toLowerCase();
  if (raw === undefined || raw === '') return fallback;
  if (['1', 'true', 'yes', 'on'].includes(raw)) return true;
  if (['0', 'false', 'no', 'off'].includes(raw)) return false;
  throw new ConfigError(`${name} must be true or false, got '${env[name]}'`);
}

function oneOf<T extends string>(env: Env, name: string, fallback: T, allowed: readonly T[]): T {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  if (!(allowed as readonly string[]).includes(raw)) {
    throw new ConfigError(`${name} must be one of ${allowed.join(', ')}, got '${raw}'`);
  }
  return raw as T;
}

export function loadConfig(env: Env = process.env): CoreConfig {
  const d = DEFAULTS;
  return {
    port: int(env, 'PORT', d.port, 0, 65535),
    host: env.HOST || d.host,
    dataDir: path.resolve(env.DATA_DIR || d.dataDir),
    logLevel: oneOf(env, 'LOG_LEVEL', d.logLevel, ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']),
    logRequests: bool(env, 'LOG_REQUESTS', d.logRequests),
    shutdownTimeoutMs: int(env, 'SHUTDOWN_TIMEOUT_MS', d.shutdownTimeoutMs, 0),

    syncMode: oneOf<SyncMode>(env, 'WAL_SYNC_MODE', d.syncMode, ['always', 'none']),
    walMaxFileBytes: int(env, 'WAL_MAX_FILE_BYTES', d.walMaxFileBytes, 1024),
    walPendingMaxBytes: int(env, 'WAL_PENDING_MAX_BYTES', d.walPendingMaxBytes, 1024),
    flushMaxEvents: int(env, 'FLUSH_MAX_EVENTS', d.flushMaxEvents, 1),
    flushMaxBytes: int(env, 'FLUSH_MAX_BYTES', d.flushMaxBytes, 1024),
    flushMaxAgeMs: int(env, 'FLUSH_MAX_AGE_MS', d.flushMaxAgeMs, 10),
    bufferMaxBytes: int(env, 'BUFFER_MAX_BYTES', d.bufferMaxBytes, 1024),
    rowGroupSize: int(env, 'ROW_GROUP_SIZE', d.rowGroupSize, 16, 1_000_000),
    segmentCacheBytes: int(env, 'SEGMENT_CACHE_BYTES', d.segmentCacheBytes, 0),
    maxOpenSegments: int(env, 'MAX_OPEN_SEGMENTS', d.maxOpenSegments, 1),

    maxBodyBytes: int(env, 'MAX_BODY_BYTES', d.maxBodyBytes, 1024),
    maxBatchEvents: int(env, 'MAX_BATCH_EVENTS', d.maxBatchEvents, 1),
    maxEventBytes: int(env, 'MAX_EVENT_BYTES', d.maxEventBytes, 64),
    maxQueryLimit: int(env, 'MAX_QUERY_LIMIT', d.maxQueryLimit, 1),
    maxEntityHistory: int(env, 'MAX_ENTITY_HISTORY', d.maxEntityHistory, 1),
    entitySnapshotCacheEntries: int(env, 'ENTITY_SNAPSHOT_CACHE_ENTRIES', d.entitySnapshotCacheEntries, 1),

    metricsEnabled: bool(env, 'METRICS_ENABLED', d.metricsEnabled),
    eventTypeLabelLimit: int(env, 'EVENT_TYPE_LABEL_LIMIT', d.eventTypeLabelLimit, 1),
    labelValueLimit: int(env, 'LABEL_VALUE_LIMIT', d.labelValueLimit, 1),
  };
}
