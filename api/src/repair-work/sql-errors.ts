/** PostgreSQL errors the repair-work services turn into problems (SQLSTATE and constraint name). */
interface PgError {
  code?: unknown;
  constraint?: unknown;
  message?: unknown;
}

const asPg = (err: unknown): PgError => (typeof err === 'object' && err !== null ? (err as PgError) : {});

/** A unique violation (23505), of the named constraint or index when one is given. */
export function isUniqueViolation(err: unknown, constraint?: string): boolean {
  const e = asPg(err);
  if (e.code !== '23505') return false;
  if (constraint === undefined) return true;
  return e.constraint === constraint || (typeof e.message === 'string' && e.message.includes(constraint));
}

/** A check violation (23514) of the named constraint (or one raised by a trigger with that name). */
export function isCheckViolation(err: unknown, constraint: string): boolean {
  const e = asPg(err);
  return (
    e.code === '23514' &&
    (e.constraint === constraint || (typeof e.message === 'string' && e.message.includes(constraint)))
  );
}
