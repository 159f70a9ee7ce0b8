/** Events of ~150 bytes of JSON each, as the benchmarks' standard event. */
export function sampleEvent(i: number): { event_type: string; entity_id: string; payload: Record<string, unknown> } {
  return {
    event_type: i % 3 === 0 ? 'order.created' : i % 3 === 1 ? 'order.paid' : 'order.shipped',
    entity_id: `order-${i % 10_000}`,
    payload: { amount: (i * 37) % 1000, currency: 'EUR', customer: `customer-${i % 977}`, items: i % 7 },
  };
}

export function batchBody(size: number, offset = 0): string {
  const events = [];
  for (let i = 0; i < size; i++) events.push(sampleEvent(offset + i));
  return JSON.stringify({ events });
}
