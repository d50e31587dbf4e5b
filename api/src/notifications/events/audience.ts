import type { Queryable } from '@clutch/db';
import { loadVehicleResources, type PolicyStore, type Resource } from '@clutch/identity';

/**
 * Who hears of an event. Everything here reads as the platform (the job's system transaction) and
 * asks the policy function, as the API would for each person, whether they may see what the
 * notification is about: a notification never tells someone what they could not read.
 */

/** A person to notify: active users only. */
export interface Recipient {
  userId: string;
  tenantId: string;
  locale: string;
  displayName: string;
}

/** Active users among `ids`, in no particular order. */
export async function loadRecipients(q: Queryable, ids: readonly string[]): Promise<Recipient[]> {
  const unique = [...new Set(ids)];
  if (unique.length === 0) return [];
  const { rows } = await q.query<{ id: string; tenant_id: string; locale: string; display_name: string }>(
    `SELECT id::text, tenant_id, locale, display_name FROM users WHERE id = ANY($1::uuid[]) AND status = 'active'`,
    [unique],
  );
  return rows.map((r) => ({ userId: r.id, tenantId: r.tenant_id, locale: r.locale, displayName: r.display_name }));
}

async function allowed(policy: PolicyStore, who: Recipient, permission: string, resource: Resource): Promise<boolean> {
  const decision = await policy.decide(
    { kind: 'user', userId: who.userId, tenantId: who.tenantId },
    permission,
    resource,
  );
  return decision.allow;
}

export interface VehicleFacts {
  id: string;
  tenantId: string;
  name: string;
}

export async function loadVehicle(
  q: Queryable,
  vehicleId: string | null | undefined,
): Promise<VehicleFacts | undefined> {
  if (!vehicleId) return undefined;
  const { rows } = await q.query<{ id: string; tenant_id: string; name: string }>(
    'SELECT id::text, tenant_id, name FROM vehicles WHERE id = $1',
    [vehicleId],
  );
  const row = rows[0];
  return row ? { id: row.id, tenantId: row.tenant_id, name: row.name } : undefined;
}

/**
 * The people who look after a vehicle, for its health alerts (`read` = telemetry:read) and trouble
 * codes (`dtc:read`): its owner (consumer vehicles: `vehicles.owner_user_id`), the organisation's
 * people who run its vehicles (fleet vehicles: users of the vehicle's partner tenant allowed both
 * `read` and `vehicle-shares:write` on it, i.e. fleet managers and partner administrators, not every
 * technician), and anyone the vehicle is shared with in person (a share naming the user, in force,
 * covering `read`). Shares to a whole shop (a booking's time-boxed share) notify nobody: the shop
 * sees the car live on the repair order.
 */
export async function vehicleAudience(
  q: Queryable,
  policy: PolicyStore,
  vehicleId: string,
  read: 'telemetry:read' | 'dtc:read',
): Promise<Recipient[]> {
  const resource = (await loadVehicleResources(q, [vehicleId])).get(vehicleId);
  if (!resource) return [];
  const { rows } = await q.query<{ user_id: string; personal: boolean }>(
    `SELECT v.owner_user_id::text AS user_id, false AS personal FROM vehicles v
      WHERE v.id = $1 AND v.owner_user_id IS NOT NULL
     UNION ALL
     SELECT u.id::text, false FROM vehicles v JOIN tenants t ON t.id = v.tenant_id AND t.kind = 'partner'
       JOIN users u ON u.tenant_id = v.tenant_id AND u.status = 'active'
      WHERE v.id = $1
     UNION ALL
     SELECT s.grantee_user_id::text, true FROM vehicle_shares s
      WHERE s.vehicle_id = $1 AND s.grantee_user_id IS NOT NULL AND s.revoked_at IS NULL
        AND s.valid_from <= now() AND s.valid_until > now()`,
    [vehicleId],
  );
  const personal = new Set(rows.filter((r) => r.personal).map((r) => r.user_id));
  const audience: Recipient[] = [];
  for (const who of await loadRecipients(
    q,
    rows.map((r) => r.user_id),
  )) {
    if (!(await allowed(policy, who, read, resource))) continue;
    if (personal.has(who.userId) || (await allowed(policy, who, 'vehicle-shares:write', resource))) audience.push(who);
  }
  return audience;
}

/** A booking-family record as the shop's side sees it (api/src/bookings/access.ts, `partyResources`). */
export interface ShopRecord {
  type: 'booking' | 'repair-order' | 'estimate';
  id: string;
  /** The shop's tenant. */
  tenantId: string;
  partnerId: string;
  customerUserId: string | null;
}

/**
 * The shop's staff who act on the record next: active users of the shop's organisation whom the
 * policy allows `permission` on the shop's view of it (a technician bound to another shop of the
 * organisation is not told of this one's bookings).
 */
export async function shopStaff(
  q: Queryable,
  policy: PolicyStore,
  record: ShopRecord,
  permission: string,
): Promise<Recipient[]> {
  const { rows } = await q.query<{ id: string }>(
    `SELECT id::text FROM users WHERE tenant_id = $1 AND status = 'active'`,
    [record.tenantId],
  );
  const resource: Resource = {
    type: record.type,
    id: record.id,
    tenantId: record.tenantId,
    shopId: record.partnerId,
    ownerUserId: record.customerUserId,
  };
  const staff: Recipient[] = [];
  for (const who of await loadRecipients(
    q,
    rows.map((r) => r.id),
  ))
    if (await allowed(policy, who, permission, resource)) staff.push(who);
  return staff;
}

/**
 * The customer of a booking-family record: the customer user it names. A fleet's booking made
 * without a user is the fleet managers' (users of the customer tenant allowed `bookings:read` on
 * the customer's view of it).
 */
export async function customerOf(
  q: Queryable,
  policy: PolicyStore,
  record: Omit<ShopRecord, 'tenantId'> & { customerTenantId: string },
): Promise<Recipient[]> {
  if (record.customerUserId) return loadRecipients(q, [record.customerUserId]);
  const { rows } = await q.query<{ id: string }>(
    `SELECT u.id::text FROM users u JOIN tenants t ON t.id = u.tenant_id AND t.kind = 'partner'
      WHERE u.tenant_id = $1 AND u.status = 'active'`,
    [record.customerTenantId],
  );
  const resource: Resource = {
    type: record.type,
    id: record.id,
    tenantId: record.customerTenantId,
    shopId: record.partnerId,
    ownerUserId: null,
  };
  const out: Recipient[] = [];
  for (const who of await loadRecipients(
    q,
    rows.map((r) => r.id),
  ))
    if (await allowed(policy, who, 'bookings:read', resource)) out.push(who);
  return out;
}
