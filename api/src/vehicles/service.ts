import { apiError } from '../errors.js';
import type { VehicleRow, VehiclesRepository } from './repository.js';

export interface Vehicle {
  id: string;
  tenantId: string;
  name: string;
  vin: string | null;
  make: string | null;
  model: string | null;
  modelYear: number | null;
  deviceIds: string[];
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
    lastSeenAt: toIso(row.last_seen_at),
  };
}

export class VehiclesService {
  constructor(private readonly vehicles: VehiclesRepository) {}

  async list(): Promise<Vehicle[]> {
    return (await this.vehicles.list(VEHICLE_LIST_LIMIT)).map(toVehicle);
  }

  async get(id: string): Promise<Vehicle> {
    const row = await this.vehicles.findById(id);
    if (!row) throw apiError('VEHICLE_NOT_FOUND', `No vehicle with id ${id}`, { vehicleId: id });
    return toVehicle(row);
  }

  exists(id: string): Promise<boolean> {
    return this.vehicles.exists(id);
  }

  /** Throws VEHICLE_NOT_FOUND unless the vehicle exists; for rules that only need the id. */
  async assertExists(id: string): Promise<void> {
    if (!(await this.vehicles.exists(id))) {
      throw apiError('VEHICLE_NOT_FOUND', `No vehicle with id ${id}`, { vehicleId: id });
    }
  }
}
