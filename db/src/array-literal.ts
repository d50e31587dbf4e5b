/** Characters of uuids, ISO 8601 times and plain ids: none needs quoting in an array literal. */
const PLAIN_ELEMENT = /^[0-9A-Za-z:._+-]+$/;

/**
 * A query parameter for a `text[]`, `uuid[]`, `timestamptz[]` or numeric array: the values as one
 * PostgreSQL array literal when no element needs quoting (uuids, ISO 8601 times, finite numbers,
 * plain ids), else the values as they are, for the driver to encode. The driver quotes and
 * concatenates element by element: for the thousands of elements of ingest's per-second statements
 * that was a kilobyte or more of garbage per fleet message. NULL elements are not supported.
 */
export function arrayParameter<T extends string | number>(values: readonly T[]): string | readonly T[] {
  for (const v of values)
    if (typeof v === 'number' ? !Number.isFinite(v) : typeof v !== 'string' || !PLAIN_ELEMENT.test(v) || isNullWord(v))
      return values;
  return `{${values.join(',')}}`;
}

/** Unquoted, NULL in any case is the SQL NULL in an array literal, not the text. */
function isNullWord(v: string): boolean {
  return v.length === 4 && v.toUpperCase() === 'NULL';
}
