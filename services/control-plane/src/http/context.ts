import type { Logger } from 'pino';
import type { ControlPlaneConfig } from '../config';
import type { History } from '../history/history';
import type { PrometheusSource } from '../history/prometheusSource';
import type { ControlPlaneMetrics } from '../metrics/controlPlaneMetrics';
import type { Scraper } from '../scrape/scraper';

/** What the history persistence reports (for /health). */
export interface HistoryStatus {
  loadedPoints: number;
  loadError: string | null;
  lastSaveAt: number | null;
  lastSaveBytes: number | null;
  lastSaveError: string | null;
}

/** Everything the HTTP routes use; built once by the composition root (app/createControlPlane.ts). */
export interface ControlPlaneContext {
  config: ControlPlaneConfig;
  version: string;
  startedAt: number;
  logger: Logger;
  metrics: ControlPlaneMetrics;
  scraper: Scraper;
  history: History;
  historyStatus: HistoryStatus;
  /** Set when PROMETHEUS_URL is configured: timeseries are read from it. */
  prometheus: PrometheusSource | null;
}
