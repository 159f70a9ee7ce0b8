/**
 * Crash torture: the real service (`node dist/main.js`) under concurrent single and batch
 * ingest is killed with SIGKILL at random moments, restarted on the same data directory and
 * checked through its HTTP API, cycle after cycle. Used by `scripts/crash-torture.mjs` (any
 * number of cycles) and by `app/crashTorture.e2e.test.ts` (CI); no jest in here.
 *
 *   const summary = await runCrashTorture({ cycles: 20, workDir, seed: 42, log: console.log });
 *   if (!summary.ok) process.exit(1);
 *
 * Settings make the risky moments happen all the time: a segment flush every 25 events (or 50
 * ms), a WAL rotation every 4 KiB and at each flush, an automatic snapshot every 5 events of an
 * entity and a compaction pass every 30 ms. Most kills are aimed: the data directory is watched
 * and the kill sent the moment a flush, compaction, snapshot, WAL rotation or manifest swap shows
 * (`KILL_TARGETS`); what each kill interrupted is recorded. Some restarts are themselves killed
 * during recovery.
 *
 * After each restart, against everything sent so far in the current data directory:
 * - every acknowledged event is there exactly once, with the id, version, timestamp and content
 *   it was acknowledged with (`lost`, `duplicated`, `corrupted`);
 * - nothing appears that was never sent or that was refused with an answer (`unexpected`);
 * - an event whose answer was lost in the kill is there whole or not at all, a batch all or
 *   nothing (`partialBatches`), and once seen (or not) it stays so at every later restart;
 * - each entity's versions are exactly 1..n (`versionGaps`), its state (snapshots used) equals
 *   the fold of its events, stats agree, GET /events/:id agrees with the query.
 *
 * The data directory is replaced every `cyclesPerDataDir` cycles so that a check reads a bounded
 * number of events however many cycles run. Every loop is bounded in count and time.
 */
import { spawn } from 'node:child_process';
import { readdir, readFile, stat } from 'node:fs/promises';
import * as path from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { isApiError, type AllSourceClient, type Event, type IngestEventRequest, type JsonValue } from '@allsource/client';
import { CORE_MAIN_JS, assertCoreBuilt, spawnCore, type CoreChild } from './childCore';
import { sleep } from './wait';
import { mulberry32 } from './random';

/** Whether a stored event is exactly what its ingest request sent (default tenant). */
export function storedAsSent(e: Event, request: IngestEventRequest): boolean {
  return (
    e.event_type === request.event_type &&
    e.entity_id === request.entity_id &&
    e.tenant_id === 'default' &&
    isDeepStrictEqual(e.payload, request.payload) &&
    isDeepStrictEqual(e.metadata, request.metadata ?? null)
  );
}

/** Settings under which flushes, WAL rotations, snapshots and compactions run constantly. */
export const TORTURE_ENV: Readonly<Record<string, string>> = Object.freeze({
  LOG_LEVEL: 'info',
  FLUSH_MAX_EVENTS: '25',
  FLUSH_MAX_AGE_MS: '50',
  WAL_MAX_FILE_BYTES: '4096',
  SNAPSHOT_EVERY_EVENTS: '5',
  COMPACTION_INTERVAL_MS: '30',
  COMPACTION_MIN_FILES: '2',
  // Merged segments past 64 KiB are left alone, so a pass never rewrites an ever-growing file.
  COMPACTION_SMALL_SEGMENT_BYTES: String(64 * 1024),
  COMPACTION_TARGET_BYTES: String(256 * 1024),
  ROW_GROUP_SIZE: '16',
});

export interface TortureOptions {
  /** Kill/restart cycles. */
  cycles: number;
  /** Folder for the data directories (one per `cyclesPerDataDir` cycles); must exist. */
  workDir: string;
  /** PRNG seed (random when omitted; reported in the summary). */
  seed?: number;
  /** A fresh data directory every this many cycles (default 25). */
  cyclesPerDataDir?: number;
  /** Each cycle's load runs this long before the kill: a random time in [min, max] ms (default 100–1500). */
  minRunMs?: number;
  maxRunMs?: number;
  /** Share of restarts that are themselves killed during recovery (default 0.15). */
  recoveryKillRatio?: number;
  /** Extra service settings (environment names), over TORTURE_ENV. */
  env?: Record<string, string>;
  /** Give up (and report) once this much time has passed (default 6 h). */
  deadlineMs?: number;
  /** Progress lines. */
  log?: (line: string) => void;
}

