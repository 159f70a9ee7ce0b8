/**
 * The operators' dashboard: a static page at `/` and `/dashboard` built on the control plane's
 * own dashboard API, its assets (the project's JS/CSS and uPlot's dist files from node_modules —
 * no CDN, so it works offline), and `GET /api/v1/dashboard/replays` (the cores' replays, read on a
 * bounded cached refresh, see ReplayMonitor).
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { AllSourceError } from '@allsource/errors';
import type { Express, Request, Response } from 'express';
import type { ControlPlaneContext } from '../http/context';
import { iso, queryParam } from '../http/params';
import { ReplayMonitor, selectReplays } from './replayMonitor';

/** The page's own files: services/control-plane/static/dashboard (beside src/ and dist/). */
export const STATIC_DIR = path.resolve(__dirname, '../../static/dashboard');

interface Asset {
  file: () => string;
  type: string;
}

/** Every file the page may load, by URL name (a fixed list: nothing else is ever read from disk). */
const ASSETS: Readonly<Record<string, Asset>> = {
  'dashboard.js': { file: () => path.join(STATIC_DIR, 'dashboard.js'), type: 'text/javascript; charset=utf-8' },
  'dashboard.css': { file: () => path.join(STATIC_DIR, 'dashboard.css'), type: 'text/css; charset=utf-8' },
  'favicon.svg': { file: () => path.join(STATIC_DIR, 'favicon.svg'), type: 'image/svg+xml' },
  'uplot.js': { file: () => require.resolve('uplot/dist/uPlot.iife.min.js'), type: 'text/javascript; charset=utf-8' },
  'uplot.css': { file: () => require.resolve('uplot/dist/uPlot.min.css'), type: 'text/css; charset=utf-8' },
};

/** The page may only load its own scripts, styles and API answers. */
export const CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

/** Most finished replays one answer lists (besides every active one). */
export const MAX_RECENT_REPLAYS = 50;

interface Loaded {
  body: Buffer;
  etag: string;
}

export function dashboardPageRoutes(app: Express, ctx: ControlPlaneContext): void {
  const { config, scraper } = ctx;
  // Files are read once, on first use, and kept (they are part of the installed package).
  const cache = new Map<string, Loaded>();
  const load = (name: string, file: string): Loaded => {
    let hit = cache.get(name);
    if (!hit) {
      const body = readFileSync(file);
      hit = { body, etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 27)}"` };
      cache.set(name, hit);
    }
    return hit;
  };
  const send = (req: Request, res: Response, name: string, file: string, type: string): void => {
    let asset: Loaded;
    try {
      asset = load(name, file);
    } catch (err) {
      ctx.logger.error({ err, file }, 'dashboard file missing: the control plane was installed without static/dashboard or uplot');
      throw new AllSourceError('INTERNAL', `dashboard file ${name} is missing from this installation`);
    }
    res.setHeader('Content-Type', type);
    res.setHeader('Cache-Control', 'no-cache');
    res.setHeader('ETag', asset.etag);
    res.setHeader('X-Content-Type-Options', 'nosniff');
    if (req.headers['if-none-match'] === asset.etag) {
      res.status(304).end();
      return;
    }
    res.send(asset.body);
  };

  const page = (req: Request, res: Response): void => {
    res.setHeader('Content-Security-Policy', CONTENT_SECURITY_POLICY);
    res.setHeader('Referrer-Policy', 'no-referrer');
    res.setHeader('X-Frame-Options', 'DENY');
    send(req, res, 'index.html', path.join(STATIC_DIR, 'index.html'), 'text/html; charset=utf-8');
  };
  app.get('/', page);
  app.get('/dashboard', page);
  app.get('/dashboard/', page);

  app.get('/dashboard/assets/:name', (req, res) => {
    const name = req.params.name as string;
    const asset = Object.hasOwn(ASSETS, name) ? ASSETS[name] : undefined;
    if (!asset) throw new AllSourceError('NOT_FOUND', `no dashboard asset '${name.slice(0, 100)}'; assets: ${Object.keys(ASSETS).join(', ')}`);
    send(req, res, name, asset.file(), asset.type);
  });

  // One refresh per node at most every scrape interval (between 250 ms and 2 s), each under the
  // scrape deadline and body cap.
  const replays = new ReplayMonitor(() => scraper.nodes, {
    maxAgeMs: Math.min(2000, Math.max(250, config.scrapeIntervalMs)),
    timeoutMs: config.scrapeTimeoutMs,
  });

  app.get('/api/v1/dashboard/replays', async (req, res) => {
    const raw = queryParam(req, 'limit') ?? '10';
    const limit = Number(raw);
    if (!/^\d+$/.test(raw) || limit > MAX_RECENT_REPLAYS) {
      throw new AllSourceError('INVALID_QUERY', `limit must be an integer from 0 to ${MAX_RECENT_REPLAYS}, got '${raw.slice(0, 40)}'`);
    }
    const snapshot = await replays.get();
    const { active, finished } = selectReplays(snapshot.nodes, limit);
    res.json({
      active,
      recent: finished,
      nodes: snapshot.nodes.map((n) => ({ node_id: n.node_id, status: n.status, error: n.error, replays: n.replays.length })),
      as_of: iso(snapshot.at),
      timestamp: new Date().toISOString(),
    });
  });
}
