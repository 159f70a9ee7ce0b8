import { rejectedError } from '../testing/errors';
import type { Projection } from './projection';
import { readProjectionState, stateJson } from './projectionState';

function keyed(entries: Array<[string, unknown]>): Projection {
  const map = new Map(entries);
  return { name: 'k', apply: () => undefined, reset: () => undefined, state: (key) => (key === undefined ? map : map.get(key)), keys: () => map.keys() };
}

const opts = { offset: 0, limit: 1000, maxBytes: 1 << 20 };

async function read(p: Projection, o: Partial<typeof opts & { key: string }> = {}): Promise<Record<string, unknown>> {
  return JSON.parse(await readProjectionState(p, { ...opts, ...o })) as Record<string, unknown>;
}

describe('readProjectionState', () => {
  it('answers one key, 404 for an unknown one', async () => {
    const p = keyed([['a', { n: 1 }]]);
    expect(await read(p, { key: 'a' })).toEqual({ name: 'k', key: 'a', state: { n: 1 } });
    const err = await rejectedError(readProjectionState(p, { ...opts, key: 'zz' }));
    expect(err.code).toBe('NOT_FOUND');
    expect(err.status).toBe(404);
  });

  it('pages a keyed state with limit/offset and next_offset', async () => {
    const p = keyed(Array.from({ length: 5 }, (_, i) => [`k${i}`, i] as [string, unknown]));
    expect(await read(p, { limit: 2 })).toEqual({
      name: 'k',
      state: { k0: 0, k1: 1 },
      total_keys: 5,
      offset: 0,
      limit: 2,
      returned: 2,
      next_offset: 2,
    });
    expect(await read(p, { limit: 2, offset: 4 })).toMatchObject({ state: { k4: 4 }, returned: 1, next_offset: null });
    expect(await read(p, { offset: 10 })).toMatchObject({ state: {}, total_keys: 5, returned: 0, next_offset: null });
    expect(await read(p)).toMatchObject({ returned: 5, next_offset: null });
  });

  it('stops a page before the byte limit and refuses a single value over it (413)', async () => {
    const big = 'x'.repeat(400);
    const p = keyed([
      ['a', big],
      ['b', big],
      ['c', big],
      ['huge', 'y'.repeat(5000)],
    ]);
    const page = await read(p, { maxBytes: 1024 });
    expect(page).toMatchObject({ returned: 2, next_offset: 2, total_keys: 4 });
    expect(Object.keys(page.state as object)).toEqual(['a', 'b']);
    const next = await read(p, { maxBytes: 1024, offset: 2 });
    expect(next).toMatchObject({ returned: 1, next_offset: 3 });
    const err = await rejectedError(readProjectionState(p, { ...opts, maxBytes: 1024, offset: 3 }));
    expect(err.code).toBe('PAYLOAD_TOO_LARGE');
    expect(err.message).toMatch(/PROJECTION_STATE_MAX_BYTES/);
    expect((await rejectedError(readProjectionState(p, { ...opts, maxBytes: 1024, key: 'huge' }))).code).toBe('PAYLOAD_TOO_LARGE');
    // Multi-byte characters are counted as UTF-8 bytes.
    const wide = keyed([['w', 'é'.repeat(600)]]);
    expect((await rejectedError(readProjectionState(wide, { ...opts, maxBytes: 1024, key: 'w' }))).code).toBe('PAYLOAD_TOO_LARGE');
  });

  it('answers a one-value state whole (awaiting a promised state), bounded too', async () => {
    const p: Projection = { name: 'one', apply: () => undefined, reset: () => undefined, state: () => Promise.resolve({ total: 3 }) };
    expect(await read(p)).toEqual({ name: 'one', state: { total: 3 } });
    const big: Projection = { name: 'big', apply: () => undefined, reset: () => undefined, state: () => 'z'.repeat(2000) };
    expect((await rejectedError(readProjectionState(big, { ...opts, maxBytes: 1024 }))).status).toBe(413);
  });

  it('serializes Maps, Sets and bigints; refuses cycles with a 500 that says why', () => {
    expect(stateJson(new Map<string, unknown>([['a', new Set([1, 2])], ['b', 10n]]))).toBe('{"a":[1,2],"b":"10"}');
    expect(stateJson(undefined)).toBe('null');
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    expect(() => stateJson(cyclic)).toThrow(/not JSON-serializable/);
  });
});
