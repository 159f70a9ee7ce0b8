import { AllSourceError } from '@allsource/errors';
import type { Request } from 'express';

/** One query parameter as a string; a repeated parameter is a 400. */
export function queryParam(req: Request, name: string): string | undefined {
  const raw = (req.query as Record<string, unknown>)[name];
  if (raw === undefined) return undefined;
  if (typeof raw !== 'string') throw new AllSourceError('INVALID_QUERY', `parameter '${name}' must be given once`);
  return raw;
}

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };

/** `15s`, `5m`, `1h`, `2d`, `500ms` or a number of seconds (`30`, `0.5`) → milliseconds; undefined if malformed. */
export function parseDuration(raw: string): number | undefined {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h|d|w)?$/.exec(raw.trim());
  if (!m) return undefined;
  const ms = Number(m[1]) * UNIT_MS[m[2] ?? 's']!;
  return Number.isFinite(ms) && ms > 0 ? Math.round(ms) : undefined;
}

/** Milliseconds → the shortest exact duration string (`1h`, `90s`, `250ms`). */
export function formatDuration(ms: number): string {
  for (const [unit, size] of [['d', 86_400_000], ['h', 3_600_000], ['m', 60_000], ['s', 1000]] as const) {
    if (ms >= size && ms % size === 0) return `${ms / size}${unit}`;
  }
  return `${ms}ms`;
}

export function iso(ms: number | null | undefined): string | null {
  return ms === null || ms === undefined ? null : new Date(ms).toISOString();
}
