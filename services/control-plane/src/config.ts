import {
  ConfigError,
  envInt,
  securitySettings,
  serviceSettings,
  type Env,
  type SecuritySettings,
  type ServiceSettings,
} from '@allsource/service-kit';

/**
 * The control plane's only reader of the environment. Every setting, its variable and its default
 * is listed here and in docs/control-plane.md.
 */
export interface CoreNode {
  /** Stable id used in the API and as the `node_id` label (`[A-Za-z0-9_.-]`, 1-64 chars). */
  id: string;
  /** Base URL of the node, e.g. `http://127.0.0.1:8080` (no trailing slash). */
  url: string;
  /** Value of the Prometheus instance label that identifies this node (PROMETHEUS_URL mode). */
  prometheusInstance: string;
}

export interface ControlPlaneConfig extends ServiceSettings {
  clusterId: string;
  /** Its own API keys (operations need admin), metrics token, CORS, rate limits (docs/security.md). */
  security: SecuritySettings;

  nodes: CoreNode[];
  /** Sent to the core as `Authorization: Bearer <key>` when set. */
  coreApiKey: string | undefined;

  scrapeIntervalMs: number;
  scrapeTimeoutMs: number;
  scrapeMaxBytes: number;
  topEntitiesLimit: number;
  rateWindowMs: number;
  operationTimeoutMs: number;
  maxBodyBytes: number;
  /** Storage capacity of one core node in bytes, for `storage_usage_percent`; 0 = unknown. */
  storageCapacityBytes: number;

  historyRawRetentionMs: number;
  historyMaxRawPoints: number;
  historyRollupStepMs: number;
  historyRollupRetentionMs: number;
  historySnapshotIntervalMs: number;

  prometheusUrl: string | undefined;
  prometheusTimeoutMs: number;
  prometheusSelector: string;
  prometheusInstanceLabel: string;
  prometheusRateWindowMs: number;
}

const MiB = 1024 * 1024;
const HOUR = 3_600_000;

/** Most core nodes one control plane watches (bounds series, history memory and fan-out). */
export const MAX_CORE_NODES = 32;
/** Node ids that would clash with the timeseries `node` parameter's own values. */
export const RESERVED_NODE_IDS: readonly string[] = ['cluster', 'all'];

export const DEFAULTS = {
  port: 8081,
  host: '127.0.0.1',
  dataDir: './data/control-plane',
  logLevel: 'info',
  logRequests: true,
  shutdownTimeoutMs: 10_000,
  clusterId: 'allsource',
  coreNodes: 'core-1=http://127.0.0.1:8080',
  scrapeIntervalMs: 15_000,
  /** The default timeout is min(5000, SCRAPE_INTERVAL_MS). */
  scrapeTimeoutMs: 5_000,
  scrapeMaxBytes: 16 * MiB,
  topEntitiesLimit: 100,
  rateWindowMs: 60_000,
  operationTimeoutMs: 30_000,
  maxBodyBytes: 1 * MiB,
  storageCapacityBytes: 0,
  historyRawRetentionMs: 24 * HOUR,
  historyMaxRawPoints: 20_000,
  historyRollupStepMs: 5 * 60_000,
  historyRollupRetentionMs: 30 * 24 * HOUR,
  historySnapshotIntervalMs: 60_000,
  prometheusTimeoutMs: 10_000,
  prometheusSelector: '',
  prometheusInstanceLabel: 'instance',
  prometheusRateWindowMs: 60_000,
} as const;

export { ConfigError };

function httpUrl(name: string, raw: string): string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new ConfigError(`${name}: '${raw}' is not a URL`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new ConfigError(`${name}: '${raw}' must be an http:// or https:// URL`);
  }
  if (url.search || url.hash) throw new ConfigError(`${name}: '${raw}' must not have a query or fragment`);
  return raw.replace(/\/+$/, '');
}

/** host:port of a URL, the `instance` label Prometheus gives a target by default. */
function defaultInstance(url: string): string {
  const u = new URL(url);
  const port = u.port || (u.protocol === 'https:' ? '443' : '80');
  return `${u.hostname.includes(':') ? `[${u.hostname.replace(/^\[|\]$/g, '')}]` : u.hostname}:${port}`;
}

/**
 * `CORE_NODES`: comma-separated `id=url` entries (`core-1=http://127.0.0.1:8080,core-2=http://10.0.0.2:8080`);
 * an entry without `id=` gets `core-<position>`.
 */
export function parseCoreNodes(raw: string, instancesRaw = ''): CoreNode[] {
  const entries = raw
    .split(',')
    .map((e) => e.trim())
    .filter((e) => e !== '');
  if (entries.length === 0) throw new ConfigError('CORE_NODES must list at least one node');
  if (entries.length > MAX_CORE_NODES) throw new ConfigError(`CORE_NODES lists ${entries.length} nodes; at most ${MAX_CORE_NODES}`);
  const instances = new Map<string, string>();
  for (const entry of instancesRaw.split(',').map((e) => e.trim()).filter((e) => e !== '')) {
    const eq = entry.indexOf('=');
    if (eq <= 0) throw new ConfigError(`PROMETHEUS_NODE_INSTANCES: expected 'id=instance', got '${entry}'`);
    instances.set(entry.slice(0, eq).trim(), entry.slice(eq + 1).trim());
  }
  const nodes: CoreNode[] = [];
  entries.forEach((entry, index) => {
    const match = /^([^=]+)=(.+)$/.exec(entry);
    const id = match ? match[1]!.trim() : `core-${index + 1}`;
    const url = httpUrl('CORE_NODES', match ? match[2]!.trim() : entry);
    if (!/^[A-Za-z0-9_.-]{1,64}$/.test(id)) {
      throw new ConfigError(`CORE_NODES: node id '${id}' must be 1-64 of letters, digits, '_', '.', '-'`);
    }
    if (RESERVED_NODE_IDS.includes(id)) throw new ConfigError(`CORE_NODES: node id '${id}' is reserved`);
    if (nodes.some((n) => n.id === id)) throw new ConfigError(`CORE_NODES: node id '${id}' is listed twice`);
    nodes.push({ id, url, prometheusInstance: instances.get(id) ?? defaultInstance(url) });
  });
  for (const id of instances.keys()) {
    if (!nodes.some((n) => n.id === id)) throw new ConfigError(`PROMETHEUS_NODE_INSTANCES names unknown node '${id}'`);
  }
  return nodes;
}

