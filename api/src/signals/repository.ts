import type { Queryable } from '@clutch/db';

/**
 * The ids of the signals a vehicle has data of: raw samples or minute rollups. Each table is walked as
 * a loose index scan on its (vehicle_id, signal_id, ...) key, one probe per signal the car has, so the
 * cost follows what the car sends, not the size of the catalogue or of the history.
 */
export async function vehicleSignalIds(q: Queryable, vehicleId: string): Promise<number[]> {
  const { rows } = await q.query<{ signal_id: number }>(
    `WITH RECURSIVE raw(signal_id) AS (
       (SELECT s.signal_id FROM samples s WHERE s.vehicle_id = $1 ORDER BY s.signal_id LIMIT 1)
       UNION ALL
       SELECT (SELECT s.signal_id FROM samples s
                WHERE s.vehicle_id = $1 AND s.signal_id > w.signal_id ORDER BY s.signal_id LIMIT 1)
         FROM raw w WHERE w.signal_id IS NOT NULL
     ), rolled(signal_id) AS (
       (SELECT r.signal_id FROM sample_rollups_1m r WHERE r.vehicle_id = $1 ORDER BY r.signal_id LIMIT 1)
       UNION ALL
       SELECT (SELECT r.signal_id FROM sample_rollups_1m r
                WHERE r.vehicle_id = $1 AND r.signal_id > w.signal_id ORDER BY r.signal_id LIMIT 1)
         FROM rolled w WHERE w.signal_id IS NOT NULL
     )
     SELECT signal_id FROM raw WHERE signal_id IS NOT NULL
      UNION
     SELECT signal_id FROM rolled WHERE signal_id IS NOT NULL
      ORDER BY signal_id`,
    [vehicleId],
  );
  return rows.map((r) => Number(r.signal_id));
}
