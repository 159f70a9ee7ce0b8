import { entityIdProblem, eventTypeProblem } from '../events/validation';
import type { StoredEvent } from '../events/storedEvent';

/** What one WebSocket client wants to see; an absent field matches every event. */
export interface StreamFilter {
  entityId?: string;
  eventType?: string;
}

export type FilterParse = { ok: true; filter: StreamFilter } | { ok: false; problem: string };

const FIELDS = new Set(['entity_id', 'event_type']);

export function matches(filter: StreamFilter, e: StoredEvent): boolean {
  return (filter.entityId === undefined || filter.entityId === e.entityId) && (filter.eventType === undefined || filter.eventType === e.eventType);
}

/**
 * A filter message from a client: a JSON object with optional `entity_id` and `event_type`
 * (strings valid as in an event; `null` is the same as absent). `{}` matches everything.
 * Anything else — unparsable text, a non-object, a wrong type, an unknown field — is a problem:
 * an unknown field is refused rather than ignored, since a misspelt one would silently clear
 * the filter and flood the client.
 */
export function parseFilterMessage(text: string): FilterParse {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return { ok: false, problem: 'the message is not valid JSON; send {"entity_id"?: string, "event_type"?: string}' };
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return { ok: false, problem: 'the message must be a JSON object {"entity_id"?: string, "event_type"?: string}' };
  }
  return filterFrom(value as Record<string, unknown>);
}

/** A filter from already-split fields (a parsed message or the upgrade URL's query string). */
export function filterFrom(fields: Record<string, unknown>): FilterParse {
  for (const key of Object.keys(fields)) {
    if (!FIELDS.has(key)) return { ok: false, problem: `unknown field '${key.slice(0, 64)}'; a filter has only entity_id and event_type` };
  }
  const filter: StreamFilter = {};
  const entityId = fields.entity_id;
  if (entityId !== undefined && entityId !== null) {
    const problem = entityIdProblem(entityId);
    if (problem) return { ok: false, problem };
    filter.entityId = entityId as string;
  }
  const eventType = fields.event_type;
  if (eventType !== undefined && eventType !== null) {
    const problem = eventTypeProblem(eventType);
    if (problem) return { ok: false, problem };
    filter.eventType = eventType as string;
  }
  return { ok: true, filter };
}

/** The filter as the API spells it (snake_case, only the fields that are set). */
export function filterJson(filter: StreamFilter): Record<string, string> {
  const out: Record<string, string> = {};
  if (filter.entityId !== undefined) out.entity_id = filter.entityId;
  if (filter.eventType !== undefined) out.event_type = filter.eventType;
  return out;
}
