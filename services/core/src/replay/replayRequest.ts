import { AllSourceError } from '@allsource/errors';
import { parseTimestamp } from '../events/timestamps';
import { entityIdProblem, eventTypeProblem } from '../events/validation';
import type { ReplayRequest } from './replayManager';

/** The projection a replay rebuilds when the request names none. */
export const DEFAULT_REPLAY_PROJECTION = 'entity_snapshots';

export interface ReplayRequestLimits {
  defaultBatchSize: number;
  maxBatchSize: number;
}

function invalid(message: string): AllSourceError {
  return new AllSourceError('INVALID_INPUT', message);
}

/** Absent and `null` both mean "not given" (clients of the original send `null` for unset options). */
function optionalText(body: Record<string, unknown>, name: string): string | undefined {
  const v = body[name];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string' || v === '') throw invalid(`${name} must be a non-empty string`);
  return v;
}

function optionalTime(body: Record<string, unknown>, name: string): number | undefined {
  const v = optionalText(body, name);
  if (v === undefined) return undefined;
  const us = parseTimestamp(v);
  if (us === undefined) throw invalid(`${name} must be an RFC 3339 timestamp such as 2026-01-02T03:04:05Z, got '${v}'`);
  return us;
}

/**
 * Validate `POST /api/v1/replay`'s body:
 * `{"projection_name"?,"from_timestamp"?,"to_timestamp"?,"entity_id"?,"event_type"?,"config"?:{"batch_size"}}`.
 * Anything wrong → 400 INVALID_INPUT naming the field. Unknown fields are ignored.
 */
export function parseReplayRequest(body: unknown, limits: ReplayRequestLimits): ReplayRequest {
  if (body === undefined || body === null) body = {};
  if (typeof body !== 'object' || Array.isArray(body)) throw invalid('the body must be a JSON object');
  const b = body as Record<string, unknown>;
  const projectionName = optionalText(b, 'projection_name') ?? DEFAULT_REPLAY_PROJECTION;
  // Requests are kept in the replay records and echoed back: strings as long as the body would
  // be held that long (100 records of a 16 MiB entity_id held 1.3 GB and broke the listing).
  if (projectionName.length > 128) throw invalid('projection_name must be 1-128 characters');
  const sinceUs = optionalTime(b, 'from_timestamp');
  const untilUs = optionalTime(b, 'to_timestamp');
  if (sinceUs !== undefined && untilUs !== undefined && sinceUs > untilUs) {
    throw invalid('from_timestamp must not be after to_timestamp');
  }
  const entityId = optionalText(b, 'entity_id');
  const entityProblem = entityId === undefined ? undefined : entityIdProblem(entityId);
  if (entityProblem) throw invalid(entityProblem);
  const eventType = optionalText(b, 'event_type');
  const typeProblem = eventType === undefined ? undefined : eventTypeProblem(eventType);
  if (typeProblem) throw invalid(typeProblem);

  let batchSize = Math.min(limits.defaultBatchSize, limits.maxBatchSize);
  const config = b.config;
  if (config !== undefined && config !== null) {
    if (typeof config !== 'object' || Array.isArray(config)) throw invalid('config must be an object');
    const size = (config as Record<string, unknown>).batch_size;
    if (size !== undefined && size !== null) {
      if (typeof size !== 'number' || !Number.isSafeInteger(size) || size < 1 || size > limits.maxBatchSize) {
        throw invalid(`config.batch_size must be an integer between 1 and ${limits.maxBatchSize} (REPLAY_MAX_BATCH_SIZE)`);
      }
      batchSize = size;
    }
  }
  return { projectionName, filter: { entityId, eventType, sinceUs, untilUs }, batchSize };
}
