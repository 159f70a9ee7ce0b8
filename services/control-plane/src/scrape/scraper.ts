/**
 * Scrapes every configured core node once per SCRAPE_INTERVAL_MS, all nodes concurrently, and
 * keeps the latest result of each (the API only ever reads these results and the history; it
 * never scrapes on demand).
 *
 * One cycle = for every node at once: GET /health, /api/v1/stats, /metrics and
 * /api/v1/entities/top, all under one deadline of SCRAPE_TIMEOUT_MS (an AbortSignal, so a node
 * that drips its answer is cut off too) and a body cap of SCRAPE_MAX_BYTES. A cycle therefore
 * ends within the timeout whatever the nodes do, and since the timeout is at most the interval,
 * every healthy node is scraped once per interval even while another one hangs. Errors of one
 * node never reach another node's result.
 */
import type { AllSourceClient, HealthResponse, StatsResponse, TopEntity } from '@allsource/client';
import type { Logger } from 'pino';
import type { ControlPlaneConfig, CoreNode } from '../config';
import {
  addIncrease,
  cloneIncrease,
  computeIncrease,
  emptyGauges,
  GAUGE_NAMES,
  rescaleIncrease,
  sampleFromFamilies,
  zeroIncrease,
  type CoreSample,
  type Gauges,
  type Increase,
} from '../derive/coreSample';
import { CLUSTER_SERIES, type History } from '../history/history';
import type { ControlPlaneMetrics } from '../metrics/controlPlaneMetrics';
import { parseExposition } from '../prometheus/textFormat';
import { createCoreClient, describeError, isNoAnswer } from './coreClients';

export type NodeStatus = 'unknown' | 'healthy' | 'unhealthy' | 'unreachable';

export interface TopEntitiesResult {
  entities: TopEntity[];
  total_entities: number;
  at: number;
}

/** The latest knowledge of one node. */
export interface NodeState {
  readonly node: CoreNode;
  readonly client: AllSourceClient;
  status: NodeStatus;
  /** When the latest scrape finished (ms), null before the first one. */
  lastScrapeAt: number | null;
  /** When the latest fully successful scrape finished. */
  lastSuccessAt: number | null;
  /** What went wrong in the latest scrape (null when it succeeded). */
  lastError: string | null;
  lastDurationMs: number | null;
  /** `/health` body and status of the latest scrape (null when it got no answer). */
  health: HealthResponse | null;
  healthStatusCode: number | null;
  /** `/api/v1/stats` of the latest scrape (null when it failed). */
  stats: StatsResponse | null;
  /** The latest successfully parsed `/metrics` (kept across failures as the base of the next increase). */
  sample: CoreSample | null;
  /** Whether the latest scrape produced `sample`. */
  sampleFresh: boolean;
  /** Increase between the last two successful samples (null right after a start or when stale). */
  lastIncrease: Increase | null;
  topEntities: TopEntitiesResult | null;
  topEntitiesError: string | null;
  /** Recent increases for windowed rates (overview), newest last. */
  window: Array<{ at: number; inc: Increase }>;
  scrapesSucceeded: number;
  scrapesFailed: number;
}

export interface ScraperDeps {
  config: ControlPlaneConfig;
  logger: Logger;
  metrics: ControlPlaneMetrics;
  history: History;
}

export class Scraper {
  readonly nodes: NodeState[];
  private readonly config: ControlPlaneConfig;
  private readonly logger: Logger;
  private readonly metrics: ControlPlaneMetrics;
  private readonly history: History;
  private readonly windowCapacity: number;
  private stopped = false;
  private loop: Promise<void> | undefined;
  private cycleAbort: AbortController | undefined;
  private sleepTimer: NodeJS.Timeout | undefined;
  private wake: (() => void) | undefined;
  private lastClusterAt: number | null = null;
  /** Completed cycles since start. */
  cycles = 0;
  lastCycleAt: number | null = null;
  lastCycleDurationMs: number | null = null;
  private cycleWaiters: Array<() => void> = [];

