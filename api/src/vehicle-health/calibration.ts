import type { Queryable } from '@clutch/db';
import {
  calibrationStatus,
  createVehicleNormal,
  parseVehicleNormal,
  type CalibrationStatus,
  type VehicleNormal,
} from '@clutch/ml';
import { toIso } from '../shared/time.js';

/** How far a vehicle's own normal is learned (issue 19), and when scoring last wrote it. */
export interface VehicleCalibration extends CalibrationStatus {
  /** When the stored normal was last written; null before the vehicle's first scored drive. */
  updatedAt: string | null;
}

/**
 * The vehicle's stored normal (`vehicle_normals`, written by ingest's scoring) and when it was
 * written; null when it has none, or one that does not parse (scoring then starts the vehicle
 * afresh too, ingest/src/normals/keeper.ts).
 */
export async function readVehicleNormal(
  q: Queryable,
  vehicleId: string,
): Promise<{ normal: VehicleNormal; updatedAt: string | null } | null> {
  const { rows } = await q.query<{ state: unknown; updated_at: Date | string }>(
    `SELECT state, updated_at FROM vehicle_normals WHERE vehicle_id = $1`,
    [vehicleId],
  );
  const row = rows[0];
  if (!row) return null;
  try {
    const state = typeof row.state === 'string' ? (JSON.parse(row.state) as unknown) : row.state;
    return { normal: parseVehicleNormal(state), updatedAt: toIso(row.updated_at) };
  } catch {
    return null;
  }
}

/**
 * The vehicle's calibration from its stored normal. None (or an unreadable one) is a vehicle
 * calibrating from nothing: 0 h, only the checks that hold for every car can run.
 */
export async function readCalibration(q: Queryable, vehicleId: string): Promise<VehicleCalibration> {
  const stored = await readVehicleNormal(q, vehicleId);
  return {
    ...calibrationStatus(stored?.normal ?? createVehicleNormal()),
    updatedAt: stored?.updatedAt ?? null,
  };
}

/** Reads a vehicle's calibration (readCalibration), parsing its stored normal only when it was rewritten. */
export interface CalibrationReader {
  read(q: Queryable, vehicleId: string): Promise<VehicleCalibration>;
}

/**
 * readCalibration for the health summary, which asks when its parts are not held (parts-cache.ts):
 * the stored normal (a few KB of JSON) travels and is parsed only when scoring rewrote it since this
 * process last read it. The statement runs on each such read, under the caller's row-level security: it compares the
 * row's version (`revision`, and `updated_at` for a row deleted and written anew) with the one
 * remembered, so the answer is always the stored normal's, never an older one.
 */
export function createCalibrationReader(options: { maxEntries?: number } = {}): CalibrationReader {
  const maxEntries = options.maxEntries ?? 20_000;
  const memo = new Map<string, { stamp: string; calibration: VehicleCalibration }>();
  return {
    async read(q, vehicleId) {
      const held = memo.get(vehicleId);
      const { rows } = await q.query<{ stamp: string; state: unknown; updated_at: Date | string }>(
        `SELECT revision::text || ' ' || updated_at::text AS stamp, updated_at,
                CASE WHEN revision::text || ' ' || updated_at::text IS DISTINCT FROM $2 THEN state END AS state
           FROM vehicle_normals WHERE vehicle_id = $1`,
        [vehicleId, held?.stamp ?? null],
      );
      const row = rows[0];
      if (!row) {
        memo.delete(vehicleId);
        return { ...calibrationStatus(createVehicleNormal()), updatedAt: null };
      }
      if (held && row.stamp === held.stamp) return held.calibration;
      let calibration: VehicleCalibration;
      try {
        const state = typeof row.state === 'string' ? (JSON.parse(row.state) as unknown) : row.state;
        calibration = { ...calibrationStatus(parseVehicleNormal(state)), updatedAt: toIso(row.updated_at) };
      } catch {
        // As readCalibration: a normal that does not parse is a vehicle calibrating from nothing.
        calibration = { ...calibrationStatus(createVehicleNormal()), updatedAt: null };
      }
      memo.delete(vehicleId);
      memo.set(vehicleId, { stamp: row.stamp, calibration });
      if (memo.size > maxEntries) memo.delete(memo.keys().next().value!);
      return calibration;
    },
  };
}
