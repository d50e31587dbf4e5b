import type { RequestPolicy } from '../auth/policy.js';
import type { Scope } from '../auth/scope.js';
import type { PageRequest } from '../http/pagination.js';
import { toIso } from '../shared/time.js';
import { vehicleNotFound } from '../shared/vehicle-guard.js';
import { vehicleResource, vehicleResources } from './access.js';
import { VehiclesRepository, type VehicleRow } from './repository.js';

// commands/ and ai/ (owned elsewhere) still import these from here; new code imports ../shared/.
export { toIso } from '../shared/time.js';
export { assertVehicle, vehicleNotFound } from '../shared/vehicle-guard.js';

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

/**
 * The list's page size: a client that does not page (the web vehicle list) still gets up to the
 * 1000 vehicles one response always held.
 */
export const VEHICLE_PAGE = { defaultLimit: 1000, maxLimit: 1000 } as const;

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

/**
 * Signed-in users see a vehicle only when the policy function says `vehicles:read` on it (an owner:
 * their own and those shared with them; a shop's staff: the shop's and those shared with the shop),
 * over what row-level security already lets through. API keys and administrators are decided by
 * their scope and tenant alone, as before, at no extra cost.
 */
export class VehiclesService {
  async list(
    scope: Scope,
    page: PageRequest,
    policy?: RequestPolicy,
  ): Promise<{ vehicles: Vehicle[]; next: string | null }> {
    const { items, next } = await scope.run(async (q) => {
      const found = await new VehiclesRepository(q).list(page);
      if (policy?.ref.kind !== 'user') return found;
      const resources = await vehicleResources(
        q,
        found.items.map((v) => v.id),
      );
      // A filtered page may hold fewer rows than asked for; `next` still continues after its last row.
      const visible: typeof found.items = [];
      for (const row of found.items) {
        const resource = resources.get(row.id);
        if (resource && (await policy.decide('vehicles:read', resource)).allow) visible.push(row);
      }
      return { items: visible, next: found.next };
    });
    return { vehicles: items.map(toVehicle), next };
  }

  async get(scope: Scope, id: string, policy?: RequestPolicy): Promise<Vehicle> {
    const row = await scope.run(async (q) => {
      const found = await new VehiclesRepository(q).findById(id);
      if (!found || policy?.ref.kind !== 'user') return found;
      const resource = await vehicleResource(q, id);
      return resource && (await policy.decide('vehicles:read', resource)).allow ? found : undefined;
    });
    if (!row) throw vehicleNotFound(id);
    return toVehicle(row);
  }

  exists(scope: Scope, id: string): Promise<boolean> {
    return scope.run((q) => new VehiclesRepository(q).exists(id));
  }
}
