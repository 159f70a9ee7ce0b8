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
});
