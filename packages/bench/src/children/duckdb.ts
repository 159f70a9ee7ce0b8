import { DuckDBInstance } from '@duckdb/node-api';
import { readStdinJson } from '../lib/processes';
import { summarize, type LatencySummary } from '../lib/stats';

/**
 * The query benchmark's other side: DuckDB (in-process, its own child process) answering the
 * same questions over the core's Parquet segment files (`read_parquet` with a glob). Each query
 * is a prepared statement run `iterations` times with parameters cycled; every answer is
 * materialised as JSON-ready rows (the core's answers are JSON too). `fold` queries also merge
 * the payloads into an entity state in JS, as the core's state endpoint does.
 */
export interface DuckJob {
  glob: string;
  iterations: number;
  timeLimitMs: number;
  queries: Array<{ name: string; sql: string; params: string[][]; fold?: boolean }>;
}

export interface DuckResult {
  version: string;
  threads: string;
  queries: Array<{ name: string; latency: LatencySummary; meanRows: number }>;
}

async function main(): Promise<void> {
  const job = await readStdinJson<DuckJob>();
  const db = await DuckDBInstance.create(':memory:');
  const con = await db.connect();
  // Parquet metadata cached between queries: DuckDB's best case for repeated queries over the same files.
  await con.run('SET enable_object_cache = true');
  const version = String((await con.runAndReadAll('select version()')).getRows()[0]![0]);
  const threads = String((await con.runAndReadAll("select current_setting('threads')")).getRows()[0]![0]);
  await con.run(`CREATE VIEW events AS SELECT * FROM read_parquet('${job.glob.replace(/'/g, "''")}')`);
  const deadline = performance.now() + job.timeLimitMs;
  const out: DuckResult['queries'] = [];
  for (const q of job.queries) {
    const prepared = await con.prepare(q.sql);
    const samples: number[] = [];
    let rows = 0;
    // One untimed warm-up run (first touch of the files).
    prepared.bind(q.params[0]!);
    await prepared.runAndReadAll();
    for (let i = 0; i < job.iterations && performance.now() < deadline; i++) {
      const t0 = performance.now();
      prepared.bind(q.params[i % q.params.length]!);
      const reader = await prepared.runAndReadAll();
      const objects = reader.getRowObjectsJson();
      if (q.fold) {
        const state: Record<string, unknown> = Object.create(null) as Record<string, unknown>;
        for (const row of objects) {
          const payload = JSON.parse(String(row.payload)) as unknown;
          if (typeof payload === 'object' && payload !== null && !Array.isArray(payload)) Object.assign(state, payload);
        }
      }
      samples.push(performance.now() - t0);
      rows += objects.length;
    }
    out.push({ name: q.name, latency: summarize(samples), meanRows: samples.length ? rows / samples.length : 0 });
  }
  con.closeSync();
  db.closeSync();
  process.stdout.write(`${JSON.stringify({ version, threads, queries: out } satisfies DuckResult)}\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`duckdb child: ${(err as Error)?.stack ?? String(err)}\n`);
  process.exit(1);
});