/** What the SIGKILL interrupted, read from the data directory right after it. */
export interface KillMoments {
  /** A segment file of a flush being written (`seg-…-g0.parquet.*.tmp`). */
  flushWrite: number;
  /** A merged segment being written (`seg-…-gN.parquet.*.tmp`, N ≥ 1). */
  compactionWrite: number;
  /** Segment files outside the manifest: a flush or compaction between its file and its manifest swap, or old files not yet deleted. */
  segmentOutsideManifest: number;
  /** The manifest being replaced (`manifest.json.*.tmp`). */
  manifestSwap: number;
  /** An automatic snapshot file being written (`snapshots/*.tmp`). */
  snapshotWrite: number;
  /** The newest WAL file empty: killed right at a WAL rotation (before its first record). */
  walRotation: number;
  /** More than one WAL file: killed while closed WAL files still waited for their segment. */
  walSeveralFiles: number;
  /** Restarts killed during recovery (before /health answered). */
  recovery: number;
}

export interface TortureSummary {
  ok: boolean;
  seed: number;
  cycles: number;
  dataDirs: number;
  durationMs: number;
  /** Events sent (each exactly once, with a unique marker). */
  sent: number;
  /** Events acknowledged with a 2xx. */
  acknowledged: number;
  /** Acknowledged events the last check of their data directory confirmed present and identical. */
  acknowledgedChecked: number;
  /** Events examined by the checks, summed over all checks. */
  eventsChecked: number;
  /** Events whose answer was lost in a kill that turned out to be stored (whole). */
  inFlightStored: number;
  /** Events refused with an answer (e.g. 503 overload); none may be stored. */
  refused: number;
  lost: number;
  duplicated: number;
  corrupted: number;
  unexpected: number;
  partialBatches: number;
  versionGaps: number;
  /** Events that changed, vanished or appeared between two restarts. */
  unstable: number;
  /** Entity state, stats or GET-by-id disagreeing with the event list. */
  inconsistent: number;
  /** Unexpected answers from the service while loading (a 4xx/5xx other than 503). */
  loadErrors: number;
  killMoments: KillMoments;
  /** Per kill target: cycles aimed at it, and how many of them saw it start before the kill. */
  aimed: Record<string, { cycles: number; seen: number }>;
  /** What recovery reported, summed over restarts. */
  recovery: {
    walCorruptions: number;
    walRecordsSkipped: number;
    orphanFilesRemoved: number;
    eventsFromWal: number;
    segmentErrors: number;
  };
  /** The first problems found (at most 50). */
  problems: string[];
}


const ENTITIES = Array.from({ length: 16 }, (_, i) => `tort-${i}`);
const SINGLE_WRITERS = 6;
const BATCH_WRITERS = 2;
const MAX_PROBLEMS = 50;

interface Sent {
  request: IngestEventRequest;
  cycle: number;
  /** Batch key (events sent in one batch), undefined for single ingests. */
  batch?: string;
  batchSize?: number;
}

interface Acked {
  id: string;
  version: number;
  timestamp: string;
}

/** The state of one data directory: everything sent to it, acknowledged, refused and last seen. */
class Ledger {
  readonly sent = new Map<string, Sent>();
  readonly acked = new Map<string, Acked>();
  readonly refused = new Set<string>();
  /** Markers seen at the last check, with what they were. */
  present = new Map<string, Acked>();
  /** Markers of earlier cycles found absent at the last check (must stay absent). */
  absent = new Set<string>();
  /** Acknowledged events the last check confirmed (each check covers all acknowledged so far). */
  ackedVerified = 0;
}

const UNICODE = ['ünïcødé', '✓', '"quoted"', '\\back\\slash', 'tab\tnew\nline', '日本語', '😀 emoji', 'ø', '\u2028sep'];

