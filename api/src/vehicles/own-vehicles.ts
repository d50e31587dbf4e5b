import type { Queryable } from '@clutch/db';
import type { Scope } from '../auth/scope.js';
import { requireVehicleData, type VehicleDataPermission, type VehicleDataTarget } from './access.js';

/**
 * Which vehicles a partner's tenant was found to own, per process, so that a request below one of
 * them does not spend a statement (on `/latest` with cached values: a whole transaction) on the
 * vehicle check every time.
 *
 * Only what cannot change under the caller is kept: a vehicle of the API key's own tenant
 * (`Scope.keyTenant`). Row-level security shows a partner its tenant's vehicles whatever else holds,
 * and the API never moves a vehicle to another tenant nor deletes one, so such an answer stays
 * right; the TTL bounds what work outside the API (a vehicle deleted in the database) could leave
 * behind. Everything that can end is never cached: a vehicle shared with the caller (a share ends
 * at any moment), and every signed-in user's view (an owner's follows `owner_user_id`). Those are
 * checked in the request's transaction as before. The key itself is checked before this, on every
 * request (auth/api-key-cache.ts: revoked keys stop at once).
 *
 * A hit answers only the vehicle check; the data statements still run under row-level security in
 * the caller's transaction, so a wrong entry could at most turn a 404 into an empty answer.
 */
export interface OwnVehicles {
  /** The vehicle as the check would find it, when this scope's tenant is known to own it; else undefined. */
  known(scope: Scope, vehicleId: string): VehicleDataTarget | undefined;
  /** requireVehicleData, skipping the statement for a known own vehicle and remembering one found. */
  require(scope: Scope, q: Queryable, vehicleId: string, permission: VehicleDataPermission): Promise<VehicleDataTarget>;
  size(): number;
}

/** `own.require` when the service was given the cache, requireVehicleData otherwise. */
export function requireVehicle(
  own: OwnVehicles | undefined,
  scope: Scope,
  q: Queryable,
  vehicleId: string,
  permission: VehicleDataPermission,
): Promise<VehicleDataTarget> {
  return own ? own.require(scope, q, vehicleId, permission) : requireVehicleData(q, vehicleId, permission);
}

export interface OwnVehiclesOptions {
  /** How long a finding is trusted (default 10 s). */
  ttlMs?: number;
  /** Findings kept at most; the least recently used goes first (default 50,000). */
  maxEntries?: number;
  now?: () => number;
}

export function createOwnVehicles(options: OwnVehiclesOptions = {}): OwnVehicles {
  const ttlMs = options.ttlMs ?? 10_000;
  const maxEntries = options.maxEntries ?? 50_000;
  const now = options.now ?? Date.now;
  /** `${tenant}\n${vehicle}` -> until when (ms) the finding holds. */
  const until = new Map<string, number>();
  const keyOf = (tenantId: string, vehicleId: string): string => `${tenantId}\n${vehicleId}`;

  const known = (scope: Scope, vehicleId: string): VehicleDataTarget | undefined => {
    const tenantId = scope.keyTenant;
    if (tenantId === undefined) return undefined;
    const key = keyOf(tenantId, vehicleId);
    const validUntil = until.get(key);
    if (validUntil === undefined) return undefined;
    if (validUntil <= now()) {
      until.delete(key);
      return undefined;
    }
    // Most recently used last, so the bound drops the coldest first.
    until.delete(key);
    until.set(key, validUntil);
    return { tenantId, shared: false };
  };

  return {
    known,
    async require(scope, q, vehicleId, permission) {
      const hit = known(scope, vehicleId);
      if (hit) return hit;
      const target = await requireVehicleData(q, vehicleId, permission);
      const tenantId = scope.keyTenant;
      if (tenantId !== undefined && !target.shared && target.tenantId === tenantId) {
        until.set(keyOf(tenantId, vehicleId), now() + ttlMs);
        if (until.size > maxEntries) until.delete(until.keys().next().value!);
      }
      return target;
    },
    size: () => until.size,
  };
}
