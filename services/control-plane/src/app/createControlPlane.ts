import * as http from 'node:http';
import { listenHttp } from '@allsource/service-kit';
import type { Logger } from 'pino';
import type { ControlPlaneConfig } from '../config';
import { History } from '../history/history';
import { PrometheusSource } from '../history/prometheusSource';
import { createHttpApp } from '../http/app';
import type { ControlPlaneContext, HistoryStatus } from '../http/context';
import { ControlPlaneMetrics } from '../metrics/controlPlaneMetrics';
import { Scraper } from '../scrape/scraper';

// eslint-disable-next-line @typescript-eslint/no-require-imports
export const CONTROL_PLANE_VERSION: string = (require('../../package.json') as { version: string }).version;

export interface ControlPlaneInstance {
  config: ControlPlaneConfig;
  metrics: ControlPlaneMetrics;
  scraper: Scraper;
  history: History;
  historyStatus: HistoryStatus;
  server: http.Server;
  /** The bound port (useful with PORT=0). */
  port: number;
  /** Writes the history snapshot now. */
  saveHistory(): Promise<void>;
  /** Stop scraping, finish in-flight requests, write the history snapshot, close. */
  close(): Promise<void>;
}

export interface StartControlPlaneOptions {
  logger: Logger;
}

/** Composition root: history (loaded from the data folder), metrics, scraper, HTTP server. */
export async function startControlPlane(config: ControlPlaneConfig, options: StartControlPlaneOptions): Promise<ControlPlaneInstance> {
  const { logger } = options;
  const startedAt = Date.now();
  const metrics = new ControlPlaneMetrics(startedAt, config.nodes.map((n) => n.id));
  const history = new History({
    nodeIds: config.nodes.map((n) => n.id),
    scrapeIntervalMs: config.scrapeIntervalMs,
    rawRetentionMs: config.historyRawRetentionMs,
    maxRawPoints: config.historyMaxRawPoints,
    rollupStepMs: config.historyRollupStepMs,
    rollupRetentionMs: config.historyRollupRetentionMs,
  });
  const historyStatus: HistoryStatus = { loadedPoints: 0, loadError: null, lastSaveAt: null, lastSaveBytes: null, lastSaveError: null };
  try {
    historyStatus.loadedPoints = await history.load(config.dataDir);
  } catch (err) {
    // A damaged snapshot must not keep the control plane down: start with empty history (the
    // next snapshot replaces the file) and say so in /health and the log.
    historyStatus.loadError = (err as Error).message;
    logger.warn({ err, data_dir: config.dataDir }, 'history snapshot could not be read; starting with empty history');
  }

  const scraper = new Scraper({ config, logger: logger.child({ component: 'scraper' }), metrics, history });
  const prometheus = config.prometheusUrl ? new PrometheusSource(config, config.prometheusUrl) : null;
  const ctx: ControlPlaneContext = { config, version: CONTROL_PLANE_VERSION, startedAt, logger, metrics, scraper, history, historyStatus, prometheus };

  const server = http.createServer(createHttpApp(ctx));
  const listening = await listenHttp(server, config.port, config.host);
  const { port } = listening;

  let saving: Promise<void> | undefined;
  const saveHistory = (): Promise<void> =>
    (saving ??= (async () => {
      try {
        const { bytes } = await history.save(config.dataDir);
        historyStatus.lastSaveAt = Date.now();
        historyStatus.lastSaveBytes = bytes;
        historyStatus.lastSaveError = null;
      } catch (err) {
        historyStatus.lastSaveError = (err as Error).message;
        logger.error({ err, data_dir: config.dataDir }, 'history snapshot failed');
      } finally {
        saving = undefined;
      }
    })());
  const snapshotTimer = setInterval(() => void saveHistory(), config.historySnapshotIntervalMs);
  snapshotTimer.unref();

  scraper.start();
  logger.info(
    {
      host: config.host,
      port,
      nodes: config.nodes.map((n) => `${n.id}=${n.url}`),
      scrape_interval_ms: config.scrapeIntervalMs,
      history: prometheus ? 'prometheus' : 'embedded',
      history_memory_bytes: history.memoryBytes(),
      history_points_loaded: historyStatus.loadedPoints,
    },
    'allsource control plane listening',
  );

  let closing: Promise<void> | undefined;
  const close = (): Promise<void> =>
    (closing ??= (async () => {
      logger.info('shutting down: stopping scrapes, finishing in-flight requests');
      listening.beginShutdown();
      clearInterval(snapshotTimer);
      await scraper.stop();
      await listening.close(config.shutdownTimeoutMs);
      await saving;
      await saveHistory();
      logger.info({ snapshot_bytes: historyStatus.lastSaveBytes }, 'shutdown complete');
    })());

  return { config, metrics, scraper, history, historyStatus, server, port, saveHistory, close };
}
