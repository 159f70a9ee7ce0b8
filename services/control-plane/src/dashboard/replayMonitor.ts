/**
 * The replays of every core node for the dashboard, read from each node's `GET /api/v1/replay`
 * on a bounded, cached refresh: at most one refresh runs at a time, its answer is reused for
 * `maxAgeMs`, every node request has the scrape deadline and body cap, and a node whose latest
 * scrape got no answer is not asked at all (a down node never makes the page wait). However many
 * dashboards are open, each node gets at most one replay request per `maxAgeMs`.
 */
import type { NodeState } from '../scrape/scraper';
import { describeError } from '../scrape/coreClients';

export type ReplayState = 'pending' | 'running' | 'completed' | 'failed' | 'cancelled';

/** One replay as the dashboard API lists it. */
export interface ReplayView {
  node_id: string;
  replay_id: string;
  status: ReplayState | string;
  projection_name: string | null;
  progress_percentage: number;
  processed_events: number;
  total_events: number;
  failed_events: number;
  events_per_second: number;
  started_at: string | null;
  updated_at: string | null;
  completed_at: string | null;
  error_message: string | null;
}

/** What one refresh learnt from one node. */
export interface NodeReplays {
  node_id: string;
  /** `ok`: listed; `error`: asked and failed; `skipped`: not asked (unreachable or not scraped yet). */
  status: 'ok' | 'error' | 'skipped';
  error: string | null;
  replays: ReplayView[];
}

export interface ReplaySnapshot {
  at: number;
  nodes: NodeReplays[];
}

/** Entries read from one node's list (newest first): the core keeps up to REPLAY_MAX_RECORDS. */
export const MAX_REPLAYS_PER_NODE = 500;

export interface ReplayMonitorOptions {
  /** How long one refresh is reused. */
  maxAgeMs: number;
  /** Deadline of one node's request. */
  timeoutMs: number;
  now?: () => number;
}

const ACTIVE = new Set(['pending', 'running']);
export const isActive = (r: ReplayView): boolean => ACTIVE.has(r.status);

export class ReplayMonitor {
  private snapshot: ReplaySnapshot | null = null;
  private inFlight: Promise<ReplaySnapshot> | null = null;
  /** Refreshes started (for tests and bookkeeping). */
  refreshes = 0;

  constructor(
    private readonly nodes: () => readonly NodeState[],
    private readonly options: ReplayMonitorOptions,
  ) {}

  private now(): number {
    return (this.options.now ?? Date.now)();
  }

  /** The cached snapshot when fresh, else the result of one (shared) refresh. */
  get(): Promise<ReplaySnapshot> {
    if (this.snapshot && this.now() - this.snapshot.at < this.options.maxAgeMs) return Promise.resolve(this.snapshot);
    this.inFlight ??= this.refresh().finally(() => {
      this.inFlight = null;
    });
    return this.inFlight;
  }

  private async refresh(): Promise<ReplaySnapshot> {
    this.refreshes++;
    const nodes = await Promise.all(this.nodes().map((state) => this.fetchNode(state)));
    this.snapshot = { at: this.now(), nodes };
    return this.snapshot;
  }

  private async fetchNode(state: NodeState): Promise<NodeReplays> {
    const node_id = state.node.id;
    if (state.status === 'unreachable' || state.status === 'unknown') {
      return { node_id, status: 'skipped', error: state.status === 'unknown' ? 'not scraped yet' : 'unreachable at the latest scrape', replays: [] };
    }
    const { timeoutMs } = this.options;
    const deadline = new AbortController();
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      deadline.abort();
    }, timeoutMs);
    try {
      const answer: unknown = await state.client.replay.list({ timeoutMs, signal: deadline.signal });
      const list = (answer as { replays?: unknown } | null)?.replays;
      if (!Array.isArray(list)) return { node_id, status: 'error', error: 'replay: not a replay list', replays: [] };
      const replays = list
        .slice(0, MAX_REPLAYS_PER_NODE)
        .map((r) => replayView(node_id, r))
        .filter((r): r is ReplayView => r !== null);
      return { node_id, status: 'ok', error: null, replays };
    } catch (err) {
      return { node_id, status: 'error', error: `replay: ${describeError(err, timedOut, timeoutMs)}`, replays: [] };
    } finally {
      clearTimeout(timer);
    }
  }
}

const num = (v: unknown): number => (typeof v === 'number' && Number.isFinite(v) ? v : 0);
const text = (v: unknown, max = 200): string | null => (typeof v === 'string' ? v.slice(0, max) : null);

/** A core's replay entry → the dashboard's view (null when it is not a replay). */
export function replayView(nodeId: string, raw: unknown): ReplayView | null {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) return null;
  const r = raw as Record<string, unknown>;
  const id = text(r.replay_id);
  const status = text(r.status, 32);
  if (id === null || status === null) return null;
  return {
    node_id: nodeId,
    replay_id: id,
    status,
    projection_name: text(r.projection_name),
    progress_percentage: Math.min(100, Math.max(0, num(r.progress_percentage))),
    processed_events: num(r.processed_events),
    total_events: num(r.total_events),
    failed_events: num(r.failed_events),
    events_per_second: num(r.events_per_second),
    started_at: text(r.started_at, 40),
    updated_at: text(r.updated_at, 40),
    completed_at: text(r.completed_at, 40),
    error_message: text(r.error_message, 500),
  };
}

const time = (s: string | null): number => (s === null ? 0 : Date.parse(s) || 0);

/**
 * Every active replay (newest start first), then the `recent` most recently finished ones: what
 * the page lists. Active replays are bounded by each core's REPLAY_MAX_CONCURRENT; `maxActive`
 * guards against a node claiming more.
 */
export function selectReplays(nodes: readonly NodeReplays[], recent: number, maxActive = 200): { active: ReplayView[]; finished: ReplayView[] } {
  const all = nodes.flatMap((n) => n.replays);
  const active = all.filter(isActive).sort((a, b) => time(b.started_at) - time(a.started_at) || a.node_id.localeCompare(b.node_id));
  const finished = all
    .filter((r) => !isActive(r))
    .sort((a, b) => time(b.completed_at ?? b.updated_at) - time(a.completed_at ?? a.updated_at) || a.node_id.localeCompare(b.node_id));
  return { active: active.slice(0, maxActive), finished: finished.slice(0, recent) };
}
