import { AllSourceError } from '@allsource/errors';
import { parseTimestamp } from '../events/timestamps';

type Query = Record<string, unknown>;

/** Query-string readers that answer 400 (Invalid query) with the parameter's name. */
export function optionalString(q: Query, name: string): string | undefined {
  const v = q[name];
  if (v === undefined) return undefined;
  if (typeof v !== 'string') throw new AllSourceError('INVALID_QUERY', `${name} must be given once, as a string`);
  return v;
}

export function optionalInt(q: Query, name: string, min: number, max: number): number | undefined {
  const v = optionalString(q, name);
  if (v === undefined) return undefined;
  if (!/^-?\d+$/.test(v) || !Number.isSafeInteger(Number(v)) || Number(v) < min || Number(v) > max) {
    throw new AllSourceError('INVALID_QUERY', `${name} must be an integer between ${min} and ${max}, got '${v}'`);
  }
  return Number(v);
}

export function optionalTimestamp(q: Query, name: string): number | undefined {
  const v = optionalString(q, name);
  if (v === undefined) return undefined;
  const us = parseTimestamp(v);
  if (us === undefined) {
    throw new AllSourceError('INVALID_QUERY', `${name} must be an RFC 3339 timestamp such as 2026-01-02T03:04:05Z, got '${v}'`);
  }
  return us;
}

export function optionalEnum<T extends string>(q: Query, name: string, allowed: readonly T[]): T | undefined {
  const v = optionalString(q, name);
  if (v === undefined) return undefined;
  if (!(allowed as readonly string[]).includes(v)) {
    throw new AllSourceError('INVALID_QUERY', `${name} must be one of ${allowed.join(', ')}, got '${v}'`);
  }
  return v as T;
}
