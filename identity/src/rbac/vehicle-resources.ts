import type { Queryable } from '@clutch/db';
import type { Resource, ResourceShare } from './policy.js';

interface ResourceRow {
  id: string;
  tenant_id: string;
  owner_user_id: string | null;
  make: string | null;
  model: string | null;
  model_year: number | null;
  shares: ShareJson[] | string | null;
}

interface ShareJson {
  granteeTenantId: string;
  granteeUserId: string | null;
  permissions: string[];
  validFrom: string;
  validUntil: string;
}

/** A vehicle with its shares in force (those the transaction may see), as one row per vehicle. */
const SELECT = `SELECT v.id::text AS id, v.tenant_id, v.owner_user_id::text AS owner_user_id, v.make, v.model, v.model_year,
            (SELECT jsonb_agg(jsonb_build_object(
                      'granteeTenantId', s.grantee_tenant_id, 'granteeUserId', s.grantee_user_id,
                      'permissions', s.permissions, 'validFrom', s.valid_from, 'validUntil', s.valid_until))
               FROM vehicle_shares s
              WHERE s.vehicle_id = v.id AND s.revoked_at IS NULL AND s.valid_until > now()) AS shares`;

function toResource(row: ResourceRow): Resource {
  const shares = (typeof row.shares === 'string' ? (JSON.parse(row.shares) as ShareJson[]) : row.shares) ?? [];
  return {
    type: 'vehicle',
    id: row.id,
    tenantId: row.tenant_id,
    ownerUserId: row.owner_user_id,
    attributes: { make: row.make, model: row.model, modelYear: row.model_year },
    shares: shares.map((s): ResourceShare => ({
      granteeTenantId: s.granteeTenantId,
      granteeUserId: s.granteeUserId,
      permissions: s.permissions,
      validFrom: Date.parse(s.validFrom),
      validUntil: Date.parse(s.validUntil),
    })),
  };
}

/**
 * Vehicles as the policy function sees them (`Resource`): tenant, owner, the attributes conditions
 * may name (make, model, modelYear) and the shares in force that this transaction may see (under
 * row-level security an owner sees the shares of their vehicles, a shop those made to it; the
 * platform sees all). One query for any number of vehicles; ids it cannot see are absent.
 */
export async function loadVehicleResources(q: Queryable, ids: readonly string[]): Promise<Map<string, Resource>> {
  if (ids.length === 0) return new Map();
  const { rows } = await q.query<ResourceRow>(`${SELECT} FROM vehicles v WHERE v.id = ANY ($1::uuid[])`, [ids]);
  return new Map(rows.map((r) => [r.id, toResource(r)]));
}

/** The vehicle of a tenant's device (an MQTT topic names the device), or undefined when there is none. */
export async function loadDeviceVehicleResource(
  q: Queryable,
  tenantId: string,
  deviceId: string,
): Promise<Resource | undefined> {
  const { rows } = await q.query<ResourceRow>(
    `${SELECT} FROM devices d JOIN vehicles v ON v.id = d.vehicle_id WHERE d.tenant_id = $1 AND d.id = $2`,
    [tenantId, deviceId],
  );
  return rows[0] ? toResource(rows[0]) : undefined;
}