/** A varied JSON payload carrying `marker`. */
function payloadFor(rand: () => number, marker: string, batch: string | undefined): JsonValue {
  const pick = <T>(list: readonly T[]): T => list[Math.floor(rand() * list.length)]!;
  const payload: Record<string, JsonValue> = {
    marker,
    amount: Math.round(rand() * 1e6) / 100,
    ratio: rand(),
    big: Math.floor(rand() * Number.MAX_SAFE_INTEGER),
    negative: -Math.floor(rand() * 1000),
    text: `${pick(UNICODE)} ${marker}`,
    flag: rand() < 0.5,
    nothing: null,
    nested: { list: [Math.floor(rand() * 100), pick(UNICODE), null, true, { deep: [1, [2, [3]]] }], empty: {}, none: [] },
    [`k${Math.floor(rand() * 8)}`]: Math.floor(rand() * 1000),
  };
  if (batch) payload.batch = batch;
  if (rand() < 0.1) payload.blob = 'x'.repeat(Math.floor(rand() * 4000));
  return payload;
}

/** A request as it goes on the wire (JSON round trip: -0 becomes 0), to compare answers with. */
function requestFor(rand: () => number, marker: string, type: string, batch?: string): IngestEventRequest {
  return JSON.parse(JSON.stringify(buildRequest(rand, marker, type, batch))) as IngestEventRequest;
}

function buildRequest(rand: () => number, marker: string, type: string, batch?: string): IngestEventRequest {
  const request: IngestEventRequest = {
    event_type: type,
    entity_id: ENTITIES[Math.floor(rand() * ENTITIES.length)]!,
    payload: payloadFor(rand, marker, batch),
  };
  const m = rand();
  if (m < 0.3) request.metadata = null;
  else if (m < 0.7) request.metadata = { writer: marker.split('-')[1] ?? '', source: 'crash-torture', n: Math.floor(m * 100) };
  return request;
}

interface Load {
  stop(): void;
  done: Promise<void>;
  acked(): number;
}

/**
 * 6 single-event writers and 2 batch writers (1–20 events) against `child` until `stop()` or
 * until the kill ends them (each writer is also bounded in requests).
 */
function startLoad(child: CoreChild, ledger: Ledger, cycle: number, seed: number, problems: Problems): Load {
  let stopped = false;
  let ackedThisCycle = 0;
  const client = child.client;
  /** 'stop' after the kill (no answer), 'retry' on 503, 'stop' (and a problem) on anything else. */
  const onError = (err: unknown, markers: string[]): 'stop' | 'retry' => {
    if (isApiError(err, 'network')) return 'stop';
    // An answer that is not 2xx: nothing of this request may ever be stored.
    for (const m of markers) ledger.refused.add(m);
    if (isApiError(err, 'unavailable')) return 'retry';
    problems.add('loadErrors', `cycle ${cycle}: unexpected answer: ${String((err as Error)?.message ?? err)}`);
    return 'stop';
  };

  const single = async (w: number): Promise<void> => {
    const rand = mulberry32(seed ^ (cycle * 7919 + w * 104_729));
    for (let i = 0; i < 20_000 && !stopped; i++) {
      const marker = `c${cycle}-s${w}-${i}`;
      const request = requestFor(rand, marker, 'torture.single');
      ledger.sent.set(marker, { request, cycle });
      try {
        const res = await client.ingest(request);
        ledger.acked.set(marker, { id: res.event_id, version: res.version, timestamp: res.timestamp });
        ackedThisCycle++;
      } catch (err) {
        if (onError(err, [marker]) === 'stop') return;
        await sleep(5);
      }
    }
  };

  const batch = async (w: number): Promise<void> => {
    const rand = mulberry32(seed ^ (cycle * 15_485_863 + w * 32_452_843));
    for (let b = 0; b < 5_000 && !stopped; b++) {
      const key = `c${cycle}-b${w}-${b}`;
      const size = 1 + Math.floor(rand() * 20);
      const markers = Array.from({ length: size }, (_, k) => `${key}-${k}`);
      const events = markers.map((m) => requestFor(rand, m, 'torture.batch', key));
      markers.forEach((m, k) => ledger.sent.set(m, { request: events[k]!, cycle, batch: key, batchSize: size }));
      try {
        const res = await client.ingestBatch(events);
        if (res.events.length !== size) problems.add('loadErrors', `batch ${key} of ${size} answered ${res.events.length} events`);
        res.events.forEach((r, k) => ledger.acked.set(markers[k]!, { id: r.event_id, version: r.version, timestamp: r.timestamp }));
        ackedThisCycle += size;
      } catch (err) {
        if (onError(err, markers) === 'stop') return;
        await sleep(5);
      }
    }
  };

  const done = Promise.all([
    ...Array.from({ length: SINGLE_WRITERS }, (_, w) => single(w)),
    ...Array.from({ length: BATCH_WRITERS }, (_, w) => batch(w)),
  ]).then(() => undefined);
  return { stop: () => (stopped = true), done, acked: () => ackedThisCycle };
}

