import type { Queryable } from '@clutch/db';
import {
  decide,
  loadVehicleResources,
  type Grant,
  type PolicyStore,
  type Resource,
  type Subject,
} from '@clutch/identity';

type UserSubject = Extract<Subject, { kind: 'user' }>;

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
  return (await loadVehicleAudiences(q, policy, [vehicleId])).audience(vehicleId, read);
}

/**
 * vehicleAudience for every vehicle of a batch of events, read in four statements whatever the
 * batch's size (the vehicles, their policy resources, the candidates, and the candidates with their
 * grants), then decided in memory with the policy function on the transaction's snapshot: the same
 * people as vehicleAudience, without its queries per event and per person.
 */
export interface VehicleAudiences {
  /** Whether the vehicle was among those read (a vehicle read and not found is covered, and has no audience). */
  covers(vehicleId: string): boolean;
  vehicle(vehicleId: string): VehicleFacts | undefined;
  audience(vehicleId: string, read: 'telemetry:read' | 'dtc:read'): Recipient[];
}

interface CandidateRow {
  user_id: string;
  tenant_id: string;
  locale: string;
  display_name: string;
  status: string;
  tenant_kind: UserSubject['tenantKind'];
  grant_id: string | null;
  role_id: string | null;
  valid_from: Date | string | null;
  valid_until: Date | string | null;
  resource_type: string | null;
  resource_id: string | null;
}

/**
 * Users with their grants not yet ended, as the policy store loads one user's (identity
 * `loadUserGrants`), for many users in one statement: a user who is not active holds nothing.
 */
async function loadSubjects(
  q: Queryable,
  ids: readonly string[],
): Promise<Map<string, { recipient: Recipient; active: boolean; subject: Subject }>> {
  const out = new Map<string, { recipient: Recipient; active: boolean; subject: Subject }>();
  if (ids.length === 0) return out;
  const { rows } = await q.query<CandidateRow>(
    `SELECT u.id::text AS user_id, u.tenant_id, u.locale, u.display_name, u.status, t.kind AS tenant_kind,
            g.id::text AS grant_id, g.role_id::text AS role_id, g.valid_from, g.valid_until, g.resource_type, g.resource_id
       FROM users u
       JOIN tenants t ON t.id = u.tenant_id
       LEFT JOIN role_grants g ON g.user_id = u.id AND g.tenant_id = u.tenant_id
                              AND (g.valid_until IS NULL OR g.valid_until > now())
      WHERE u.id = ANY ($1::uuid[])`,
    [[...new Set(ids)]],
  );
  const grants = new Map<string, Grant[]>();
  for (const r of rows) {
    let list = grants.get(r.user_id);
    if (!list) {
      list = [];
      grants.set(r.user_id, list);
      out.set(r.user_id, {
        recipient: { userId: r.user_id, tenantId: r.tenant_id, locale: r.locale, displayName: r.display_name },
        active: r.status === 'active',
        subject: { kind: 'user', userId: r.user_id, tenantId: r.tenant_id, tenantKind: r.tenant_kind, grants: list },
      });
    }
    if (r.status !== 'active' || r.grant_id === null || r.role_id === null) continue;
    list.push({
      id: r.grant_id,
      roleId: r.role_id,
      validFrom: new Date(r.valid_from!).getTime(),
      validUntil: r.valid_until === null ? null : new Date(r.valid_until).getTime(),
      resource:
        r.resource_type !== null && r.resource_id !== null ? { type: r.resource_type, id: r.resource_id } : null,
    });
  }
  return out;
}

export async function loadVehicleAudiences(
  q: Queryable,
  policy: PolicyStore,
  vehicleIds: readonly string[],
): Promise<VehicleAudiences> {
  const ids = [...new Set(vehicleIds)];
  if (ids.length === 0) return { covers: () => false, vehicle: () => undefined, audience: () => [] };
  const { rows: vehicles } = await q.query<{ id: string; tenant_id: string; name: string }>(
    'SELECT id::text, tenant_id, name FROM vehicles WHERE id = ANY ($1::uuid[])',
    [ids],
  );
  const resources = await loadVehicleResources(q, ids);
  const { rows: candidates } = await q.query<{ vehicle_id: string; user_id: string; personal: boolean }>(
    `SELECT v.id::text AS vehicle_id, v.owner_user_id::text AS user_id, false AS personal FROM vehicles v
      WHERE v.id = ANY ($1::uuid[]) AND v.owner_user_id IS NOT NULL
     UNION ALL
     SELECT v.id::text, u.id::text, false FROM vehicles v JOIN tenants t ON t.id = v.tenant_id AND t.kind = 'partner'
       JOIN users u ON u.tenant_id = v.tenant_id AND u.status = 'active'
      WHERE v.id = ANY ($1::uuid[])
     UNION ALL
     SELECT s.vehicle_id::text, s.grantee_user_id::text, true FROM vehicle_shares s
      WHERE s.vehicle_id = ANY ($1::uuid[]) AND s.grantee_user_id IS NOT NULL AND s.revoked_at IS NULL
        AND s.valid_from <= now() AND s.valid_until > now()`,
    [ids],
  );
  const subjects = await loadSubjects(
    q,
    candidates.map((c) => c.user_id),
  );
  const snapshot = await policy.snapshot();
  const now = policy.now();
  const facts = new Map(vehicles.map((v) => [v.id, { id: v.id, tenantId: v.tenant_id, name: v.name }]));
  const candidatesOf = new Map<string, { userId: string; personal: boolean }[]>();
  for (const c of candidates) {
    const list = candidatesOf.get(c.vehicle_id) ?? [];
    list.push({ userId: c.user_id, personal: c.personal });
    candidatesOf.set(c.vehicle_id, list);
  }
  const covered = new Set(ids);
  return {
    covers: (vehicleId) => covered.has(vehicleId),
    vehicle: (vehicleId) => facts.get(vehicleId),
    audience(vehicleId, read) {
      const resource = resources.get(vehicleId);
      if (!resource) return [];
      const list = candidatesOf.get(vehicleId) ?? [];
      const personal = new Set(list.filter((c) => c.personal).map((c) => c.userId));
      const audience: Recipient[] = [];
      for (const userId of new Set(list.map((c) => c.userId))) {
        const who = subjects.get(userId);
        if (!who?.active) continue;
        const allows = (permission: string): boolean => decide(snapshot, who.subject, permission, resource, now).allow;
        if (!allows(read)) continue;
        if (personal.has(userId) || allows('vehicle-shares:write')) audience.push(who.recipient);
      }
      return audience;
    },
  };
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
