import { EVENT_ID_BYTES, idsToText, newEventIds } from './eventIds';
import { IdTable } from '../storage/index/idTable';

const UUID_V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

describe('newEventIds', () => {
  it('makes distinct version 4 UUIDs whose text is their bytes', () => {
    const { ids, bytes } = newEventIds(5000);
    expect(ids).toHaveLength(5000);
    expect(bytes.length).toBe(5000 * EVENT_ID_BYTES);
    expect(new Set(ids).size).toBe(5000);
    for (let i = 0; i < ids.length; i++) {
      expect(ids[i]).toMatch(UUID_V4);
      expect(ids[i]!.replace(/-/g, '')).toBe(bytes.subarray(i * EVENT_ID_BYTES, (i + 1) * EVENT_ID_BYTES).toString('hex'));
    }
  });

  it('formats ids from bytes at an offset', () => {
    const bytes = Buffer.from('ff'.repeat(3) + '00112233445566778899aabbccddeeff' + '0123456789abcdef0123456789abcdef', 'hex');
    expect(idsToText(bytes, 2, 3)).toEqual(['00112233-4455-6677-8899-aabbccddeeff', '01234567-89ab-cdef-0123-456789abcdef']);
  });

  it('gives the id table the same key from the bytes as from the text', () => {
    const { ids, bytes } = newEventIds(2000);
    const byText = new IdTable();
    const byBytes = new IdTable();
    for (let i = 0; i < ids.length; i++) {
      byText.add(ids[i]!, i);
      byBytes.addBytes(bytes, i * EVENT_ID_BYTES, i);
    }
    for (let i = 0; i < ids.length; i++) {
      expect(byBytes.candidates(ids[i]!)).toEqual([i]);
      expect(byText.candidates(ids[i]!)).toEqual([i]);
    }
    expect(byBytes.size).toBe(2000);
  });
});
