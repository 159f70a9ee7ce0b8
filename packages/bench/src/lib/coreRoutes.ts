import { createLogger, loadConfig, startCore } from '@allsource/core';
import * as path from 'node:path';
import { removeDir, repoRoot, tempDir } from './processes';

interface SeriesBudgetModule {
  seriesBudget(input: { eventTypeLabelLimit: number; labelValueLimit: number; routes: number }): { total: number; byMetric: Record<string, number> };
}

/**
 * The documented /metrics series budget (services/core/dist/metrics/seriesBudget.js) for the
 * given label caps. Its `routes` term is the number of route templates the core registers,
 * counted on a throw-away core started in this process (no load runs meanwhile).
 */
export async function seriesBudgetFor(env: Record<string, string>): Promise<{ total: number; routes: number } | { error: string }> {
  const dir = tempDir('routes');
  try {
    const config = loadConfig({ ...env, DATA_DIR: dir, PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'silent' });
    const core = await startCore(config, { logger: createLogger('silent', 'bench-routes') });
    try {
      const app = core.server.listeners('request').find((l) => 'router' in l) as unknown as { router?: { stack?: Array<{ route?: unknown }> } } | undefined;
      const stack = app?.router?.stack;
      if (!stack) return { error: 'could not find the Express router of the core to count its routes' };
      const routes = stack.filter((layer) => layer.route).length;
      const mod = require(path.join(repoRoot, 'services/core/dist/metrics/seriesBudget.js')) as SeriesBudgetModule;
      return { total: mod.seriesBudget({ eventTypeLabelLimit: config.eventTypeLabelLimit, labelValueLimit: config.labelValueLimit, routes }).total, routes };
    } finally {
      await core.close();
    }
  } catch (err) {
    return { error: (err as Error).message };
  } finally {
    removeDir(dir);
  }
}
