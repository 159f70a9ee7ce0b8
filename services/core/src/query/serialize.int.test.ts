/**
 * EventsJsonWriter over a real store: events in the buffer and in Parquet segments (several row
 * groups, metadata present and null, values that need escaping) are written byte for byte as
 * `eventJson` writes them, in the order of the positions asked for.
 */
import type { NewEvent } from '../events/storedEvent';
import type { EventStore } from '../storage/eventStore';
import { openTestStore } from '../testing/storeOptions';
import { makeTempDir, removeDir } from '../testing/tempDirs';
import { JsonOutput } from './jsonOutput';
import { eventJson, EventsJsonWriter } from './serialize';

describe('EventsJsonWriter', () => {
  let dir: string;
  let store: EventStore;

  beforeAll(async () => {
    dir = await makeTempDir('allsource-serialize-');
    store = await openTestStore(dir, { syncMode: 'none', rowGroupSize: 8 });
    const make = (i: number): NewEvent => ({
      eventType: i % 3 === 0 ? 'type "quoted"' : 'order.placed',
      entityId: i % 4 === 0 ? 'ëntity/ü 🎉' : `e-${i % 5}`,
      tenantId: i % 7 === 0 ? 'tenant\\b' : 'default',
      payloadJson: JSON.stringify(i % 2 === 0 ? { i, text: 'ünï "q" \n 🎉'.repeat(i % 9) } : [i, null, 'x'.repeat(i * 3)]),
      metadataJson: i % 3 === 1 ? JSON.stringify({ source: 'test', i }) : null,
    });
    for (let i = 0; i < 60; i += 6) await store.append(Array.from({ length: 6 }, (_, k) => make(i + k)));
    await store.flush();
    for (let i = 60; i < 75; i += 5) await store.append(Array.from({ length: 5 }, (_, k) => make(i + k)));
    await store.flush();
    // These stay in the write buffer.
    await store.append(Array.from({ length: 10 }, (_, k) => make(75 + k)));
  });

  afterAll(async () => {
    await store.close();
    await removeDir(dir);
  });

  const write = async (positions: number[]): Promise<{ text: string; count: number }> => {
    const out = new JsonOutput(16);
    const writer = new EventsJsonWriter(store.index, out);
    await store.visitPositions(positions, writer);
    return { text: out.result().toString('utf8'), count: writer.count };
  };

  it('writes flushed and buffered events as eventJson does, in the order asked', async () => {
    expect(store.segments.length).toBe(2);
    const all = Array.from({ length: store.index.count }, (_, p) => p);
    const orders = [all, [...all].reverse(), all.filter((p) => p % 3 === 1), [80, 2, 70, 40, 0, 84, 41]];
    for (const positions of orders) {
      const events = await store.readPositions(positions);
      const got = await write(positions);
      expect(got.count).toBe(positions.length);
      expect(got.text).toBe(events.map(eventJson).join(','));
      expect(JSON.parse(`[${got.text}]`)).toHaveLength(positions.length);
    }
  });

  it('writes nothing for no positions', async () => {
    expect(await write([])).toEqual({ text: '', count: 0 });
  });
});
