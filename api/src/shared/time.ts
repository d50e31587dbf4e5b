import { apiError } from '../errors.js';

/** A database time (Date from pg, string from some drivers) as ISO 8601; null stays null. */
export function toIso(value: Date | string | null): string | null {
  if (value === null) return null;
  return (value instanceof Date ? value : new Date(value)).toISOString();
}

/** Open-ended ranges run until now and back `windowMs`; from after to is refused. */
export function resolveRange(
  from: Date | undefined,
  to: Date | undefined,
  windowMs: number,
  now: Date,
): { from: Date; to: Date } {
  const end = to ?? now;
  const start = from ?? new Date(end.getTime() - windowMs);
  if (start.getTime() > end.getTime()) {
    throw apiError('TIME_RANGE_INVALID', `from (${start.toISOString()}) is after to (${end.toISOString()})`);
  }
  return { from: start, to: end };
}