type ProblemKind = 'lost' | 'duplicated' | 'corrupted' | 'unexpected' | 'partialBatches' | 'versionGaps' | 'unstable' | 'inconsistent' | 'loadErrors';

class Problems {
  readonly counts: Record<ProblemKind, number> = {
    lost: 0,
    duplicated: 0,
    corrupted: 0,
    unexpected: 0,
    partialBatches: 0,
    versionGaps: 0,
    unstable: 0,
    inconsistent: 0,
    loadErrors: 0,
  };
  readonly first: string[] = [];
  constructor(private readonly log: (line: string) => void) {}
  add(kind: ProblemKind, text: string): void {
    this.counts[kind]++;
    if (this.first.length < MAX_PROBLEMS) {
      this.first.push(`${kind}: ${text}`);
      this.log(`PROBLEM ${kind}: ${text.slice(0, 500)}`);
    }
  }
  get total(): number {
    return Object.values(this.counts).reduce((a, b) => a + b, 0);
  }
}

/** Every event of `entity`, oldest first (bounded pages). */
async function eventsOf(client: AllSourceClient, entity: string): Promise<Event[]> {
  const out: Event[] = [];
  const limit = 1000;
  for (let offset = 0; offset < 10_000_000; offset += limit) {
    const page = await client.queryEvents({ entity_id: entity, limit, offset });
    out.push(...page.events);
    if (page.events.length < limit) break;
  }
  return out;
}

/** Shallow merge of the top-level keys of each object payload, in order (the API's entity state). */
function foldState(events: Event[]): Record<string, unknown> {
  const state: Record<string, unknown> = {};
  for (const e of events) {
    if (typeof e.payload === 'object' && e.payload !== null && !Array.isArray(e.payload)) {
      for (const [k, v] of Object.entries(e.payload)) state[k] = v;
    }
  }
  return state;
}

interface CheckResult {
  found: number;
  inFlightStored: number;
  ackedChecked: number;
}

