/**
 * The benchmarks' standard event: ~120-130 bytes of JSON (`event_type`, `entity_id`, a payload of
 * four fields). `entities` is how many distinct entity ids events cycle through.
 */
export interface WireEvent {
  event_type: string;
  entity_id: string;
  payload: Record<string, unknown>;
}

export const EVENT_TYPES = ['order.created', 'order.paid', 'order.shipped'] as const;

export function sampleEvent(i: number, entities = 10_000, entityPrefix = 'order-'): WireEvent {
  return {
    event_type: EVENT_TYPES[i % 3]!,
    entity_id: `${entityPrefix}${i % entities}`,
    payload: { amount: (i * 37) % 1000, currency: 'EUR', customer: `customer-${i % 977}`, items: i % 7 },
  };
}

export function batchBody(size: number, offset = 0, entities = 10_000, entityPrefix = 'order-'): string {
  const events: WireEvent[] = [];
  for (let i = 0; i < size; i++) events.push(sampleEvent(offset + i, entities, entityPrefix));
  return JSON.stringify({ events });
}

/** Bytes of one standard event's JSON. */
export const EVENT_BYTES = JSON.stringify(sampleEvent(1)).length;