export function loadConfig(env: Env = process.env): ControlPlaneConfig {
  const d = DEFAULTS;
  const scrapeIntervalMs = envInt(env, 'SCRAPE_INTERVAL_MS', d.scrapeIntervalMs, 50, 3_600_000);
  const scrapeTimeoutMs = envInt(env, 'SCRAPE_TIMEOUT_MS', Math.min(d.scrapeTimeoutMs, scrapeIntervalMs), 10, 600_000);
  if (scrapeTimeoutMs > scrapeIntervalMs) {
    // A cycle lasts at most the timeout, so every healthy node is scraped once per interval even
    // while another node hangs.
    throw new ConfigError(`SCRAPE_TIMEOUT_MS (${scrapeTimeoutMs}) must not exceed SCRAPE_INTERVAL_MS (${scrapeIntervalMs})`);
  }
  const historyRollupStepMs = envInt(env, 'HISTORY_ROLLUP_STEP_MS', d.historyRollupStepMs, 1000, 24 * HOUR);
  const historyRollupRetentionMs = envInt(env, 'HISTORY_ROLLUP_RETENTION_MS', d.historyRollupRetentionMs, historyRollupStepMs, 400 * 24 * HOUR);
  if (historyRollupRetentionMs / historyRollupStepMs > 100_000) {
    throw new ConfigError('HISTORY_ROLLUP_RETENTION_MS / HISTORY_ROLLUP_STEP_MS must be at most 100000 points');
  }
  const prometheusUrl = env.PROMETHEUS_URL ? httpUrl('PROMETHEUS_URL', env.PROMETHEUS_URL) : undefined;
  const selector = (env.PROMETHEUS_SELECTOR ?? d.prometheusSelector).trim();
  if (selector !== '' && /[{}]/.test(selector)) {
    throw new ConfigError("PROMETHEUS_SELECTOR lists label matchers without braces, e.g. job=\"allsource-core\"");
  }
  const instanceLabel = env.PROMETHEUS_INSTANCE_LABEL || d.prometheusInstanceLabel;
  if (!/^[a-zA-Z_][a-zA-Z0-9_]*$/.test(instanceLabel)) throw new ConfigError(`PROMETHEUS_INSTANCE_LABEL '${instanceLabel}' is not a label name`);
  const clusterId = env.CLUSTER_ID || d.clusterId;
  return {
    ...serviceSettings(env, d),
    clusterId,
    security: securitySettings(env),

    nodes: parseCoreNodes(env.CORE_NODES || d.coreNodes, env.PROMETHEUS_NODE_INSTANCES ?? ''),
    coreApiKey: env.CORE_API_KEY || undefined,

    scrapeIntervalMs,
    scrapeTimeoutMs,
    scrapeMaxBytes: envInt(env, 'SCRAPE_MAX_BYTES', d.scrapeMaxBytes, 1024, 1024 * MiB),
    topEntitiesLimit: envInt(env, 'TOP_ENTITIES_LIMIT', d.topEntitiesLimit, 1, 1000),
    rateWindowMs: envInt(env, 'RATE_WINDOW_MS', d.rateWindowMs, 100, 24 * HOUR),
    operationTimeoutMs: envInt(env, 'OPERATION_TIMEOUT_MS', d.operationTimeoutMs, 100, 600_000),
    maxBodyBytes: envInt(env, 'MAX_BODY_BYTES', d.maxBodyBytes, 1024, 64 * MiB),
    storageCapacityBytes: envInt(env, 'STORAGE_CAPACITY_BYTES', d.storageCapacityBytes, 0),

    historyRawRetentionMs: envInt(env, 'HISTORY_RAW_RETENTION_MS', d.historyRawRetentionMs, 60_000, 30 * 24 * HOUR),
    historyMaxRawPoints: envInt(env, 'HISTORY_MAX_RAW_POINTS', d.historyMaxRawPoints, 10, 1_000_000),
    historyRollupStepMs,
    historyRollupRetentionMs,
    historySnapshotIntervalMs: envInt(env, 'HISTORY_SNAPSHOT_INTERVAL_MS', d.historySnapshotIntervalMs, 100, 24 * HOUR),

    prometheusUrl,
    prometheusTimeoutMs: envInt(env, 'PROMETHEUS_TIMEOUT_MS', d.prometheusTimeoutMs, 100, 600_000),
    prometheusSelector: selector,
    prometheusInstanceLabel: instanceLabel,
    prometheusRateWindowMs: envInt(env, 'PROMETHEUS_RATE_WINDOW_MS', d.prometheusRateWindowMs, 1000, 24 * HOUR),
  };
}
