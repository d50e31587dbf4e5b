import type { Queryable } from '@clutch/db';
import type { Scope } from '../auth/principal.js';
import { apiError } from '../errors.js';
import { VehiclesRepository, type VehicleRow } from './repository.js';

export interface Vehicle {
  id: string;
  tenantId: string;
  name: string;
  vin: string | null;
  make: string | null;
  model: string | null;
  modelYear: number | null;
  deviceIds: string[];
  /** True while any of the vehicle's devices holds a broker session (presence). */
  online: boolean;
  /** ISO time of the most recent contact from any of the vehicle's devices. */
  lastSeenAt: string | null;
}

/** Upper bound on one listing until the list is paginated. */
export const VEHICLE_LIST_LIMIT = 1000;

export function toIso(value: Date | string | null): string | null {
  if (value === null) return null;
  return (value instanceof Date ? value : new Date(value)).toISOString();
}

function toVehicle(row: VehicleRow): Vehicle {
  return {
    id: row.id,
    tenantId: row.tenant_id,
    name: row.name,
    vin: row.vin,
    make: row.make,
    model: row.model,
    modelYear: row.model_year,
    deviceIds: row.device_ids,
    online: row.online === true,
    lastSeenAt: toIso(row.last_seen_at),
  };
}

export function vehicleNotFound(id: string): Error {
  return apiError('VEHICLE_NOT_FOUND', `No vehicle with id ${id}`, { vehicleId: id });
}

/**
 * Throws VEHICLE_NOT_FOUND unless the vehicle is visible in this transaction. Inside a partner's
 * scope row-level security hides other tenants' vehicles, so "absent" and "not yours" look the same.
 */
export async function assertVehicle(q: Queryable, id: string): Promise<void> {
  if (!(await new VehiclesRepository(q).exists(id))) throw vehicleNotFound(id);
}

export class VehiclesService {
  async list(scope: Scope): Promise<Vehicle[]> {
    const rows = await scope.run((q) => new VehiclesRepository(q).list(VEHICLE_LIST_LIMIT));
    return rows.map(toVehicle);
  }

  async get(scope: Scope, id: string): Promise<Vehicle> {
    const row = await scope.run((q) => new VehiclesRepository(q).findById(id));
    if (!row) throw vehicleNotFound(id);
    return toVehicle(row);
  }

  exists(scope: Scope, id: string): Promise<boolean> {
    return scope.run((q) => new VehiclesRepository(q).exists(id));
  }
}
