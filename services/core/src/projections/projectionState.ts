import { AllSourceError } from '@allsource/errors';
import type { Projection } from './projection';

export interface StateReadOptions {
  /** One key of the state; without it the whole state (a page of it when it is keyed). */
  key?: string | undefined;
  /** Keys skipped (keyed states only). */
  offset: number;
  /** Most keys in the page (keyed states only). */
  limit: number;
  /** Most JSON bytes of state in the answer. */
  maxBytes: number;
}

/**
 * The JSON text of a projection state answer, bounded:
 *
 * - `key` given: `{"name","key","state"}`; 404 when the projection has no such key.
 * - keyed state (the projection lists keys): `{"name","state":{key: value…},"total_keys","offset",
 *   "limit","returned","next_offset"}` — one page of keys in the projection's order, which stops
 *   early (with `next_offset`) when the next value would take the state past `maxBytes`.
 * - one-value state: `{"name","state"}`.
 *
 * A single value larger than `maxBytes` is refused with 413 (ask for one key, or raise
 * PROJECTION_STATE_MAX_BYTES).
 */
export async function readProjectionState(projection: Projection, opts: StateReadOptions): Promise<string> {
  const name = projection.name;
  if (opts.key !== undefined) {
    const value = await projection.state(opts.key);
    if (value === undefined) {
      throw new AllSourceError('NOT_FOUND', `projection '${name}' has no key '${opts.key}'`);
    }
    const text = boundedJson(value, opts.maxBytes, () => `the state of key '${opts.key}' of projection '${name}'`);
    return `{"name":${JSON.stringify(name)},"key":${JSON.stringify(opts.key)},"state":${text}}`;
  }

  const keys = projection.keys?.();
  if (keys === undefined) {
    const text = boundedJson(await projection.state(), opts.maxBytes, () => `the state of projection '${name}'`);
    return `{"name":${JSON.stringify(name)},"state":${text}}`;
  }

  const parts: string[] = [];
  let bytes = 2;
  let total = 0;
  let nextOffset: number | null = null;
  for (const key of keys) {
    const index = total++;
    if (index < opts.offset || nextOffset !== null) continue;
    if (parts.length >= opts.limit) {
      nextOffset = index;
      continue;
    }
    let value = projection.state(key);
    if (isThenable(value)) value = await value;
    if (value === undefined) continue;
    const part = `${JSON.stringify(key)}:${stateJson(value)}`;
    const size = Buffer.byteLength(part) + 1;
    if (bytes + size > opts.maxBytes) {
      // The page stops before the value that does not fit; a value that fits no page is refused.
      if (parts.length === 0) throw tooLarge(`the state of key '${key}' of projection '${name}'`, size - 1, opts.maxBytes);
      nextOffset = index;
      continue;
    }
    parts.push(part);
    bytes += size;
  }
  return (
    `{"name":${JSON.stringify(name)},"state":{${parts.join(',')}},"total_keys":${total},"offset":${opts.offset},` +
    `"limit":${opts.limit},"returned":${parts.length},"next_offset":${nextOffset === null ? 'null' : nextOffset}}`
  );
}

/** JSON text of a state value (Maps as objects, Sets as arrays, bigints as strings). */
export function stateJson(value: unknown): string {
  let text: string | undefined;
  try {
    text = JSON.stringify(value, replacer);
  } catch (err) {
    throw new AllSourceError('INTERNAL', `projection state is not JSON-serializable: ${(err as Error).message}`);
  }
  return text ?? 'null';
}

function boundedJson(value: unknown, maxBytes: number, what: () => string): string {
  const text = stateJson(value);
  // UTF-16 length is a lower bound of the UTF-8 byte length; count bytes only near the limit.
  if (text.length > maxBytes || (text.length * 3 > maxBytes && Buffer.byteLength(text) > maxBytes)) {
    throw tooLarge(what(), Buffer.byteLength(text), maxBytes);
  }
  return text;
}

function tooLarge(what: string, bytes: number, maxBytes: number): AllSourceError {
  return new AllSourceError(
    'PAYLOAD_TOO_LARGE',
    `${what} is ${bytes} bytes of JSON, over the answer limit of ${maxBytes} bytes (PROJECTION_STATE_MAX_BYTES); ask for one key with ?key= or page with ?limit=`,
  );
}

function replacer(_key: string, value: unknown): unknown {
  if (value instanceof Map) {
    const out: Record<string, unknown> = Object.create(null) as Record<string, unknown>;
    for (const [k, v] of value as Map<unknown, unknown>) out[String(k)] = v;
    return out;
  }
  if (value instanceof Set) return [...(value as Set<unknown>)];
  if (typeof value === 'bigint') return value.toString();
  return value;
}

function isThenable(v: unknown): v is PromiseLike<unknown> {
  return typeof v === 'object' && v !== null && typeof (v as { then?: unknown }).then === 'function';
}
