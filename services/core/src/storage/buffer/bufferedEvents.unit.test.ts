import { newEventIds } from '../../events/eventIds';
import type { StoredEvent } from '../../events/storedEvent';
import { encodeWalPayload } from '../wal/walPayload';
import { BufferedEvents } from './bufferedEvents';

function event(lsn: number): StoredEvent {
  return { lsn, id: `id-${lsn}`, eventType: 't', entityId: 'e', tenantId: 'default', timestampUs: lsn, version: lsn, payloadJson: '{}', metadataJson: null };
}

describe('BufferedEvents', () => {
  it('keeps events in order with their sizes, dropping from the front as flushes land', () => {
    const buffer = new BufferedEvents();
    let next = 1;
    let oldest = 1;
    let bytes = 0;
    // Flushes that lag behind appends: the buffer never empties, its front keeps moving.
    for (let round = 0; round < 60; round++) {
      for (let i = 0; i < 3000; i++, next++) {
        buffer.push(event(next), next % 17);
        bytes += next % 17;
      }
      const drop = 2500;
      for (let lsn = oldest; lsn < oldest + drop; lsn++) bytes -= lsn % 17;
      buffer.dropFront(drop);
      oldest += drop;
      expect(buffer.length).toBe(next - oldest);
      expect(buffer.bytes).toBe(bytes);
      expect(buffer.at(0)!.lsn).toBe(oldest);
      expect(buffer.at(buffer.length - 1)!.lsn).toBe(next - 1);
      expect(buffer.at(buffer.length)).toBeUndefined();
      expect(buffer.slice(10, 13).map((e) => e.lsn)).toEqual([oldest + 10, oldest + 11, oldest + 12]);
    }
    buffer.dropFront(buffer.length);
    expect(buffer.length).toBe(0);
    expect(buffer.bytes).toBe(0);
    buffer.push(event(next), 5);
    expect(buffer.at(0)!.lsn).toBe(next);
    expect(buffer.bytes).toBe(5);
  });

  it('releases dropped events at once (they are not kept alive until the slots are reclaimed)', () => {
    const buffer = new BufferedEvents();
    for (let lsn = 1; lsn <= 100; lsn++) buffer.push(event(lsn), 1);
    buffer.dropFront(40);
    const slots = (buffer as unknown as { events: Array<StoredEvent | undefined> }).events;
    expect(slots.slice(0, 40).every((e) => e === undefined)).toBe(true);
    expect(buffer.at(0)!.lsn).toBe(41);
  });

  it('gives back the memory of its sizes once a backlog has drained', () => {
    const buffer = new BufferedEvents();
    const sizesLength = (): number => (buffer as unknown as { sizes: Float64Array }).sizes.length;
    for (let lsn = 1; lsn <= 300_000; lsn++) buffer.push(event(lsn), 2);
    expect(sizesLength()).toBeGreaterThanOrEqual(300_000);
    buffer.dropFront(290_000);
    expect(sizesLength()).toBe(10_000);
    expect(buffer.bytes).toBe(20_000);
    expect(buffer.at(0)!.lsn).toBe(290_001);
    buffer.push(event(300_001), 3);
    expect(buffer.at(10_000)!.lsn).toBe(300_001);
    expect(buffer.bytes).toBe(20_003);
    buffer.dropFront(buffer.length);
    expect(sizesLength()).toBeLessThanOrEqual(65_536);
    expect(buffer.bytes).toBe(0);
  });

  it('holds large appends as their records and small ones as objects, in one order, through compactions', () => {
    const buffer = new BufferedEvents();
    const all: StoredEvent[] = [];
    let lsn = 1;
    /** A record of `n` events (some with non-ASCII text), as an append writes it. */
    const record = (n: number): { payload: Buffer; events: StoredEvent[] } => {
      const { ids, bytes } = newEventIds(n);
      const events = Array.from({ length: n }, (_, i): StoredEvent => ({
        lsn: lsn++,
        id: ids[i]!,
        eventType: 'order.created',
        entityId: `order-${lsn % 7}${lsn % 11 === 0 ? '-é' : ''}`,
        tenantId: 'default',
        timestampUs: 1_764_254_000_000_000 + lsn,
        version: lsn,
        payloadJson: JSON.stringify({ n: lsn, s: lsn % 13 === 0 ? '日本' : 'x' }),
        metadataJson: lsn % 3 === 0 ? '{"m":1}' : null,
      }));
      return { payload: encodeWalPayload(events, bytes), events };
    };
    let dropped = 0;
    for (let round = 0; round < 40; round++) {
      const big = record(300);
      buffer.pushRecord(big.payload, 300, 20);
      all.push(...big.events);
      for (let i = 0; i < 5; i++) {
        const e = { ...event(lsn++), entityId: 'small' };
        buffer.push(e, 100);
        all.push(e);
      }
      buffer.dropFront(200);
      dropped += 200;
      expect(buffer.length).toBe(all.length - dropped);
      expect(buffer.bytes).toBe(all.slice(dropped).reduce((sum, e) => sum + (e.entityId === 'small' ? 100 : 20), 0));
      for (const i of [0, 1, 99, 100, buffer.length - 6, buffer.length - 1]) {
        expect(buffer.at(i)).toEqual(all[dropped + i]);
        expect(buffer.lsnAt(i)).toBe(all[dropped + i]!.lsn);
      }
      expect(buffer.slice(95, 110)).toEqual(all.slice(dropped + 95, dropped + 110));
    }
    expect(buffer.at(buffer.length)).toBeUndefined();
    expect(buffer.lsnAt(buffer.length)).toBeUndefined();
    buffer.dropFront(buffer.length);
    expect(buffer.length).toBe(0);
    expect(buffer.bytes).toBe(0);
  });
});
