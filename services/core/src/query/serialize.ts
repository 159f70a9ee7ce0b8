import type { StoredEvent } from '../events/storedEvent';
import { formatTimestamp } from '../events/timestamps';

/**
 * An event as API JSON. Built as text so stored payload JSON is spliced in, not parsed and
 * re-serialised.
 */
export function eventJson(e: StoredEvent): string {
  return (
    `{"id":"${e.id}","event_type":${JSON.stringify(e.eventType)},"entity_id":${JSON.stringify(e.entityId)},` +
    `"tenant_id":${JSON.stringify(e.tenantId)},"payload":${e.payloadJson},"metadata":${e.metadataJson ?? 'null'},` +
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
