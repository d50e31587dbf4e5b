import type { Resource } from '@clutch/identity';
import type { Principal } from '../auth/principal.js';
import type { RequestPolicy } from '../auth/policy.js';
import type { Scope } from '../auth/scope.js';
import type { RouteRequest } from '../http/route.js';
import type { TransitionSide } from '../repair-orders/lifecycle.js';

/**
 * How the policy function sees a booking or a repair order (two-party records: the shop's tenant
 * keeps them, the customer's side reaches them too). The policy reaches only resources of the
 * caller's own tenant (identity/src/rbac/policy.ts, `reach`), so the record is a `Resource` per side:
 *
 * - the shop's side: `{ type, id, tenantId: <shop tenant>, shopId: <partners.id>, ownerUserId:
 *   <customer user> }`: an unbound `{ ownership: 'shop' }` grant matches the organisation's tenant, a
 *   grant bound to a shop matches its `shopId`;
 * - the customer's side (an owner, a fleet): the same with `tenantId: <customer tenant>`, so it is in
 *   reach; `{ ownership: 'booking' }` matches `ownerUserId` for every type of the booking family
 *   (booking, repair-order, estimate, parts-order, review).
 *
 * M4's Socket.io rooms ask with the same views (`partyResources`), so a room and a route agree.
 */
export interface PartyRecord {
  type: 'booking' | 'repair-order';
  id: string;
  /** The booking's id (for a booking, its own). */
  bookingId: string | null;
  /** The shop's tenant. */
  tenantId: string;
  partnerId: string;
  customerTenantId: string;
  customerUserId: string | null;
}

/** The tenant a principal works in; undefined for administrators. */
export function callerTenant(principal: Principal): string | undefined {
  return principal.kind === 'admin' ? undefined : principal.tenantId;
}

/** Which side of the record the caller is on (the shop's first when a tenant is both). */
export function sideOf(
  principal: Principal,
  record: Pick<PartyRecord, 'tenantId' | 'customerTenantId'>,
): TransitionSide | undefined {
  const tenant = callerTenant(principal);
  if (tenant === undefined || tenant === 'platform') return 'shop';
  if (tenant === record.tenantId) return 'shop';
  if (tenant === record.customerTenantId) return 'customer';
  return undefined;
}

/** The views of the record to decide on for this caller (see above). */
export function partyResources(principal: Principal, record: PartyRecord): Resource[] {
  const side = sideOf(principal, record);
  const base = { type: record.type, id: record.id, shopId: record.partnerId, ownerUserId: record.customerUserId };
  if (side === 'customer') return [{ ...base, tenantId: record.customerTenantId }];
  if (side === 'shop') return [{ ...base, tenantId: record.tenantId }];
  return [];
}

/** True when the policy allows `permission` on one of the caller's views of the record. */
export async function allowedOn(
  policy: RequestPolicy,
  principal: Principal,
  permission: string,
  record: PartyRecord,
): Promise<boolean> {
  for (const resource of partyResources(principal, record))
    if ((await policy.decide(permission, resource)).allow) return true;
  return false;
}

/** The shop itself, for shop-side routes (resources, rules). */
export function shopResources(shop: { id: string; tenantId: string }): Resource[] {
  return [{ type: 'shop', id: shop.id, tenantId: shop.tenantId, shopId: shop.id }];
}

export async function allowedOnShop(
  policy: RequestPolicy,
  permission: string,
  shop: { id: string; tenantId: string },
): Promise<boolean> {
  for (const resource of shopResources(shop)) if ((await policy.decide(permission, resource)).allow) return true;
  return false;
}

/**
 * Where a marketplace request's SQL runs. A shop's staff and a customer run in their own tenant,
 * whose row-level security shows them their side of each booking. Platform staff (users of the
 * platform tenant: support, platform administrators) reach every organisation's bookings, repair
 * orders, estimates and parts orders through an audited system scope: the policy has decided what
 * they may do (support reads; administrators also act, as the shop), and each use writes one
 * `audit_log` row naming the request. The admin token is unconfined already.
 */
export function marketplaceScope(
  r: Pick<RouteRequest<unknown, unknown, unknown>, 'principal' | 'scope' | 'administer' | 'ctx'>,
): Scope {
  if (r.principal.kind !== 'user' || r.principal.tenantId !== 'platform') return r.scope;
  return r.administer({
    action: `marketplace.${r.ctx.method.toLowerCase()}`,
    target: r.ctx.path,
  });
}