/** Checks the restarted service against the ledger (see the file comment); updates `present`/`absent`. */
async function check(client: AllSourceClient, ledger: Ledger, cycle: number, problems: Problems, rand: () => number): Promise<CheckResult> {
  const found = new Map<string, Event>();
  let total = 0;
  const eventsByEntity = new Map<string, Event[]>();
  for (const entity of ENTITIES) {
    const events = await eventsOf(client, entity);
    eventsByEntity.set(entity, events);
    total += events.length;
    events.forEach((e, i) => {
      if (e.version !== i + 1) problems.add('versionGaps', `cycle ${cycle}: ${entity} event ${i} has version ${e.version}`);
    });
    for (const e of events) {
      const marker = (e.payload as { marker?: unknown } | null)?.marker;
      const origin = typeof marker === 'string' ? ledger.sent.get(marker) : undefined;
      if (!origin) {
        problems.add('unexpected', `cycle ${cycle}: never sent: ${JSON.stringify(e).slice(0, 300)}`);
        continue;
      }
      if (ledger.refused.has(marker as string)) problems.add('unexpected', `cycle ${cycle}: refused with an answer but stored: ${marker}`);
      if (found.has(marker as string)) {
        problems.add('duplicated', `cycle ${cycle}: twice: ${marker}`);
        continue;
      }
      found.set(marker as string, e);
      const { request } = origin;
      if (!storedAsSent(e, request)) {
        problems.add('corrupted', `cycle ${cycle}: sent ${JSON.stringify(request).slice(0, 300)}, got ${JSON.stringify(e).slice(0, 300)}`);
      }
    }
  }

  const stats = await client.stats();
  if (stats.total_events !== total) problems.add('inconsistent', `cycle ${cycle}: stats say ${stats.total_events} events, the entities hold ${total}`);

  let ackedChecked = 0;
  for (const [marker, a] of ledger.acked) {
    const e = found.get(marker);
    if (!e) {
      problems.add('lost', `cycle ${cycle}: acknowledged but missing: ${marker} ${a.id} v${a.version}`);
    } else if (e.id !== a.id || e.version !== a.version || e.timestamp !== a.timestamp) {
      problems.add('corrupted', `cycle ${cycle}: acknowledged ${marker} as ${a.id} v${a.version} ${a.timestamp}, found ${e.id} v${e.version} ${e.timestamp}`);
    } else {
      ackedChecked++;
    }
  }

  // Seen at the last check → unchanged now; absent at the last check → still absent.
  for (const [marker, before] of ledger.present) {
    const e = found.get(marker);
    if (!e || e.id !== before.id || e.version !== before.version || e.timestamp !== before.timestamp) {
      problems.add('unstable', `cycle ${cycle}: ${marker} was ${JSON.stringify(before)}, now ${e ? JSON.stringify({ id: e.id, version: e.version, timestamp: e.timestamp }) : 'missing'}`);
    }
  }
  for (const marker of ledger.absent) {
    if (found.has(marker)) problems.add('unstable', `cycle ${cycle}: ${marker} was absent at the last restart and is there now`);
  }

  // A batch is all or nothing.
  const perBatch = new Map<string, { size: number; present: number }>();
  for (const [marker, s] of ledger.sent) {
    if (!s.batch) continue;
    let b = perBatch.get(s.batch);
    if (!b) perBatch.set(s.batch, (b = { size: s.batchSize!, present: 0 }));
    if (found.has(marker)) b.present++;
  }
  for (const [key, b] of perBatch) {
    if (b.present !== 0 && b.present !== b.size) problems.add('partialBatches', `cycle ${cycle}: batch ${key} is partly there: ${b.present} of ${b.size}`);
  }

  // Entity state (automatic snapshots speed it up) equals the fold of the events.
  for (const [entity, events] of eventsByEntity) {
    if (events.length === 0) continue;
    const state = await client.entityState(entity);
    if (state.event_count !== events.length || !isDeepStrictEqual(state.current_state, foldState(events))) {
      problems.add('inconsistent', `cycle ${cycle}: state of ${entity} (${state.event_count} events) differs from the fold of its ${events.length} events`);
    }
  }

  // GET by id: the newest acknowledged events (written just before the kill) and a random spread.
  const ackedList = [...ledger.acked.entries()];
  const sample = new Map<string, Acked>(ackedList.slice(-50));
  for (let i = 0; i < 50 && ackedList.length > 0; i++) sample.set(...ackedList[Math.floor(rand() * ackedList.length)]!);
  for (const [marker, a] of sample) {
    const e = await client.getEvent(a.id).catch((err: Error) => `failed: ${err.message}`);
    const expected = found.get(marker);
    if (expected && !isDeepStrictEqual(e, expected)) problems.add('inconsistent', `cycle ${cycle}: GET ${a.id}: ${JSON.stringify(e).slice(0, 300)} differs from the query answer`);
  }

  let inFlightStored = 0;
  for (const marker of found.keys()) if (!ledger.acked.has(marker) && ledger.sent.get(marker)!.cycle === cycle) inFlightStored++;
  ledger.present = new Map([...found].map(([marker, e]) => [marker, { id: e.id, version: e.version, timestamp: e.timestamp }]));
  ledger.absent = new Set([...ledger.sent.keys()].filter((m) => !found.has(m)));
  return { found: found.size, inFlightStored, ackedChecked };
}

async function safeReaddir(dir: string): Promise<string[]> {
  return readdir(dir).catch(() => [] as string[]);
}

/** What the kill interrupted, read from the data directory. */
async function killMoment(dataDir: string, into: KillMoments): Promise<string[]> {
  const seen: string[] = [];
  const segmentsDir = path.join(dataDir, 'segments');
  const segFiles = await safeReaddir(segmentsDir);
  const manifest = await readFile(path.join(segmentsDir, 'manifest.json'), 'utf8')
    .then((t) => JSON.parse(t) as { segments: Array<{ file: string }> })
    .catch(() => ({ segments: [] }));
  const listed = new Set(manifest.segments.map((s) => s.file));
  const tmp = segFiles.filter((f) => f.endsWith('.tmp'));
  const mark = (kind: keyof KillMoments, label: string): void => {
    into[kind]++;
    seen.push(label);
  };
  if (tmp.some((f) => /-g0\.parquet\./.test(f))) mark('flushWrite', 'flush write');
  if (tmp.some((f) => /-g[1-9]\d*\.parquet\./.test(f))) mark('compactionWrite', 'compaction write');
  if (tmp.some((f) => f.startsWith('manifest.json.'))) mark('manifestSwap', 'manifest swap');
  if (segFiles.some((f) => f.endsWith('.parquet') && !listed.has(f))) mark('segmentOutsideManifest', 'segment outside manifest');
  if ((await safeReaddir(path.join(dataDir, 'snapshots'))).some((f) => f.endsWith('.tmp'))) mark('snapshotWrite', 'snapshot write');
  const wal = (await safeReaddir(path.join(dataDir, 'wal'))).filter((f) => /^wal-\d+\.log$/.test(f)).sort();
  const newest = wal[wal.length - 1];
  if (newest && (await stat(path.join(dataDir, 'wal', newest)).then((s) => s.size === 0).catch(() => false))) mark('walRotation', 'WAL rotation');
  if (wal.length > 1) mark('walSeveralFiles', `${wal.length} WAL files`);
  return seen;
}

