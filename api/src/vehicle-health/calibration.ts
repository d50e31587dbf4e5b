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
