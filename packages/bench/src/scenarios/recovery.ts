import * as fs from 'node:fs';
import * as path from 'node:path';
import type { EngineJob } from '../children/engine';
import { figure, target, type Scenario } from '../lib/figures';
import { waitOk } from '../lib/http';
import { coreMain, distDir, freePort, removeDir, runJsonChild, sleep, spawnTracked, tempDir } from '../lib/processes';
import { median, num, round } from '../lib/stats';

interface OpenedLine {
  recovery?: { durationMs?: number; eventsFromSegments?: number; eventsFromWal?: number; segmentsLoaded?: number };
}

/**
 * 7. Recovery: a data directory with N events in segments and a WAL tail of N/10 events never
 * flushed (built by the engine child), copied fresh for every run; the core is spawned on it and
 * timed from spawn to its first 200 on /health, and its own recovery report ('event store
 * opened', recovery.durationMs) is read from its log.
 */
export const recovery: Scenario = {
  id: '7-recovery',
  title: 'restart time with segments + WAL tail',
  async run(ctx) {
    const { quick, repeats } = ctx.settings;
    const segmentEvents = quick ? 200_000 : 1_000_000;
    const walEvents = segmentEvents / 10;
    const template = tempDir('recovery-template');
    const toHealth: number[] = [];
    const openMs: number[] = [];
    const listeningMs: number[] = [];
    let report: OpenedLine['recovery'];
    try {
      const job: EngineJob = { mode: 'build', dataDir: template, segmentEvents, walEvents, batch: 1000, entities: segmentEvents / 100 };
      const built = await runJsonChild<{ events: number; segments: number; walBytes: number; bufferedEvents: number; elapsedMs: number }>(path.join(distDir, 'children/engine.js'), job, {
        nodeArgs: ['--expose-gc'],
        timeoutMs: 600_000,
      });
      ctx.log(`built ${built.events} events (${built.segments} segments, WAL ${round(built.walBytes / 1048576, 1)} MiB with ${built.bufferedEvents} unflushed events) in ${round(built.elapsedMs / 1000, 1)} s`);
      ctx.note('recovery_data', { segment_events: segmentEvents, wal_events: walEvents, segments: built.segments, wal_bytes: built.walBytes });

      for (let r = 0; r < repeats; r++) {
        const dir = tempDir('recovery-run');
        fs.cpSync(template, dir, { recursive: true });
        const port = await freePort();
        let opened: OpenedLine | undefined;
        let listeningAt: number | undefined;
        const started = performance.now();
        const child = spawnTracked([coreMain], { PORT: String(port), HOST: '127.0.0.1', DATA_DIR: dir, LOG_LEVEL: 'info' });
        let buffered = '';
        child.stdout!.on('data', (chunk: Buffer) => {
          if (listeningAt !== undefined) return;
          buffered += chunk.toString('utf8');
          let nl: number;
          while ((nl = buffered.indexOf('\n')) >= 0) {
            const line = buffered.slice(0, nl);
            buffered = buffered.slice(nl + 1);
            if (line.includes('event store opened')) opened = JSON.parse(line) as OpenedLine;
            if (line.includes('allsource core listening')) listeningAt = performance.now() - started;
          }
        });
        try {
          await waitOk(`http://127.0.0.1:${port}/health`, 120_000, 5);
          toHealth.push(round(performance.now() - started));
          // Log lines are written asynchronously: the report may arrive just after /health answers.
          for (const giveUp = performance.now() + 5_000; !opened?.recovery && performance.now() < giveUp; ) await sleep(10);
          if (!opened?.recovery) throw new Error("no 'event store opened' log line with a recovery report");
          openMs.push(opened.recovery.durationMs ?? NaN);
          listeningMs.push(round(listeningAt ?? NaN));
          report = opened.recovery;
          if (opened.recovery.eventsFromWal !== walEvents) throw new Error(`recovered ${opened.recovery.eventsFromWal} events from the WAL, expected ${walEvents}`);
          ctx.log(`run ${r + 1}: /health after ${toHealth[r]} ms; EventStore.open ${openMs[r]} ms`);
        } finally {
          // The copy is thrown away: no need for a clean shutdown (which would flush the tail).
          const exited = new Promise((resolve) => child.once('exit', resolve));
          child.kill('SIGKILL');
          await exited;
          removeDir(dir);
        }
      }
    } finally {
      removeDir(template);
    }
    const label = `${segmentEvents / 1e6}M in segments + ${walEvents / 1e3}K in the WAL`;
    ctx.add(
      figure({
        scenario: this.id,
        name: `restart: spawn → /health 200 (${label})`,
        unit: 'ms',
        runs: toHealth,
        target: target('≤ 5 s', 'value', '<=', 5000),
        detail: `listening log line after ${num(median(listeningMs))} ms; EventStore.open ${num(median(openMs))} ms`,
        extra: { spawn_to_listening_log_ms: listeningMs },
      }),
    );
    ctx.add(figure({ scenario: this.id, name: 'EventStore.open duration (recovery report)', unit: 'ms', runs: openMs, extra: { recovery_report: report } }));
  },
};
