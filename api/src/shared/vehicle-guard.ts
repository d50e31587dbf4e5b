import type { Queryable } from '@clutch/db';
import { apiError } from '../errors.js';

export function vehicleNotFound(id: string): Error {
  return apiError('VEHICLE_NOT_FOUND', `No vehicle with id ${id}`, { vehicleId: id });
}

/** True when the vehicle is visible in this transaction (row-level security decides for partners). */
export async function vehicleVisible(q: Queryable, id: string): Promise<boolean> {
  const { rows } = await q.query<{ found: boolean }>('SELECT EXISTS (SELECT 1 FROM vehicles WHERE id = $1) AS found', [
    id,
  ]);
  return rows[0]?.found === true;
}

/**
 * Throws VEHICLE_NOT_FOUND unless the vehicle is visible in this transaction. Every route below a
 * vehicle starts with it. Inside a partner's scope row-level security hides other tenants'
 * vehicles, so "absent" and "not yours" look the same.
 */
export async function assertVehicle(q: Queryable, id: string): Promise<void> {
  if (!(await vehicleVisible(q, id))) throw vehicleNotFound(id);
}