interface RecoveryLine {
  segmentsLoaded?: number;
  eventsFromWal?: number;
  walRecordsSkipped?: number;
  walCorruptions?: number;
  segmentErrors?: unknown[];
  orphanFilesRemoved?: string[];
}

/** The `event store opened` report in the child's log (waits a little for the pipe). */
async function recoveryReport(child: CoreChild): Promise<RecoveryLine | undefined> {
  for (let i = 0; i < 100; i++) {
    const line = child
      .output()
      .split('\n')
      .find((l) => l.includes('"event store opened"'));
    if (line) {
      try {
        return (JSON.parse(line) as { recovery?: RecoveryLine }).recovery;
      } catch {
        return undefined;
      }
    }
    await sleep(20);
  }
  return undefined;
}

/** What a cycle's kill aims at: any moment, or the first sign of one of the risky operations. */
export const KILL_TARGETS = ['random', 'flush', 'compaction', 'snapshot', 'walRotation', 'manifestSwap'] as const;
export type KillTarget = (typeof KILL_TARGETS)[number];

/**
 * Polls the data directory (about every millisecond, until `until`) for the first sign of
 * `target`: a segment temp file of a flush (g0) or a compaction (gN), a snapshot temp file, a
 * new WAL file, a manifest temp file. True once seen (the caller kills at once).
 */
async function watchFor(dataDir: string, target: Exclude<KillTarget, 'random'>, until: number): Promise<boolean> {
  const segments = path.join(dataDir, 'segments');
  const dir = target === 'snapshot' ? path.join(dataDir, 'snapshots') : target === 'walRotation' ? path.join(dataDir, 'wal') : segments;
  const walFiles = async (): Promise<Set<string>> => new Set((await safeReaddir(dir)).filter((f) => f.endsWith('.log')));
  const before = target === 'walRotation' ? await walFiles() : new Set<string>();
  for (let i = 0; i < 100_000 && Date.now() < until; i++) {
    const names = await safeReaddir(dir);
    const seen = names.some((f) => {
      switch (target) {
        case 'flush':
          return /-g0\.parquet\..*\.tmp$/.test(f);
        case 'compaction':
          return /-g[1-9]\d*\.parquet\..*\.tmp$/.test(f);
        case 'snapshot':
          return f.endsWith('.tmp');
        case 'manifestSwap':
          return f.startsWith('manifest.json.') && f.endsWith('.tmp');
        case 'walRotation':
          return f.endsWith('.log') && !before.has(f);
      }
    });
    if (seen) return true;
    await sleep(1);
  }
  return false;
}

/** Starts the service and SIGKILLs it `afterMs` later, whatever it is doing (recovery, usually). */
async function killDuringStart(dataDir: string, env: Record<string, string>, afterMs: number): Promise<void> {
  const proc = spawn(process.execPath, [CORE_MAIN_JS], {
    env: { ...process.env, DATA_DIR: dataDir, PORT: '0', HOST: '127.0.0.1', LOG_REQUESTS: 'false', ...env, LOG_LEVEL: 'warn' },
    stdio: 'ignore',
  });
  const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
  await Promise.race([sleep(afterMs), exited]);
  proc.kill('SIGKILL');
  await exited;
}

