import * as fs from 'node:fs';
import * as path from 'node:path';
import type { DuckJob, DuckResult } from '../children/duckdb';
import { figure, target, type Scenario } from '../lib/figures';
import { getJson, ok, pool, request } from '../lib/http';
import { checkLoad, lanes } from '../lib/loadgen';
import { coreMain, distDir, removeDir, runJsonChild, sleep, startServer, tempDir, type ServerProcess } from '../lib/processes';
import { median, num, round } from '../lib/stats';
import { batchBody, EVENT_TYPES } from '../lib/workload';
import type { Lane, LaneResult } from '../loadgen/protocol';

const EVENTS_PER_ENTITY = 150;
const PARAMS = 64;
const LIMIT = 100;

interface QueryDef {
  name: string;
  core: (k: number) => string;
  duck: { sql: string; params: (k: number) => string[]; fold?: boolean };
}

/**
 * 6. Query latency over N stored events (all in Parquet segments): entity history, type, time
 * range and entity state, over HTTP from the load generator (one connection, one request at a
 * time, 64 different parameters cycled); entity state also on a copy of the data served with
 * automatic snapshots off (SNAPSHOT_EVERY_EVENTS=0, and the snapshot files removed). The same
 * questions answered by DuckDB over the same segment files, side by side; and the floor of the
 * entity history's latency: a plain server answering the same number of bytes, same client.
 */
