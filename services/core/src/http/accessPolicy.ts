import type { AccessPolicy } from '@allsource/service-kit';

/**
 * Who may do what on the core, once API keys are configured (docs/security.md):
 * `/health` is open; `/metrics` is open unless a metrics token is set; reads need `read`;
 * ingest and snapshots need `write`; everything that changes the store's configuration or
 * runs jobs (schemas, enforcement, replay, pipelines, compaction) needs `admin`.
 */
export const coreAccessPolicy: AccessPolicy = (method, path) => {
  if (path === '/health') return 'open';
  if (path === '/metrics') return 'metrics';
  if (method === 'GET' || method === 'HEAD' || method === 'OPTIONS') return 'read';
  if (method === 'POST' && (path === '/api/v1/events' || path === '/api/v1/events/batch' || path === '/api/v1/snapshots')) return 'write';
  if (method === 'POST' && path === '/api/v1/schemas/validate') return 'read';
  return 'admin';
};