  constructor(deps: ScraperDeps) {
    this.config = deps.config;
    this.logger = deps.logger;
    this.metrics = deps.metrics;
    this.history = deps.history;
    this.windowCapacity = Math.min(10_000, Math.ceil(this.config.rateWindowMs / this.config.scrapeIntervalMs) + 2);
    this.nodes = this.config.nodes.map((node) => ({
      node,
      client: createCoreClient(node, {
        apiKey: this.config.coreApiKey,
        maxBytes: this.config.scrapeMaxBytes,
        timeoutMs: this.config.scrapeTimeoutMs,
      }),
      status: 'unknown',
      lastScrapeAt: null,
      lastSuccessAt: null,
      lastError: null,
      lastDurationMs: null,
      health: null,
      healthStatusCode: null,
      stats: null,
      sample: null,
      sampleFresh: false,
      lastIncrease: null,
      topEntities: null,
      topEntitiesError: null,
      window: [],
      scrapesSucceeded: 0,
      scrapesFailed: 0,
    }));
  }

  node(id: string): NodeState | undefined {
    return this.nodes.find((n) => n.node.id === id);
  }

  start(): void {
    this.loop ??= this.run();
  }

  private async run(): Promise<void> {
    while (!this.stopped) {
      const started = Date.now();
      this.cycleAbort = new AbortController();
      try {
        await this.runCycle(this.cycleAbort.signal);
      } catch (err) {
        // Never expected (each node's scrape catches its own errors): keep the loop alive.
        this.logger.error({ err }, 'scrape cycle failed');
      }
      if (this.stopped) break;
      const wait = Math.max(0, this.config.scrapeIntervalMs - (Date.now() - started));
      await new Promise<void>((resolve) => {
        this.wake = resolve;
        this.sleepTimer = setTimeout(resolve, wait);
      });
    }
  }

  /** Stops scraping: aborts the cycle in progress and waits for it to end. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.cycleAbort?.abort();
    if (this.sleepTimer) clearTimeout(this.sleepTimer);
    this.wake?.();
    await this.loop;
    for (const w of this.cycleWaiters.splice(0)) w();
  }

  /** Resolves once `count` more cycles have completed (or scraping stopped). */
  waitForCycles(count = 1): Promise<void> {
    const target = this.cycles + count;
    return new Promise((resolve) => {
      const check = (): void => {
        if (this.cycles >= target || this.stopped) resolve();
        else this.cycleWaiters.push(check);
      };
      check();
    });
  }

  /** One scrape of every node, concurrently; then the cluster point. */
  async runCycle(signal: AbortSignal): Promise<void> {
    const started = performance.now();
    await Promise.all(this.nodes.map((state) => this.scrapeNode(state, signal)));
    this.recordCluster();
    this.cycles++;
    this.lastCycleAt = Date.now();
    this.lastCycleDurationMs = performance.now() - started;
    for (const w of this.cycleWaiters.splice(0)) w();
  }