export const queries: Scenario = {
  id: '6-queries',
  title: 'query latency (core over HTTP vs DuckDB over the same Parquet)',
  async run(ctx) {
    const { quick, repeats } = ctx.settings;
    const total = quick ? 200_000 : 1_000_000;
    const entities = Math.round(total / EVENTS_PER_ENTITY);
    const perQuery = quick ? 300 : 2000;
    // Untimed requests each lane sends first: the load generator is a new process every round,
    // and its client code takes a few thousand round trips to be fully compiled. Measured on the
    // same warm core: p99 1.0-1.9 ms after 1,000 untimed requests, 0.66-0.72 ms after 4,000, the
    // same as a client that had been running all along.
    const warmup = quick ? 2000 : 4000;
    const entity = (k: number): string => `order-${k % PARAMS}`;

    // Load through the real ingest path (so automatic snapshots are taken), then stop: the
    // final flush leaves every event in segments and the WAL empty.
    const withSnapshots = tempDir('query-snap');
    const withoutSnapshots = tempDir('query-nosnap');
    let a: ServerProcess | undefined;
    let b: ServerProcess | undefined;
    let floor: ServerProcess | undefined;
    const floorRounds: LaneResult[] = [];
    let historyBytes = 0;
    const coreRounds: Array<Record<string, LaneResult>> = [];
    const noSnapRounds: LaneResult[] = [];
    const coreRows: Record<string, number> = {};
    let duck: DuckResult | undefined;
    try {
      const loadStarted = performance.now();
      const loader = await startServer('core-query-load', coreMain, {}, { dataDir: withSnapshots, keepDataDir: true });
      try {
        await pool(total / 1000, 4, async (i) => {
          await ok('POST', `${loader.url}/api/v1/events/batch`, batchBody(1000, i * 1000, entities));
        });
        // Automatic snapshots are taken off the commit path, one entity at a time, in the order
        // entities cross version 100. The queried entities (order-0 … order-63) are the first to
        // cross it: wait until each has its snapshot (the rest of the backlog is not needed).
        for (const deadline = performance.now() + 120_000; ; ) {
          const have = await Promise.all(
            Array.from({ length: PARAMS }, (_, k) => getJson<{ total: number }>(`${loader.url}/api/v1/snapshots?entity_id=${entity(k)}&limit=1`)),
          );
          if (have.every((h) => h.total > 0)) break;
          if (performance.now() > deadline) throw new Error('the queried entities got no automatic snapshot in 120 s');
          await sleep(100);
        }
      } finally {
        await loader.stop();
      }
      fs.cpSync(withSnapshots, withoutSnapshots, { recursive: true });
      fs.rmSync(path.join(withoutSnapshots, 'snapshots'), { recursive: true, force: true });
      const snapshotFiles = fs.existsSync(path.join(withSnapshots, 'snapshots')) ? fs.readdirSync(path.join(withSnapshots, 'snapshots')).length : 0;
      const segments = fs.readdirSync(path.join(withSnapshots, 'segments')).filter((f) => f.endsWith('.parquet'));
      ctx.log(`${total} events loaded in ${round((performance.now() - loadStarted) / 1000, 1)} s: ${segments.length} segments, ${snapshotFiles} snapshot files`);

      a = await startServer('core-query', coreMain, {}, { dataDir: withSnapshots, keepDataDir: true });
      b = await startServer('core-query-nosnap', coreMain, { SNAPSHOT_EVERY_EVENTS: '0', SNAPSHOT_MAX_AGE_MS: '0' }, { dataDir: withoutSnapshots, keepDataDir: true });

      const first = await getJson<{ events: Array<{ timestamp: string }> }>(`${a.url}/api/v1/events/query?limit=1&order=asc`);
      const lastEv = await getJson<{ events: Array<{ timestamp: string }> }>(`${a.url}/api/v1/events/query?limit=1&order=desc`);
      const t0 = Date.parse(first.events[0]!.timestamp);
      const t1 = Date.parse(lastEv.events[0]!.timestamp);
      // 64 windows of 1% of the time span, spread over it.
      const windowMs = Math.max(1, Math.floor((t1 - t0) / 100));
      const win = (k: number): [string, string] => {
        const start = t0 + Math.floor(((t1 - t0 - windowMs) * (k % PARAMS)) / PARAMS);
        return [new Date(start).toISOString(), new Date(start + windowMs).toISOString()];
      };
      const defs: QueryDef[] = [
        {
          name: 'entity history',
          core: (k) => `/api/v1/events/query?entity_id=${entity(k)}`,
          duck: { sql: 'SELECT * FROM events WHERE entity_id = $1 ORDER BY sequence', params: (k) => [entity(k)] },
        },
        {
          name: `type (limit ${LIMIT})`,
          core: (k) => `/api/v1/events/query?event_type=${EVENT_TYPES[k % 3]}&limit=${LIMIT}`,
          duck: { sql: `SELECT * FROM events WHERE event_type = $1 ORDER BY sequence LIMIT ${LIMIT}`, params: (k) => [EVENT_TYPES[k % 3]!] },
        },
        {
          name: `time range (1% of span, limit ${LIMIT})`,
          core: (k) => `/api/v1/events/query?since=${win(k)[0]}&until=${win(k)[1]}&limit=${LIMIT}`,
          duck: {
            sql: `SELECT * FROM events WHERE "timestamp" BETWEEN $1::TIMESTAMPTZ AND $2::TIMESTAMPTZ ORDER BY sequence LIMIT ${LIMIT}`,
            params: (k) => win(k),
          },
        },
        {
          name: 'entity state',
          core: (k) => `/api/v1/entities/${entity(k)}/state`,
          duck: { sql: 'SELECT payload FROM events WHERE entity_id = $1 ORDER BY sequence', params: (k) => [entity(k)], fold: true },
        },
      ];
      const laneOf = (d: QueryDef): Lane => ({ name: d.name, requests: Array.from({ length: PARAMS }, (_, k) => ({ path: d.core(k) })), count: perQuery, warmup });
      const stateLane = laneOf(defs[3]!);
      // Rows the core answers per query (mean over the 64 parameters), to check DuckDB answers the same question.
      for (const d of defs) {
        let rows = 0;
        for (let k = 0; k < PARAMS; k++) {
          const body = await getJson<{ count?: number; event_count?: number }>(`${a.url}${d.core(k)}`);
          rows += body.count ?? body.event_count ?? 0;
        }
        coreRows[d.name] = rows / PARAMS;
      }
      // The floor: a plain server answering as many bytes as an entity history, timed the same way.
      for (let k = 0; k < PARAMS; k++) historyBytes += Buffer.byteLength((await request('GET', `${a.url}${defs[0]!.core(k)}`)).text);
      historyBytes = Math.round(historyBytes / PARAMS);
      floor = await startServer('static-answer', path.join(distDir, 'servers/staticAnswer.js'), { BODY_BYTES: String(historyBytes) });
      const floorLane: Lane = { name: 'floor', requests: [{ path: '/api/v1/events/query' }], count: perQuery, warmup };
      // One untimed pass to warm both cores (first reads of each segment) and the floor.
      await lanes({ base: a.url, timeLimitMs: 120_000, sequential: true, lanes: defs.map((d) => ({ ...laneOf(d), count: PARAMS, warmup: 0 })) });
      await lanes({ base: b.url, timeLimitMs: 120_000, lanes: [{ ...stateLane, count: PARAMS, warmup: 0 }] });
      await lanes({ base: floor.url, timeLimitMs: 120_000, lanes: [{ ...floorLane, count: PARAMS, warmup: 0 }] });
      for (let r = 0; r < repeats; r++) {
        const resA = await lanes({ base: a.url, timeLimitMs: 300_000, sequential: true, lanes: defs.map(laneOf) });
        const resB = await lanes({ base: b.url, timeLimitMs: 300_000, lanes: [stateLane] });
        const resF = await lanes({ base: floor.url, timeLimitMs: 300_000, lanes: [floorLane] });
        for (const l of [...resA.lanes, ...resB.lanes, ...resF.lanes]) checkLoad(l, `query ${l.name}`);
        coreRounds.push(Object.fromEntries(resA.lanes.map((l) => [l.name, l])));
        noSnapRounds.push(resB.lanes[0]!);
        floorRounds.push(resF.lanes[0]!);
        ctx.log(
          `round ${r + 1}: ${resA.lanes.map((l) => `${l.name} p50 ${l.latency.p50} p99 ${l.latency.p99}`).join('; ')}; state without snapshots p99 ${resB.lanes[0]!.latency.p99} ms; ` +
            `floor (${historyBytes} bytes) p50 ${resF.lanes[0]!.latency.p50} p99 ${resF.lanes[0]!.latency.p99} ms`,
        );
      }

      const glob = path.join(withSnapshots, 'segments', '*.parquet');
      const duckJob: DuckJob = {
        glob,
        // Whole passes over the 64 parameters, so its mean row count compares with the core's.
        iterations: quick ? PARAMS : 4 * PARAMS,
        timeLimitMs: quick ? 60_000 : 240_000,
        queries: defs.map((d) => ({ name: d.name, sql: d.duck.sql, params: Array.from({ length: PARAMS }, (_, k) => d.duck.params(k)), ...(d.duck.fold ? { fold: true } : {}) })),
      };
      duck = await runJsonChild<DuckResult>(path.join(distDir, 'children/duckdb.js'), duckJob, { timeoutMs: duckJob.timeLimitMs + 60_000 });
      ctx.log(`DuckDB ${duck.version} (${duck.threads} threads): ${duck.queries.map((q) => `${q.name} p50 ${q.latency.p50} p99 ${q.latency.p99}`).join('; ')}`);
      ctx.note('query_data', { events: total, entities, events_per_entity: EVENTS_PER_ENTITY, segments: segments.length, snapshot_files: snapshotFiles, requests_per_query_per_round: perQuery, untimed_warmup_requests_per_lane: warmup, duckdb: `${duck.version}, ${duck.threads} threads, enable_object_cache=true` });
    } finally {
      await floor?.stop();
      await b?.stop();
      await a?.stop();
      removeDir(withSnapshots);
      removeDir(withoutSnapshots);
    }

    for (const d of ['entity history', `type (limit ${LIMIT})`, `time range (1% of span, limit ${LIMIT})`, 'entity state']) {
      const runs = coreRounds.map((r) => r[d]!);
      const dq = duck!.queries.find((q) => q.name === d)!;
      const isEntity = d === 'entity history' || d === 'entity state';
      ctx.add(
        figure({
          scenario: this.id,
          name: `query p99 at ${total / 1e6}M events: ${d}`,
          unit: 'ms',
          runs: runs.map((x) => x.latency.p99),
          baseline: { name: 'DuckDB over the same Parquet (p99)', runs: runs.map(() => dq.latency.p99) },
          ...(isEntity ? { target: target('≤ 2 ms', 'value', '<=', 2) } : {}),
          detail: `p50 ${num(median(runs.map((x) => x.latency.p50)))} ms; DuckDB p50 ${num(dq.latency.p50)} ms; rows ${num(coreRows[d] ?? NaN)} (core) / ${num(dq.meanRows)} (DuckDB)`,
          extra: { core_p50_ms: runs.map((x) => x.latency.p50), duckdb_p50_ms: dq.latency.p50, duckdb_mean_rows: round(dq.meanRows, 1), core_mean_rows: round(coreRows[d] ?? NaN, 1) },
        }),
      );
    }
    const history = coreRounds.map((r) => r['entity history']!);
    ctx.add(
      figure({
        scenario: this.id,
        name: `entity history p99 vs a plain server answering the same bytes`,
        unit: 'ms',
        runs: history.map((x) => x.latency.p99),
        baseline: { name: `plain Node server, prebuilt ${historyBytes}-byte answer (p99)`, runs: floorRounds.map((x) => x.latency.p99) },
        detail: `p50 ${num(median(history.map((x) => x.latency.p50)))} ms vs floor ${num(median(floorRounds.map((x) => x.latency.p50)))} ms: what loopback, scheduling and the client add to any answer this size`,
        extra: { floor_p50_ms: floorRounds.map((x) => x.latency.p50), answer_bytes: historyBytes },
      }),
    );
    const withSnap = coreRounds.map((r) => r['entity state']!);
    ctx.add(
      figure({
        scenario: this.id,
        name: 'entity state p50, automatic snapshots on (default) vs off',
        unit: 'ms',
        runs: withSnap.map((x) => x.latency.p50),
        baseline: { name: 'SNAPSHOT_EVERY_EVENTS=0 (p50)', runs: noSnapRounds.map((x) => x.latency.p50) },
        detail: `p99 ${num(median(withSnap.map((x) => x.latency.p99)))} ms on vs ${num(median(noSnapRounds.map((x) => x.latency.p99)))} ms off`,
        extra: { with_p99_ms: withSnap.map((x) => x.latency.p99), without_p99_ms: noSnapRounds.map((x) => x.latency.p99) },
      }),
    );
  },
};
