/**
 * Dot paths into JSON values (`order.customer.id`, `items.0.sku`). Only own properties are read
 * or written, and the segments that could reach an object's prototype are refused at validation,
 * so a path can never read or pollute `Object.prototype`.
 */

export const MAX_PATH_LENGTH = 256;
export const MAX_PATH_DEPTH = 16;
const FORBIDDEN_SEGMENTS = new Set(['__proto__', 'prototype', 'constructor']);

/** The reason `path` is not a usable dot path, or undefined when it is. */
export function pathProblem(path: string): string | undefined {
  if (path.length === 0) return 'must not be empty';
  if (path.length > MAX_PATH_LENGTH) return `must be at most ${MAX_PATH_LENGTH} characters`;
  const segments = path.split('.');
  if (segments.length > MAX_PATH_DEPTH) return `must have at most ${MAX_PATH_DEPTH} segments`;
  for (const s of segments) {
    if (s === '') return `'${path}' has an empty segment (leading, trailing or double dot)`;
    if (FORBIDDEN_SEGMENTS.has(s)) return `'${path}' uses the reserved segment '${s}'`;
  }
  return undefined;
}

export function splitPath(path: string): string[] {
  return path.split('.');
}

/** The value at `segments` inside `root`, or undefined when any step is missing. */
export function getPath(root: unknown, segments: readonly string[]): unknown {
  let current: unknown = root;
  for (const s of segments) {
    if (typeof current !== 'object' || current === null) return undefined;
    if (!Object.prototype.hasOwnProperty.call(current, s)) return undefined;
    current = (current as Record<string, unknown>)[s];
  }
  return current;
}

export class PathError extends Error {}

/**
 * Write `value` at `segments` inside `root` (which must be a JSON object), creating missing
 * intermediate objects. Throws PathError when the root or an intermediate step is not an object.
 */
export function setPath(root: unknown, segments: readonly string[], value: unknown): void {
  if (typeof root !== 'object' || root === null || Array.isArray(root)) {
    throw new PathError('the payload is not a JSON object');
  }
  let current = root as Record<string, unknown>;
  for (let i = 0; i < segments.length - 1; i++) {
    const s = segments[i]!;
    const next = Object.prototype.hasOwnProperty.call(current, s) ? current[s] : undefined;
    if (next === undefined) {
      const created: Record<string, unknown> = {};
      current[s] = created;
      current = created;
    } else if (typeof next === 'object' && next !== null) {
      current = next as Record<string, unknown>;
    } else {
      throw new PathError(`'${segments.slice(0, i + 1).join('.')}' is not an object`);
    }
  }
  current[segments[segments.length - 1]!] = value;
}
