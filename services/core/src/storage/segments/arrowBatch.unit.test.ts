import * as arrow from 'apache-arrow';
import { newEventIds } from '../../events/eventIds';
import type { StoredEvent } from '../../events/storedEvent';
import { FLUSH_SLICE_ROWS, eventsToArrowIpc, rowToEvent } from './arrowBatch';

function events(n: number): StoredEvent[] {
  const { ids } = newEventIds(n);
  return Array.from({ length: n }, (_, i) => ({
    lsn: 1_000 + i,
    id: ids[i]!,
    eventType: ['order.created', 'order.paid'][i % 2]!,
    entityId: i % 7 === 0 ? `ördér-${i}-😀` : `order-${i % 100}`,
    tenantId: 'default',
    timestampUs: 1_764_254_000_000_000 + i * 3,
    version: 1 + Math.floor(i / 100),
    payloadJson: JSON.stringify({ i, note: i % 11 === 0 ? 'naïve ✓' : 'plain' }),
    // Slices with and without metadata must still share one schema.
    metadataJson: i < FLUSH_SLICE_ROWS ? null : `{"m":${i}}`,
  }));
}

describe('eventsToArrowIpc', () => {
  it('builds a flush a slice at a time, yielding between slices, into one stream of identical rows', async () => {
    const input = events(FLUSH_SLICE_ROWS * 2 + 123);
    let pauses = 0;
    const ipc = await eventsToArrowIpc(input, async () => {
      pauses++;
    });
    expect(pauses).toBe(2);
    const table = arrow.tableFromIPC(ipc);
    expect(table.batches).toHaveLength(3);
    expect(table.numRows).toBe(input.length);
    for (let i = 0; i < input.length; i += 97) expect(rowToEvent(table, i)).toEqual(input[i]);
    expect(rowToEvent(table, input.length - 1)).toEqual(input[input.length - 1]);
  });

  it('builds a small flush in one batch without yielding', async () => {
    const input = events(10);
    let pauses = 0;
    const table = arrow.tableFromIPC(
      await eventsToArrowIpc(input, async () => {
        pauses++;
      }),
    );
    expect(pauses).toBe(0);
    expect(table.numRows).toBe(10);
    expect(Array.from({ length: 10 }, (_, i) => rowToEvent(table, i))).toEqual(input);
  });
});
