import { randomFillSync } from 'node:crypto';

/** Bytes of one event id (a version 4 UUID). */
export const EVENT_ID_BYTES = 16;

/** Two ASCII hex digits of each byte value, packed little-endian in a u16 (low byte first). */
const HEX_PAIRS = new Uint16Array(256);
for (let b = 0; b < 256; b++) {
  const s = b.toString(16).padStart(2, '0');
  HEX_PAIRS[b] = s.charCodeAt(0) | (s.charCodeAt(1) << 8);
}

/**
 * Ids of a batch of new events, made in one go: one `randomFillSync` for the whole batch instead
 * of one `randomUUID()` an event, and the 64-bit index key of each id taken from its bytes (so
 * the index never parses the text back).
 */
export interface EventIds {
  /** The ids as UUID text (8-4-4-4-12 lowercase hex). */
  ids: string[];
  /** Raw bytes, `EVENT_ID_BYTES` per id: what the write-ahead log stores. */
  bytes: Buffer;
}

/**
 * Random bytes drawn a pool at a time: a single-event append then costs a copy, not a call into
 * the system's random generator (which is what `randomUUID` does internally, too).
 */
const POOL_BYTES = 4096;
const pool = Buffer.allocUnsafe(POOL_BYTES);
let poolAt = POOL_BYTES;

function randomBytesInto(out: Buffer): void {
  if (out.length > POOL_BYTES / 2) {
    randomFillSync(out);
    return;
  }
  if (poolAt + out.length > POOL_BYTES) {
    randomFillSync(pool);
    poolAt = 0;
  }
  pool.copy(out, 0, poolAt, poolAt + out.length);
  // Bytes handed out are never handed out again.
  poolAt += out.length;
}

export function newEventIds(n: number): EventIds {
  const bytes = Buffer.allocUnsafe(n * EVENT_ID_BYTES);
  randomBytesInto(bytes);
  for (let at = 0; at < bytes.length; at += EVENT_ID_BYTES) {
    bytes[at + 6] = (bytes[at + 6]! & 0x0f) | 0x40; // version 4
    bytes[at + 8] = (bytes[at + 8]! & 0x3f) | 0x80; // RFC 4122 variant
  }
  return { ids: idsToText(bytes, n), bytes };
}

/**
 * Where `idsToText` writes the ASCII text before decoding it (decoding copies): reused, instead of
 * a buffer outside the heap per batch, whose churn counts towards V8's external-memory GC trigger.
 */
let textScratch = Buffer.allocUnsafe(36 * 1024);

/**
 * UUID text of `n` ids stored back to back in `bytes` from `offset`. Written as ASCII into one
 * buffer and decoded once: each id is then a slice of one flat string, which later code reads
 * without flattening a concatenation first.
 */
export function idsToText(bytes: Uint8Array, n: number, offset = 0): string[] {
  if (textScratch.length < n * 36) textScratch = Buffer.allocUnsafe(Math.max(n * 36, textScratch.length * 2));
  const text = textScratch;
  let t = 0;
  for (let i = 0; i < n; i++) {
    const r = offset + i * EVENT_ID_BYTES;
    for (let k = 0; k < EVENT_ID_BYTES; k++) {
      if (k === 4 || k === 6 || k === 8 || k === 10) text[t++] = 45; // '-'
      const pair = HEX_PAIRS[bytes[r + k]!]!;
      text[t++] = pair & 0xff;
      text[t++] = pair >>> 8;
    }
  }
  const all = text.toString('latin1', 0, t);
  const ids = new Array<string>(n);
  for (let i = 0; i < n; i++) ids[i] = all.slice(i * 36, i * 36 + 36);
  return ids;
}
