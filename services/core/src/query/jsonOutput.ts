import { timestampSecondPrefix } from '../events/timestamps';

/**
 * Up to this many characters or bytes a write is a plain loop, cheaper than a call into the
 * runtime (and the view it needs); longer ones are copied natively (measured: a loop costs about
 * 1 ns a byte, a native write 55–65 ns whatever its length up to a few hundred bytes).
 */
const SHORT = 40;

/**
 * Buffers of finished outputs, reused by the next ones: at most SCRATCH_MAX of them, none over
 * SCRATCH_MAX_BYTES (a larger answer's buffer is left to the collector). A new buffer for every
 * answer is memory outside the heap that V8 counts towards starting full collections (measured
 * over 5,000 entity histories: 37 mark-compacts with a new Buffer an answer, 9 reusing them).
 */
const SCRATCH: Buffer[] = [];
const SCRATCH_MAX = 4;
const SCRATCH_MAX_BYTES = 4 * 1024 * 1024;
const SCRATCH_MIN_BYTES = 64 * 1024;
const EMPTY = Buffer.alloc(0);
/**
 * Byte ranges are copied by a loop up to this length (a payload of a hundred bytes or so): a
 * native copy needs a view of the source, one allocation a copy.
 */
const SHORT_BYTES = 128;

/**
 * An answer built as UTF-8 bytes in one growing buffer, so stored bytes (payloads, ids) are
 * copied into it as they are instead of being decoded to strings, concatenated and encoded
 * again. Its size is bounded by what the caller writes (queries are bounded by their limit).
 */
export class JsonOutput {
  private buf: Buffer;
  private at = 0;

  constructor(initialBytes = 16 * 1024) {
    const pooled = SCRATCH.pop();
    if (pooled && pooled.length >= initialBytes) {
      this.buf = pooled;
    } else {
      if (pooled) SCRATCH.push(pooled); // too small for this one, kept for the next
      this.buf = Buffer.allocUnsafe(Math.max(initialBytes, SCRATCH_MIN_BYTES));
    }
  }

  /**
   * Give the buffer back to the pool once what `result()` returned is no longer used (for an
   * HTTP answer: once the response has finished, all of it handed to the socket). Write nothing
   * more. Never calling it is safe: the buffer is then left to the collector.
   */
  recycle(): void {
    if (this.buf !== EMPTY && SCRATCH.length < SCRATCH_MAX && this.buf.length <= SCRATCH_MAX_BYTES) SCRATCH.push(this.buf);
    this.buf = EMPTY;
    this.at = 0;
  }

  get length(): number {
    return this.at;
  }

  /** Any text (UTF-8 encoded). */
  text(s: string): void {
    const n = s.length;
    this.room(n * 3);
    if (n > SHORT) {
      this.at += this.buf.write(s, this.at, 'utf8');
      return;
    }
    const buf = this.buf;
    let at = this.at;
    for (let i = 0; i < n; i++) {
      const c = s.charCodeAt(i);
      if (c >= 0x80) {
        at += buf.write(s.slice(i), at, 'utf8');
        break;
      }
      buf[at++] = c;
    }
    this.at = at;
  }

  /** Text known to be ASCII (punctuation, numbers, timestamps). */
  ascii(s: string): void {
    const n = s.length;
    this.room(n);
    if (n > SHORT) {
      this.at += this.buf.write(s, this.at, 'latin1');
      return;
    }
    const buf = this.buf;
    let at = this.at;
    for (let i = 0; i < n; i++) buf[at++] = s.charCodeAt(i);
    this.at = at;
  }

  /** A non-negative integer (a safe one) in decimal. */
  integer(n: number): void {
    let digits = 1;
    for (let x = n; x >= 10; x = Math.floor(x / 10)) digits++;
    this.room(digits);
    const buf = this.buf;
    let at = this.at + digits;
    this.at = at;
    let x = n;
    do {
      const q = Math.floor(x / 10);
      buf[--at] = 0x30 + (x - q * 10);
      x = q;
    } while (x > 0);
  }

  /** A timestamp in microseconds as RFC 3339 text with microseconds (as `formatTimestamp`), without making a string. */
  timestamp(us: number): void {
    const second = Math.floor(us / 1_000_000);
    this.ascii(timestampSecondPrefix(second));
    this.room(7);
    const buf = this.buf;
    let fraction = us - second * 1_000_000;
    for (let at = this.at + 5; at >= this.at; at--) {
      const q = Math.floor(fraction / 10);
      buf[at] = 0x30 + (fraction - q * 10);
      fraction = q;
    }
    buf[this.at + 6] = 0x5a; // Z
    this.at += 7;
  }

  /** `src[from..to)` as it is. */
  bytes(src: Uint8Array, from: number, to: number): void {
    this.room(to - from);
    if (to - from > SHORT_BYTES) {
      this.buf.set(src.subarray(from, to), this.at);
      this.at += to - from;
      return;
    }
    const buf = this.buf;
    let at = this.at;
    for (let i = from; i < to; i++) buf[at++] = src[i]!;
    this.at = at;
  }

  /** What was written, as a view of the buffer (not pooled: write nothing more once taken). */
  result(): Buffer {
    return this.buf.subarray(0, this.at);
  }

  private room(n: number): void {
    if (this.at + n <= this.buf.length) return;
    const grown = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.at + n));
    this.buf.copy(grown, 0, 0, this.at);
    this.buf = grown;
  }
}
