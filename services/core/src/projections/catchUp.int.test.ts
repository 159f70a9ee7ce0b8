/**
 * After a restart, projections catch up with the stored events: the built-ins from the index
 * alone (no event read), code-defined ones by replaying every stored event.
 */
import { defineProjection } from './defineProjection';
import { startTestCore } from '../testing/testCore';
import { useTempDir } from '../testing/tempDirs';

const dir = useTempDir('allsource-catchup-');

function totals() {
  return defineProjection({
    name: 'amount_total',
    init: () => ({ total: 0, events: 0 }),
    apply(state, event) {
      state.events++;
      state.total += (event.payload as { amount?: number }).amount ?? 0;
    },
  });
}

it('seeds the built-ins from the index and replays code-defined projections at start', async () => {
  const env = { DATA_DIR: dir.path, FLUSH_MAX_EVENTS: '50' };
  const first = await startTestCore(env, { extraProjections: [totals()] });
  const events = Array.from({ length: 120 }, (_, i) => ({
    event_type: i % 3 === 0 ? 'order.placed' : 'order.paid',
    entity_id: `order-${i % 7}`,
    payload: { amount: i },
  }));
  await first.client.ingestBatch(events);
  const before = {
    counters: await first.client.projections.state('event_counters'),
    totals: await first.client.projections.state('amount_total'),
    snapshot: await first.client.entitySnapshot('order-3'),
  };
  await first.core.close();

  const second = await startTestCore(env, { extraProjections: [totals()] });
  try {
    expect(await second.client.projections.state('event_counters')).toEqual(before.counters);
    expect(await second.client.projections.state('amount_total')).toEqual(before.totals);
    expect((before.totals as { state: { total: number } }).state.total).toBe((119 * 120) / 2);
    expect(await second.client.entitySnapshot('order-3')).toEqual(before.snapshot);
    // And they keep following new events.
    await second.client.ingest({ event_type: 'order.placed', entity_id: 'order-3', payload: { amount: 1000, late: true } });
    const counters = (await second.client.projections.state('event_counters')) as { state: Record<string, number> };
    expect(counters.state['order.placed']).toBe(41);
    expect(((await second.client.entitySnapshot('order-3')).snapshot as { late?: boolean }).late).toBe(true);
  } finally {
    await second.stop();
    await first.stop();
  }
});
