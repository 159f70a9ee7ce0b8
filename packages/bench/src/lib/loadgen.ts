import * as path from 'node:path';
import type { AutocannonJob, AutocannonResult, LanesJob, LanesResult } from '../loadgen/protocol';
import { distDir, runJsonChild } from './processes';

/**
 * Client of the load generator: every measured load runs in its own process
 * (dist/loadgen/worker.js), separate from the bench orchestrator and from the servers.
 */
const worker = path.join(distDir, 'loadgen', 'worker.js');

export function load(job: Omit<AutocannonJob, 'kind'>): Promise<AutocannonResult> {
  return runJsonChild<AutocannonResult>(worker, { kind: 'autocannon', ...job }, { timeoutMs: job.durationS * 1000 + 60_000 });
}

export function lanes(job: Omit<LanesJob, 'kind'>): Promise<LanesResult> {
  return runJsonChild<LanesResult>(worker, { kind: 'lanes', ...job }, { timeoutMs: job.timeLimitMs + 30_000 });
}

/** Throws when a load saw errors or non-2xx answers (a figure over failures would be meaningless). */
export function checkLoad(r: { non2xx: number; errors: number; statusCodes: Record<string, number>; incomplete?: boolean }, who: string): void {
  if (r.incomplete) throw new Error(`${who}: the load ran out of time before sending every request`);
  if (r.non2xx > 0 || r.errors > 0) {
    throw new Error(`${who}: ${r.non2xx} non-2xx answers (${JSON.stringify(r.statusCodes)}) and ${r.errors} errors during the load`);
  }
}
