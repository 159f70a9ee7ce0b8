import * as path from 'node:path';
import { figure, target, type Scenario } from '../lib/figures';
import { checkLoad, load } from '../lib/loadgen';
import { coreMain, distDir, startServer } from '../lib/processes';
import { median, num, round } from '../lib/stats';
import { sampleEvent } from '../lib/workload';
import type { AutocannonResult, Req } from '../loadgen/protocol';

export const CONNECTIONS = 50;

/** 64 pre-built single-event bodies (distinct entity ids and types), cycled by every connection. */
export function singleRequests(count = 64, entityPrefix = 'order-'): Req[] {
  return Array.from({ length: count }, (_, i) => ({ method: 'POST', path: '/api/v1/events', body: JSON.stringify(sampleEvent(i * 7919, 100_000, entityPrefix)) }));
}

/** 1. Single-event HTTP ingest, durable (group commit), 50 connections: core vs a bare Express 5 app. */
export const singleIngest: Scenario = {
  id: '1-single-ingest',
  title: 'single-event HTTP ingest vs bare Express',
  async run(ctx) {
    const { seconds, repeats } = ctx.settings;
    const requests = singleRequests();
    const core = await startServer('core', coreMain, { WAL_SYNC_MODE: 'always' });
    const bare = await startServer('bare-express', path.join(distDir, 'servers/bareExpress.js'));
    const a: AutocannonResult[] = [];
    const b: AutocannonResult[] = [];
    try {
      for (let r = 0; r < repeats; r++) {
        a.push(await load({ base: core.url, requests, connections: CONNECTIONS, durationS: seconds }));
        b.push(await load({ base: bare.url, requests, connections: CONNECTIONS, durationS: seconds }));
        checkLoad(a[r]!, 'core single ingest');
        checkLoad(b[r]!, 'bare express');
        ctx.log(`run ${r + 1}: core ${round(a[r]!.requestsPerSecond)} vs bare ${round(b[r]!.requestsPerSecond)} requests/s`);
      }
    } finally {
      await bare.stop();
      await core.stop();
    }
    ctx.add(
      figure({
        scenario: this.id,
        name: `HTTP single-event ingest (durable, ${CONNECTIONS} connections)`,
        unit: 'events/s',
        runs: a.map((x) => round(x.requestsPerSecond)),
        baseline: { name: 'bare Express 5 (parse JSON, answer)', runs: b.map((x) => round(x.requestsPerSecond)) },
        target: target('≥ 0.85 × bare Express', 'ratio', '>=', 0.85),
        detail: `p50/p99 ${num(median(a.map((x) => x.latency.p50)))}/${num(median(a.map((x) => x.latency.p99)))} ms vs bare ${num(median(b.map((x) => x.latency.p50)))}/${num(median(b.map((x) => x.latency.p99)))} ms`,
      }),
    );
    ctx.add(figure({ scenario: this.id, name: 'single ingest p50 latency', unit: 'ms', runs: a.map((x) => x.latency.p50), baseline: { name: 'bare Express p50', runs: b.map((x) => x.latency.p50) } }));
    ctx.add(figure({ scenario: this.id, name: 'single ingest p99 latency', unit: 'ms', runs: a.map((x) => x.latency.p99), baseline: { name: 'bare Express p99', runs: b.map((x) => x.latency.p99) } }));
  },
};
