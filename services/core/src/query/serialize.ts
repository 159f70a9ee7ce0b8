import type { StoredEvent } from '../events/storedEvent';
import { jsonString } from '../events/jsonText';
import { formatTimestamp } from '../events/timestamps';

/**
 * An event as API JSON. Built as text so stored payload JSON is spliced in, not parsed and
 * re-serialised.
 */
export function eventJson(e: StoredEvent): string {
  return (
    `{"id":"${e.id}","event_type":${jsonString(e.eventType)},"entity_id":${jsonString(e.entityId)},` +
    `"tenant_id":${jsonString(e.tenantId)},"payload":${e.payloadJson},"metadata":${e.metadataJson ?? 'null'},` +
    `"timestamp":"${formatTimestamp(e.timestampUs)}","version":${e.version}}`
  );
}

export function eventsJson(events: readonly StoredEvent[]): string {
  let out = '[';
  for (let i = 0; i < events.length; i++) {
    if (i > 0) out += ',';
    out += eventJson(events[i]!);
  }
  return out + ']';
}