/** Runs the torture (see the file comment) and returns its summary; never throws for a finding. */
export async function runCrashTorture(options: TortureOptions): Promise<TortureSummary> {
  assertCoreBuilt();
  const log = options.log ?? (() => undefined);
  const seed = options.seed ?? Math.floor(Math.random() * 2 ** 31);
  const rand = mulberry32(seed);
  const perDir = Math.max(1, options.cyclesPerDataDir ?? 25);
  const minRun = options.minRunMs ?? 100;
  const maxRun = Math.max(minRun, options.maxRunMs ?? 1500);
  const recoveryKillRatio = options.recoveryKillRatio ?? 0.15;
  const env = { ...TORTURE_ENV, ...(options.env ?? {}) };
  const started = Date.now();
  const deadline = started + (options.deadlineMs ?? 6 * 3_600_000);
  const problems = new Problems(log);
  const killMoments: KillMoments = {
    flushWrite: 0,
    compactionWrite: 0,
    segmentOutsideManifest: 0,
    manifestSwap: 0,
    snapshotWrite: 0,
    walRotation: 0,
    walSeveralFiles: 0,
    recovery: 0,
  };
  const recovery = { walCorruptions: 0, walRecordsSkipped: 0, orphanFilesRemoved: 0, eventsFromWal: 0, segmentErrors: 0 };
  let sent = 0;
  let acknowledged = 0;
  let acknowledgedChecked = 0;
  let eventsChecked = 0;
  let inFlightStored = 0;
  let refused = 0;
  let cyclesRun = 0;
  let dataDirs = 0;
  const aimedAt: Record<string, { cycles: number; seen: number }> = Object.fromEntries(KILL_TARGETS.map((t) => [t, { cycles: 0, seen: 0 }]));

  let child: CoreChild | undefined;
  let ledger = new Ledger();
  let dataDir = '';
  const start = (): Promise<CoreChild> => spawnCore(dataDir, env, { clientTimeoutMs: 15_000, healthTimeoutMs: 60_000 });
  const retire = (l: Ledger): void => {
    sent += l.sent.size;
    acknowledged += l.acked.size;
    refused += l.refused.size;
    acknowledgedChecked += l.ackedVerified;
  };
  log(`crash torture: seed ${seed}, ${options.cycles} cycles, a fresh data directory every ${perDir}, settings ${JSON.stringify(env)}`);
  try {
    for (let cycle = 1; cycle <= options.cycles; cycle++) {
      if (Date.now() > deadline) {
        problems.add('loadErrors', `deadline reached after ${cycle - 1} cycles`);
        break;
      }
      if ((cycle - 1) % perDir === 0) {
        if (child) {
          child.kill('SIGTERM');
          const exit = await child.exited;
          if (exit.code !== 0) problems.add('loadErrors', `clean shutdown exited with ${JSON.stringify(exit)}`);
        }
        retire(ledger);
        ledger = new Ledger();
        dataDir = path.join(options.workDir, `data-${++dataDirs}`);
        child = await start();
      }
      const current: CoreChild = child!;
      const load = startLoad(current, ledger, cycle, seed, problems);
      const runMs = minRun + Math.floor(rand() * (maxRun - minRun + 1));
      const target = KILL_TARGETS[Math.floor(rand() * KILL_TARGETS.length)]!;
      const loadStarted = Date.now();
      // Let the load get going, then (for a targeted cycle) watch the data directory and kill
      // as soon as the targeted operation shows; otherwise, or when it never shows, at runMs.
      await sleep(minRun + Math.floor(rand() * Math.max(0, (runMs - minRun) / 2)));
      const aimed = target === 'random' ? false : await watchFor(dataDir, target, loadStarted + runMs);
      aimedAt[target]!.cycles++;
      if (aimed) aimedAt[target]!.seen++;
      if (!aimed) await sleep(Math.max(0, loadStarted + runMs - Date.now()));
      current.kill('SIGKILL');
      const ranMs = Date.now() - loadStarted;
      const exit = await current.exited;
      load.stop();
      await load.done;
      if (exit.signal !== 'SIGKILL') problems.add('loadErrors', `cycle ${cycle}: the service exited by itself (${JSON.stringify(exit)}): ${current.output().slice(-2000)}`);
      const moments = await killMoment(dataDir, killMoments);

      let killedInRecovery = false;
      if (rand() < recoveryKillRatio) {
        await killDuringStart(dataDir, env, 20 + Math.floor(rand() * 400));
        killMoments.recovery++;
        killedInRecovery = true;
      }

      child = await start();
      const report = await recoveryReport(child);
      if (report) {
        recovery.walCorruptions += report.walCorruptions ?? 0;
        recovery.walRecordsSkipped += report.walRecordsSkipped ?? 0;
        recovery.orphanFilesRemoved += report.orphanFilesRemoved?.length ?? 0;
        recovery.eventsFromWal += report.eventsFromWal ?? 0;
        recovery.segmentErrors += report.segmentErrors?.length ?? 0;
        if ((report.segmentErrors?.length ?? 0) > 0) problems.add('inconsistent', `cycle ${cycle}: unreadable segments after a kill: ${JSON.stringify(report.segmentErrors)}`);
      }
      const health = await child.client.raw('GET', '/health');
      if (health.status !== 200) problems.add('inconsistent', `cycle ${cycle}: /health answered ${health.status} ${health.text}`);

      const result = await check(child.client, ledger, cycle, problems, rand);
      eventsChecked += result.found;
      inFlightStored += result.inFlightStored;
      ledger.ackedVerified = result.ackedChecked;
      cyclesRun = cycle;
      log(
        `cycle ${cycle}/${options.cycles}: aimed at ${target}${aimed ? ' (seen)' : ''}, ran ${ranMs} ms, acked ${load.acked()} (total ${ledger.acked.size} in this directory), ` +
          `found ${result.found}, in flight stored ${result.inFlightStored}; killed during: ${moments.join(', ') || 'ingest'}` +
          `${killedInRecovery ? ', then during recovery' : ''}; recovery: ${report ? `${report.eventsFromWal ?? 0} events from WAL, ${report.orphanFilesRemoved?.length ?? 0} orphans removed, ${report.walCorruptions ?? 0} WAL cuts` : 'no report'}; problems so far ${problems.total}`,
      );
    }
  } finally {
    if (child && child.proc.exitCode === null && child.proc.signalCode === null) {
      child.kill('SIGKILL');
      await child.exited;
    }
  }
  retire(ledger);
  const summary: TortureSummary = {
    ok: problems.total === 0,
    seed,
    cycles: cyclesRun,
    dataDirs,
    durationMs: Date.now() - started,
    sent,
    acknowledged,
    acknowledgedChecked,
    eventsChecked,
    inFlightStored,
    refused,
    ...problems.counts,
    killMoments,
    aimed: aimedAt,
    recovery,
    problems: problems.first,
  };
  return summary;
}

