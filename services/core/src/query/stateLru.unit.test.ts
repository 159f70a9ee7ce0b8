import { emptyState } from './entityState';
import { StateLru } from './stateLru';

const entry = (version = 1) => ({ state: emptyState(), version });

describe('StateLru', () => {
  it('evicts the least recently used past the entry count', () => {
    const lru = new StateLru(2, 1_000_000);
    lru.set('a', entry(), 10);
    lru.set('b', entry(), 10);
    expect(lru.get('a')).toBeDefined(); // a is now the most recent
    lru.set('c', entry(), 10);
    expect([lru.has('a'), lru.has('b'), lru.has('c')]).toEqual([true, false, true]);
    expect(lru.bytes).toBe(20);
  });

  it('evicts the least recently used past the byte bound, also when a kept state grows', () => {
    const lru = new StateLru(100, 800);
    const ids = 'abcdefghijklmnop'.split('');
    for (const id of ids) lru.set(id, entry(), 50);
    expect(lru.size).toBe(16);
    expect(lru.bytes).toBe(800);
    // peek does not refresh: a stays the oldest and goes first.
    expect(lru.peek('a')).toBeDefined();
    lru.grew('p', 30);
    expect(lru.has('a')).toBe(false);
    expect(lru.bytes).toBe(780);
    lru.set('q', entry(), 50);
    expect(lru.has('b')).toBe(false);
    expect(lru.bytes).toBe(780);
  });

  it('keeps no state larger than an eighth of the byte bound, and drops one that grows past it', () => {
    const lru = new StateLru(100, 800);
    lru.set('big', entry(), 101);
    expect(lru.has('big')).toBe(false);
    lru.set('grows', entry(), 60);
    lru.grew('grows', 41);
    expect(lru.has('grows')).toBe(false);
    expect(lru.bytes).toBe(0);
    // Replacing an entry counts its bytes once.
    lru.set('x', entry(), 30);
    lru.set('x', entry(2), 40);
    expect(lru.bytes).toBe(40);
    expect(lru.peek('x')!.version).toBe(2);
    lru.delete('x');
    expect(lru.bytes).toBe(0);
  });
});
