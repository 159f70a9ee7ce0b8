import { jsonBody } from '@allsource/service-kit';
import type { Express } from 'express';
import type { PipelineManager } from './pipelineManager';

/** HTTP routes of stream pipelines (contract: "Stream pipelines"). Thin: parse, call, answer. */
export function pipelineRoutes(app: Express, manager: PipelineManager, maxBodyBytes: number): void {
  app.post('/api/v1/pipelines', jsonBody(maxBodyBytes), async (req, res) => {
    const created = await manager.create(req.body);
    res.json({ pipeline_id: created.id, name: created.name, enabled: created.enabled });
  });

  app.get('/api/v1/pipelines', (_req, res) => {
    const pipelines = manager.list();
    res.json({ pipelines, total: pipelines.length });
  });

  // Before /:id, so that "stats" is not taken for a pipeline id (the id "stats" is reserved).
  app.get('/api/v1/pipelines/stats', (_req, res) => {
    const stats = manager.allStats();
    res.json({ stats, total: stats.length });
  });

  app.get('/api/v1/pipelines/:id', (req, res) => {
    res.json(manager.get(req.params.id));
  });

  app.delete('/api/v1/pipelines/:id', async (req, res) => {
    await manager.delete(req.params.id);
    res.json({ pipeline_id: req.params.id, deleted: true });
  });

  app.get('/api/v1/pipelines/:id/stats', (req, res) => {
    res.json(manager.stats(req.params.id));
  });

  app.put('/api/v1/pipelines/:id/reset', (req, res) => {
    manager.reset(req.params.id);
    res.json({ pipeline_id: req.params.id, reset: true });
  });

  app.get('/api/v1/pipelines/:id/results', (req, res) => {
    res.json(manager.results(req.params.id, Date.now() * 1000));
  });
}