  private async scrapeNode(state: NodeState, cycleSignal: AbortSignal): Promise<void> {
    const { node, client } = state;
    const timeoutMs = this.config.scrapeTimeoutMs;
    const deadline = new AbortController();
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      deadline.abort();
    }, timeoutMs);
    const onCycleAbort = (): void => deadline.abort();
    cycleSignal.addEventListener('abort', onCycleAbort, { once: true });
    const opts = { signal: deadline.signal, timeoutMs };
    const started = performance.now();
    let metricsAt = 0;
    try {
      const [health, stats, metrics, top] = await Promise.allSettled([
        client.http.raw<unknown>('GET', '/health', opts),
        client.stats(opts),
        client.metricsText(opts).then((text) => {
          metricsAt = Date.now();
          return parseExposition(text);
        }),
        client.topEntities({ limit: this.config.topEntitiesLimit }, opts),
      ]);
      const now = Date.now();
      const errors: string[] = [];
      const describe = (what: string, err: unknown): string => `${what}: ${describeError(err, timedOut, timeoutMs)}`;

      // /health: 200 with status "healthy" is healthy; anything else that answered is unhealthy.
      let healthOk = false;
      state.health = null;
      state.healthStatusCode = null;
      if (health.status === 'fulfilled') {
        const res = health.value;
        state.healthStatusCode = res.status;
        const body = res.data;
        const isBody = body !== null && typeof body === 'object' && !Array.isArray(body) && typeof (body as { status?: unknown }).status === 'string';
        if (isBody) state.health = body as HealthResponse;
        if (res.status === 200 && isBody && (body as HealthResponse).status === 'healthy') healthOk = true;
        else if (isBody) errors.push(`health: HTTP ${res.status}, status ${(body as HealthResponse).status}${(body as HealthResponse).reason ? ` (${String((body as HealthResponse).reason)})` : ''}`);
        else errors.push(`health: HTTP ${res.status}, not a health answer: ${JSON.stringify(res.text.slice(0, 80))}`);
      } else errors.push(describe('health', health.reason));

      if (stats.status === 'fulfilled' && isStats(stats.value)) state.stats = stats.value;
      else {
        state.stats = null;
        errors.push(stats.status === 'rejected' ? describe('stats', stats.reason) : 'stats: not a stats answer');
      }

      if (metrics.status === 'fulfilled') {
        const sample = sampleFromFamilies(metrics.value, metricsAt || now);
        const previous = state.sample;
        const inc = previous && sample.at > previous.at ? computeIncrease(previous, sample) : null;
        state.sample = sample;
        state.sampleFresh = true;
        state.lastIncrease = inc;
        if (inc) this.pushWindow(state, sample.at, inc);
        this.history.record(node.id, sample.at, inc, this.gaugesOf(state));
      } else {
        state.sampleFresh = false;
        state.lastIncrease = null;
        errors.push(describe('metrics', metrics.reason));
      }

      if (top.status === 'fulfilled' && Array.isArray(top.value?.entities)) {
        state.topEntities = {
          entities: top.value.entities.slice(0, this.config.topEntitiesLimit).filter(isTopEntity),
          total_entities: Number(top.value.total_entities) || 0,
          at: now,
        };
        state.topEntitiesError = null;
      } else {
        state.topEntitiesError = top.status === 'rejected' ? describe('top_entities', top.reason) : 'top_entities: not a top-entities answer';
        if (top.status === 'rejected' && isNoAnswer(top.reason)) state.topEntities = null;
      }

      const noAnswer = [health, stats, metrics].every((r) => r.status === 'rejected' && isNoAnswer(r.reason));
      const previousStatus = state.status;
      state.status = noAnswer ? 'unreachable' : healthOk && errors.length === 0 ? 'healthy' : 'unhealthy';
      state.lastError = errors.length > 0 ? errors.join('; ') : null;
      state.lastScrapeAt = now;
      state.lastDurationMs = performance.now() - started;
      if (state.status === 'healthy') {
        state.lastSuccessAt = now;
        state.scrapesSucceeded++;
      } else state.scrapesFailed++;
      this.updateMetrics(state);
      if (previousStatus !== state.status) {
        const log = state.status === 'healthy' ? this.logger.info.bind(this.logger) : this.logger.warn.bind(this.logger);
        log({ node_id: node.id, url: node.url, from: previousStatus, to: state.status, error: state.lastError }, 'core node status changed');
      }
    } finally {
      clearTimeout(timer);
      cycleSignal.removeEventListener('abort', onCycleAbort);
    }
  }

  private updateMetrics(state: NodeState): void {
    const labels = { node_id: state.node.id };
    const m = this.metrics.m;
    m.counter('control_plane_scrapes_total').inc({ ...labels, result: state.status === 'healthy' ? 'success' : 'error' });
    m.histogram('control_plane_scrape_duration_seconds').observe(labels, (state.lastDurationMs ?? 0) / 1000);
    m.gauge('control_plane_core_health_status').set(labels, state.status === 'healthy' ? 1 : 0);
    if (state.stats) m.gauge('control_plane_core_events_total').set(labels, state.stats.total_events);
  }

  private pushWindow(state: NodeState, at: number, inc: Increase): void {
    state.window.push({ at, inc });
    const oldest = at - this.config.rateWindowMs;
    while (state.window.length > 0 && (state.window.length > this.windowCapacity || state.window[0]!.at - state.window[0]!.inc.seconds * 1000 < oldest - 1)) {
      state.window.shift();
    }
  }

  /** Gauges of a node from its latest scrape: metrics first, stats where metrics lack them. */
  gaugesOf(state: NodeState): Gauges | null {
    if (!state.sampleFresh && !state.stats) return null;
    const g = state.sampleFresh && state.sample ? { ...state.sample.gauges } : emptyGauges();
    const s = state.stats;
    if (s) {
      if (typeof s.total_events === 'number') g.events_stored = s.total_events;
      if (g.storage_bytes === null && typeof s.storage_bytes === 'number') g.storage_bytes = s.storage_bytes;
      if (g.wal_segments === null && typeof s.wal_segments === 'number') g.wal_segments = s.wal_segments;
      if (g.parquet_files === null && typeof s.parquet_files === 'number') g.parquet_files = s.parquet_files;
    }
    return g;
  }

  /** Sum of the gauges of every node scraped in the latest cycle (null per gauge when none has it). */
  clusterGauges(): Gauges | null {
    const total = emptyGauges();
    let any = false;
    for (const state of this.nodes) {
      const g = this.gaugesOf(state);
      if (!g) continue;
      any = true;
      for (const name of GAUGE_NAMES) {
        const v = g[name];
        if (v !== null) total[name] = (total[name] ?? 0) + v;
      }
    }
    return any ? total : null;
  }

  /**
   * The cluster point of this cycle: rates are the sum of each node's rate (its increase over its
   * own interval), expressed over the time since the previous cluster point, so the cluster's
   * bucket increases are `sum by (le) (rate(...))` across nodes; gauges are summed.
   */
  private recordCluster(): void {
    const now = Date.now();
    const gauges = this.clusterGauges();
    const fresh = this.nodes.filter((s) => s.lastIncrease !== null);
    let inc: Increase | null = null;
    if (this.lastClusterAt !== null && fresh.length > 0) {
      const seconds = (now - this.lastClusterAt) / 1000;
      inc = zeroIncrease();
      for (const s of fresh) addIncrease(inc, rescaleIncrease(s.lastIncrease!, seconds));
      inc.seconds = seconds;
    }
    if (gauges || inc) this.history.record(CLUSTER_SERIES, now, inc, gauges);
    this.lastClusterAt = now;
  }

  /** A node's increase over the rate window (sum of its recent increases), null without data. */
  windowIncrease(state: NodeState, now = Date.now()): Increase | null {
    const from = now - this.config.rateWindowMs;
    let inc: Increase | null = null;
    for (const entry of state.window) {
      if (entry.at <= from) continue;
      inc = inc ? addIncrease(inc, entry.inc) : cloneIncrease(entry.inc);
    }
    return inc && inc.seconds > 0 ? inc : null;
  }

  /**
   * The cluster's increase over the rate window: the nodes' increases over the same window summed
   * (PromQL `sum(increase(x[w]))`, `histogram_quantile(q, sum by (le) (increase(x_bucket[w])))`),
   * over the longest time any node covers.
   */
  clusterWindowIncrease(now = Date.now()): Increase | null {
    const parts = this.nodes.map((s) => this.windowIncrease(s, now)).filter((i): i is Increase => i !== null);
    if (parts.length === 0) return null;
    const total = zeroIncrease();
    for (const p of parts) addIncrease(total, p);
    total.seconds = Math.max(...parts.map((p) => p.seconds));
    return total;
  }
}

function isStats(v: unknown): v is StatsResponse {
  return v !== null && typeof v === 'object' && !Array.isArray(v) && typeof (v as { total_events?: unknown }).total_events === 'number';
}

function isTopEntity(v: unknown): v is TopEntity {
  return (
    v !== null &&
    typeof v === 'object' &&
    typeof (v as TopEntity).entity_id === 'string' &&
    typeof (v as TopEntity).event_count === 'number'
  );
}
