import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { arrayParameter } from './array-literal.js';
import { testDatabases } from './testing.js';
import type { Database } from './types.js';

describe.each(testDatabases(inject('pgAdminUrl'), 'db'))('array parameters on %s', (_name, open) => {
  let db: Database;
  beforeAll(async () => {
    db = await open();
  });
  afterAll(async () => {
    await db?.close();
  });

  it('reads back exactly what the driver would have sent, literal or not', async () => {
    const uuids = ['3f1c2e9a-1b2c-4d5e-8f90-123456789abc', '00000000-0000-0000-0000-000000000001'];
    const times = ['2026-12-05T09:00:00.000Z', '1999-12-31T23:59:59.999Z'];
    const numbers = [0, -0.5, 1e308, 2 ** 53, -1e-300, 13.9];
    const awkward = ['a,b', 'quote " and \\ backslash', '{brace}', 'space here', 'Zürich', 'NULL', ''];
    expect(arrayParameter(uuids)).toBe(`{${uuids.join(',')}}`);
    expect(arrayParameter(awkward)).toBe(awkward);
    expect(arrayParameter(['plain', 'null'])).toEqual(['plain', 'null']);
    expect(arrayParameter([1, Number.NaN])).toEqual([1, Number.NaN]);
    const { rows } = await db.query<{ u: string[]; t: string[]; n: number[]; a: string[]; s: number[] }>(
      `SELECT $1::uuid[]::text[] AS u,
              ARRAY(SELECT to_char(x AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') FROM unnest($2::timestamptz[]) x) AS t,
              $3::float8[] AS n, $4::text[] AS a, $5::smallint[] AS s`,
      [
        arrayParameter(uuids),
        arrayParameter(times),
        arrayParameter(numbers),
        arrayParameter(awkward),
        arrayParameter([1, 20, -3]),
      ],
    );
    expect(rows[0]).toEqual({ u: uuids, t: times, n: numbers, a: awkward, s: [1, 20, -3] });
  });
});
