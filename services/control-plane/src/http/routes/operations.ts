/**
 * Operations performed on a core node for real (AllSource's control plane only answered "demo
 * mode"). The node is the one named by `node`, or else the first node in CORE_NODES order whose
 * latest scrape was healthy. The core's answer is relayed: 2xx with its body (and status), a 4xx
 * with the core's own error body and status (404 unknown entity stays 404), a 5xx as 502, no
 * answer as 503.
 */
import { AllSourceError } from '@allsource/errors';
import { jsonBody } from '@allsource/service-kit';
import type { Express, Request, Response } from 'express';
import type { NodeState } from '../../scrape/scraper';
import type { ControlPlaneContext } from '../context';

const REPLAY_FIELDS = ['node', 'entity_id', 'event_type', 'projection_name', 'from_timestamp', 'to_timestamp', 'as_of', 'config'] as const;
const SNAPSHOT_FIELDS = ['node', 'entity_id'] as const;

export function operationRoutes(app: Express, ctx: ControlPlaneContext): void {
  const body = jsonBody(ctx.config.maxBodyBytes);

  app.post('/api/v1/operations/snapshot', body, async (req, res) => {
    const input = objectBody(req, SNAPSHOT_FIELDS);
    const entityId = input.entity_id;
    if (typeof entityId !== 'string' || entityId.trim() === '') {
      throw new AllSourceError('INVALID_INPUT', "'entity_id' is required (a non-empty string)");
    }
    const state = pickNode(ctx, input.node);
    await relay(ctx, res, state, 'snapshot', 'completed', '/api/v1/snapshots', { entity_id: entityId });
  });

  app.post('/api/v1/operations/replay', body, async (req, res) => {
    const input = objectBody(req, REPLAY_FIELDS);
    const forward: Record<string, unknown> = {};
    for (const field of ['entity_id', 'event_type', 'projection_name', 'from_timestamp', 'to_timestamp', 'as_of'] as const) {
      const v = input[field];
      if (v === undefined || v === null) continue;
      if (typeof v !== 'string' || v === '') throw new AllSourceError('INVALID_INPUT', `'${field}' must be a non-empty string`);
      forward[field] = v;
    }
    if (forward.as_of !== undefined) {
      if (forward.to_timestamp !== undefined) throw new AllSourceError('INVALID_INPUT', "give 'as_of' or 'to_timestamp', not both");
      forward.to_timestamp = forward.as_of;
      delete forward.as_of;
    }
    if (input.config !== undefined && input.config !== null) {
      if (typeof input.config !== 'object' || Array.isArray(input.config)) throw new AllSourceError('INVALID_INPUT', "'config' must be an object");
      forward.config = input.config;
    }
    const state = pickNode(ctx, input.node);
    await relay(ctx, res, state, 'replay', 'started', '/api/v1/replay', forward);
  });
}

function objectBody<K extends string>(req: Request, allowed: readonly K[]): Partial<Record<K, unknown>> {
  const b: unknown = req.body;
  if (b === null || typeof b !== 'object' || Array.isArray(b)) throw new AllSourceError('INVALID_INPUT', 'the body must be a JSON object');
  const unknown = Object.keys(b).filter((k) => !(allowed as readonly string[]).includes(k));
  if (unknown.length > 0) {
    throw new AllSourceError('INVALID_INPUT', `unknown field(s) ${unknown.map((k) => `'${k}'`).join(', ')}; valid fields: ${allowed.join(', ')}`, {
      valid_fields: allowed,
    });
  }
  return b as Partial<Record<K, unknown>>;
}

function pickNode(ctx: ControlPlaneContext, requested: unknown): NodeState {
  const { scraper } = ctx;
  if (requested !== undefined && requested !== null) {
    const ids = scraper.nodes.map((n) => n.node.id);
    const state = typeof requested === 'string' ? scraper.node(requested) : undefined;
    if (!state) throw new AllSourceError('INVALID_INPUT', `unknown node ${JSON.stringify(requested)}; valid nodes: ${ids.join(', ')}`, { valid_nodes: ids });
    return state;
  }
  const healthy = scraper.nodes.find((n) => n.status === 'healthy');
  if (!healthy) throw new AllSourceError('UPSTREAM_UNAVAILABLE', 'no core node is healthy as of the latest scrape; name one with "node"');
  return healthy;
}

async function relay(
  ctx: ControlPlaneContext,
  res: Response,
  state: NodeState,
  operation: string,
  doneStatus: string,
  path: string,
  payload: unknown,
): Promise<void> {
  const nodeId = state.node.id;
  let answer;
  try {
    answer = await state.client.raw<unknown>('POST', path, { body: payload, timeoutMs: ctx.config.operationTimeoutMs });
  } catch {
    throw new AllSourceError('UPSTREAM_UNAVAILABLE', `core node '${nodeId}' did not answer the ${operation} request`, { node_id: nodeId });
  }
  const data = answer.data;
  const isObject = data !== null && typeof data === 'object' && !Array.isArray(data);
  if (answer.status >= 200 && answer.status < 300) {
    ctx.logger.info({ node_id: nodeId, operation, status: answer.status }, 'operation performed on core node');
    res.status(answer.status).json({ operation, node_id: nodeId, status: doneStatus, result: isObject ? data : null });
    return;
  }
  if (answer.status >= 400 && answer.status < 500) {
    const coreError = isObject ? (data as { error?: unknown; code?: unknown; details?: unknown }) : {};
    if (typeof coreError.error === 'string' && typeof coreError.code === 'string') {
      // The core's error, as it said it, with the node it came from.
      res.status(answer.status).json({ ...coreError, node_id: nodeId });
      return;
    }
    res.status(answer.status).json({ error: `Upstream error: core node '${nodeId}' answered HTTP ${answer.status}`, code: answer.status === 404 ? 'NOT_FOUND' : 'INVALID_INPUT', node_id: nodeId });
    return;
  }
  throw new AllSourceError('UPSTREAM_ERROR', `core node '${nodeId}' failed the ${operation} request (HTTP ${answer.status})`, {
    node_id: nodeId,
    status: answer.status,
  });
}
