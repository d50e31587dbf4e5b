import type { Queryable } from '@clutch/db';
import { loadVehicleResources, type Resource } from '@clutch/identity';
import { vehicleNotFound } from '../shared/vehicle-guard.js';

/**
 * Vehicles as the policy function sees them (`Resource`): tenant, owner, a few attributes
 * conditions may name (make, model, modelYear) and the shares in force that this transaction may
 * see (row-level security shows an owner the shares of their vehicles, a shop those made to it).
 * One query for any number of vehicles; ids this transaction cannot see are simply absent.
 */
export const vehicleResources = (q: Queryable, ids: readonly string[]): Promise<Map<string, Resource>> =>
  loadVehicleResources(q, ids);

/** One vehicle as a Resource, or undefined when this transaction cannot see it. */
export async function vehicleResource(q: Queryable, id: string): Promise<Resource | undefined> {
  return (await vehicleResources(q, [id])).get(id);
}

/** The permissions a vehicle's data routes serve; each names the share that opens that data (migration 029). */
export type VehicleDataPermission = 'telemetry:read' | 'dtc:read' | 'location:read' | 'status:read' | 'commands:write';

/** The vehicle a data read or command may go ahead on: whose it is (its tenant keeps its data and devices). */
export interface VehicleDataTarget {
  tenantId: string;
  /** True when the vehicle is another tenant's, reached through a share with this transaction's tenant or user. */
  shared: boolean;
}

/**
 * Whether this transaction may work with the vehicle's data under `permission`: the vehicle is
 * visible (row-level security: its tenant, or a share in force), and it is either of the
 * transaction's own tenant, or shared right now for that very permission, or the transaction is
 * unconfined (administrators, system work). A vehicle shared for other permissions only answers
 * undefined, like a missing one, rather than an empty series: the data tables' own `shared_access`
 * policies would hide its rows anyway. The route (or the service) has asked the policy function
 * about the caller's roles already; this is the per-vehicle half, read in the same transaction as
 * the data, so a share that ended a moment ago is already gone.
 */
export async function vehicleDataTarget(
  q: Queryable,
  id: string,
  permission: VehicleDataPermission,
): Promise<VehicleDataTarget | undefined> {
  const { rows } = await q.query<{ tenant_id: string; own: boolean; shared: boolean }>(
    // The share look-up only for another tenant's vehicle (CASE, unlike OR, is evaluated in order):
    // the tenant's own reads, the hot path, cost what the plain existence check cost.
    `SELECT tenant_id, own, CASE WHEN own THEN false ELSE id = ANY (rbac_vehicles_shared_for($2)) END AS shared
       FROM (SELECT v.id, v.tenant_id,
                    v.tenant_id = current_setting('app.tenant_id', true)
                      OR coalesce(current_setting('app.tenant_id', true), '') = '' AS own
               FROM vehicles v
              WHERE v.id = $1) v`,
    [id, permission],
  );
  const row = rows[0];
  if (!row || !(row.own || row.shared)) return undefined;
  return { tenantId: row.tenant_id, shared: !row.own };
}

/** vehicleDataTarget, or VEHICLE_NOT_FOUND: every route below a vehicle's data starts with it. */
export async function requireVehicleData(
  q: Queryable,
  id: string,
  permission: VehicleDataPermission,
): Promise<VehicleDataTarget> {
  const target = await vehicleDataTarget(q, id, permission);
  if (!target) throw vehicleNotFound(id);
  return target;
}