/** The summary as a few human-readable lines. */
export function formatTortureSummary(s: TortureSummary): string {
  const k = s.killMoments;
  return [
    `crash torture ${s.ok ? 'PASSED' : 'FAILED'} (seed ${s.seed})`,
    `  cycles: ${s.cycles} (SIGKILL each), data directories: ${s.dataDirs}, duration: ${(s.durationMs / 1000).toFixed(1)} s`,
    `  events: sent ${s.sent}, acknowledged ${s.acknowledged}, acknowledged and verified ${s.acknowledgedChecked}, ` +
      `checked ${s.eventsChecked} (sum over all checks), stored though the answer was lost ${s.inFlightStored}, refused ${s.refused}`,
    `  lost=${s.lost} duplicated=${s.duplicated} corrupted=${s.corrupted} unexpected=${s.unexpected} ` +
      `partial_batches=${s.partialBatches} version_gaps=${s.versionGaps} unstable=${s.unstable} inconsistent=${s.inconsistent} load_errors=${s.loadErrors}`,
    `  killed during: flush write ${k.flushWrite}, compaction write ${k.compactionWrite}, manifest swap ${k.manifestSwap}, ` +
      `segment outside manifest ${k.segmentOutsideManifest}, snapshot write ${k.snapshotWrite}, WAL rotation ${k.walRotation}, ` +
      `several WAL files ${k.walSeveralFiles}, recovery ${k.recovery}`,
    `  kills aimed at (cycles, seen): ${Object.entries(s.aimed).map(([t, a]) => `${t} ${a.cycles}/${a.seen}`).join(', ')}`,
    `  recovery: ${s.recovery.eventsFromWal} events replayed from the WAL, ${s.recovery.walRecordsSkipped} WAL records already in segments skipped, ` +
      `${s.recovery.orphanFilesRemoved} orphan files removed, ${s.recovery.walCorruptions} WAL tails cut, ${s.recovery.segmentErrors} unreadable segments`,
    ...(s.problems.length > 0 ? ['  first problems:', ...s.problems.slice(0, 20).map((p) => `    ${p}`)] : []),
  ].join('\n');
}
