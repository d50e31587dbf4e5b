import type { Queryable } from '@clutch/db';
import type { Resource, ResourceShare } from '@clutch/identity';

/**
 * The vehicle a device topic (`clutch/v1/{tenant}/{device}/...`) is about, as the policy function
 * sees it (the same shape as the API's `vehicleResources`): tenant, owner, a few attributes and the
 * shares in force. Read as the platform: the broker has no row-level security of its own, so every
 * share is there and `decide` picks those that name the caller.
 */
export interface TopicResources {
  /** The device's vehicle; undefined when the tenant has no such device. */
  vehicleOf(tenantId: string, deviceId: string): Promise<Resource | undefined>;
  /**
   * A fresher answer than `vehicleOf`'s when it is older than `refreshAfterMs`: asked after a
   * refusal, so a share made a moment ago counts without every refusal costing a query.
   */
  refreshed(tenantId: string, deviceId: string): Promise<Resource | undefined>;
  /** Forget what is known of a vehicle (one of its shares ended). */
  forgetVehicle(vehicleId: string): void;
  /** Forget everything. */
  clear(): void;
}

interface Row {
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

async function load(db: Queryable, tenantId: string, deviceId: string): Promise<Resource | undefined> {
  const { rows } = await db.query<Row>(
    `SELECT v.id::text AS id, v.tenant_id, v.owner_user_id::text AS owner_user_id, v.make, v.model, v.model_year,
            (SELECT jsonb_agg(jsonb_build_object(
                      'granteeTenantId', s.grantee_tenant_id, 'granteeUserId', s.grantee_user_id,
                      'permissions', s.permissions, 'validFrom', s.valid_from, 'validUntil', s.valid_until))
               FROM vehicle_shares s
              WHERE s.vehicle_id = v.id AND s.revoked_at IS NULL AND s.valid_until > now()) AS shares
       FROM devices d JOIN vehicles v ON v.id = d.vehicle_id
      WHERE d.tenant_id = $1 AND d.id = $2`,
    [tenantId, deviceId],
  );
  const row = rows[0];
  if (!row) return undefined;
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
 * Looked up once per device topic and kept: a SUBSCRIBE or PUBLISH of a user costs no query after
 * the first. Kept at most `maxAgeMs` (default 60 s, like the policy store's snapshot), dropped at
 * once when one of the vehicle's shares ends (the `roles-changed` event names it); a share's own
 * end in time needs no event (`decide` compares it with the clock). Least recently used entries
 * are dropped past `maxEntries`.
 */
export function createTopicResources(
  db: Queryable,
  options: { maxAgeMs?: number; refreshAfterMs?: number; maxEntries?: number } = {},
): TopicResources {
  const maxAgeMs = options.maxAgeMs ?? 60_000;
  const refreshAfterMs = options.refreshAfterMs ?? 5_000;
  const maxEntries = options.maxEntries ?? 50_000;
  /** `vehicleId`: set once the lookup settled (null: no such device). */
  const cache = new Map<string, { at: number; value: Promise<Resource | undefined>; vehicleId?: string | null }>();
  // Bumped by every forget: a lookup that started before it is used once but not kept.
  let epoch = 0;

  const fetch = (key: string, tenantId: string, deviceId: string): Promise<Resource | undefined> => {
    const started = epoch;
    const value = load(db, tenantId, deviceId);
    if (started === epoch) {
      const entry: { at: number; value: Promise<Resource | undefined>; vehicleId?: string | null } = {
        at: Date.now(),
        value,
      };
      cache.delete(key);
      cache.set(key, entry);
      while (cache.size > maxEntries) cache.delete(cache.keys().next().value!);
      value.then(
        (r) => (entry.vehicleId = r?.id ?? null),
        // A failed lookup is not remembered.
        () => {
          if (cache.get(key) === entry) cache.delete(key);
        },
      );
    }
    return value;
  };
  const keyOf = (tenantId: string, deviceId: string): string => `${tenantId}/${deviceId}`;

  return {
    vehicleOf(tenantId, deviceId) {
      const key = keyOf(tenantId, deviceId);
      const hit = cache.get(key);
      if (hit && Date.now() - hit.at < maxAgeMs) {
        cache.delete(key);
        cache.set(key, hit); // most recently used last
        return hit.value;
      }
      return fetch(key, tenantId, deviceId);
    },
    refreshed(tenantId, deviceId) {
      const key = keyOf(tenantId, deviceId);
      const hit = cache.get(key);
      if (hit && Date.now() - hit.at < refreshAfterMs) return hit.value;
      return fetch(key, tenantId, deviceId);
    },
    forgetVehicle(vehicleId) {
      epoch += 1;
      // Settled entries go by their vehicle; pending ones are dropped too (they may be it).
      for (const [key, entry] of cache)
        if (entry.vehicleId === undefined || entry.vehicleId === vehicleId) cache.delete(key);
    },
    clear() {
      epoch += 1;
      cache.clear();
    },
  };
}
