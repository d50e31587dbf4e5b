import type { SignalDefinition } from '@clutch/contracts';
import type { Queryable } from './types.js';

/** Upserts the contracts signal catalogue into the signals table (ids never change meaning). */
export async function syncSignals(db: Queryable, catalogue: readonly SignalDefinition[]): Promise<void> {
  await db.query(
    `INSERT INTO signals (id, key, name, unit, min_value, max_value)
     SELECT * FROM unnest($1::smallint[], $2::text[], $3::text[], $4::text[], $5::float8[], $6::float8[])
     ON CONFLICT (id) DO UPDATE SET key = excluded.key, name = excluded.name, unit = excluded.unit,
       min_value = excluded.min_value, max_value = excluded.max_value`,
    [
      catalogue.map((s) => s.id),
      catalogue.map((s) => s.key),
      catalogue.map((s) => s.name),
      catalogue.map((s) => s.unit),
      catalogue.map((s) => s.min),
      catalogue.map((s) => s.max),
    ],
  );
}
