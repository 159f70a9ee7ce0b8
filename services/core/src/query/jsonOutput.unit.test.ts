import { formatTimestamp } from '../events/timestamps';
import { JsonOutput } from './jsonOutput';

describe('JsonOutput', () => {
  it('writes text, ASCII and byte ranges, short and long, and grows past its first buffer', () => {
    const out = new JsonOutput(8);
    const long = 'ä€🎉x'.repeat(40);
    const src = Buffer.from('0123456789'.repeat(30));
    out.ascii('{"a":');
    out.text('"ünï🎉"');
    out.text(long);
    out.ascii('x'.repeat(100));
    out.bytes(src, 3, 9);
    out.bytes(src, 0, 250);
    out.text('plain, then é');
    const expected = Buffer.concat([
      Buffer.from('{"a":"ünï🎉"'),
      Buffer.from(long),
      Buffer.from('x'.repeat(100)),
      src.subarray(3, 9),
      src.subarray(0, 250),
      Buffer.from('plain, then é'),
    ]);
    expect(out.result().equals(expected)).toBe(true);
    expect(out.length).toBe(expected.length);
  });

  it('gives an empty result when nothing was written', () => {
    expect(new JsonOutput().result().length).toBe(0);
  });

  it('writes integers as String does', () => {
    const values = [0, 1, 9, 10, 99, 100, 101, 65_535, 1_234_567_890, 2 ** 32, Number.MAX_SAFE_INTEGER];
    const out = new JsonOutput(4);
    for (const v of values) {
      out.integer(v);
      out.ascii(' ');
    }
    expect(out.result().toString('latin1')).toBe(values.map((v) => `${String(v)} `).join(''));
  });

  it('writes timestamps as formatTimestamp does', () => {
    const values = [0, 1, 999_999, 1_000_000, 1_764_250_000_123_456, 1_764_250_000_000_000, 1_764_250_000_999_999, -1, -1_500_000, 253_402_300_799_999_999];
    for (let i = 0; i < 200; i++) values.push(Math.floor(1_700_000_000_000_000 + i * 7_654_321.3));
    const out = new JsonOutput(8);
    for (const us of values) {
      out.timestamp(us);
      out.ascii('|');
    }
    expect(out.result().toString('latin1')).toBe(values.map((us) => `${formatTimestamp(us)}|`).join(''));
  });

  it('recycles its buffer, and the next outputs reuse it without mixing contents', () => {
    const texts = ['{"first":"ünï 🎉"}', 'x'.repeat(70_000), '{}', `[${'1,'.repeat(40_000)}1]`, 'é'];
    for (let round = 0; round < 3; round++) {
      for (const text of texts) {
        const out = new JsonOutput(10);
        out.text(text);
        expect(out.result().toString('utf8')).toBe(text);
        out.recycle();
      }
    }
  });
});
