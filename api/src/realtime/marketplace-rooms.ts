import type { MarketplaceEvent } from '@clutch/contracts';
import type { Database } from '@clutch/db';
import {
  CONSUMER_TENANT,
  decide,
  PLATFORM_TENANT,
  type PolicySnapshot,
  type PolicyStore,
  type Resource,
  type Subject,
} from '@clutch/identity';
import type { Principal } from '../auth/principal.js';
import { Scope, type AuditLog } from '../auth/scope.js';
import { partyResources, type PartyRecord } from '../bookings/access.js';
import type { SocketPrincipal } from './auth.js';
import { MARKETPLACE_EVENT_SCOPES, type MarketplacePermission } from './event-scopes.js';

/**
 * Rooms of the marketplace's live events, per permission (so a socket that may see bookings but
 * not repair orders gets only `booking_update`), like the vehicles' per-scope rooms:
 * - the shop's: one location (`partners.id`) of the shop's tenant;
 * - the customer tenant's: every booking the organisation made (a fleet);
 * - the customer user's: the bookings one person made (a car owner, or a fleet user who may see
 *   only their own);
 * - the platform's: every booking (platform staff and administrators).
 */
export const shopRoom = (tenantId: string, partnerId: string, permission: MarketplacePermission): string =>
  `shop:${tenantId}:${partnerId}:${permission}`;
export const customerTenantRoom = (tenantId: string, permission: MarketplacePermission): string =>
  `customer:${tenantId}:${permission}`;
export const customerUserRoom = (tenantId: string, userId: string, permission: MarketplacePermission): string =>
  `customer:${tenantId}:user:${userId}:${permission}`;
export const allBookingsRoom = (permission: MarketplacePermission): string => `marketplace:${permission}`;

/** Every room an event goes to: the shop's, the customer's (tenant and user) and the platform's. */
export function roomsOfMarketplaceEvent(event: MarketplaceEvent): string[] {
  const permission = MARKETPLACE_EVENT_SCOPES[event.type];
  return [
    // The outbox row's tenant is the shop's (row-level security wrote it): a payload naming another
    // tenant's shop cannot reach that shop's room.
    // A wallet top-up has no shop.
    ...(event.partnerId !== null ? [shopRoom(event.tenantId, event.partnerId, permission)] : []),
    customerTenantRoom(event.customerTenantId, permission),
    ...(event.customerUserId ? [customerUserRoom(event.customerTenantId, event.customerUserId, permission)] : []),
    allBookingsRoom(permission),
  ];
}

/** The rooms a socket joins and, when one of the decisions ends by itself (a time-bound grant), when. */
export interface MarketplaceRooms {
  rooms: string[];
  until?: number | undefined;
}

/**
 * Decides which marketplace rooms a socket joins, once, at the handshake (a change of the user's
 * grants or of a role ends the socket, and the reconnect decides again).
 */
export type MarketplaceRoomAuthorizer = (principal: SocketPrincipal) => Promise<MarketplaceRooms>;

/** Stand-in ids: the decisions are about a shop or a customer side, not one record. */
const ANY_RECORD = '00000000-0000-0000-0000-000000000000';
/** The other party of a stand-in record: no tenant, shop or grant has this id. */
const ELSEWHERE = 'elsewhere';

const RECORD_TYPE: Record<MarketplacePermission, PartyRecord['type']> = {
  'bookings:read': 'booking',
  'repair-orders:read': 'repair-order',
  // A payment is of the booking family (identity/src/rbac/policy.ts): the booking stand-in decides alike.
  'payments:read': 'booking',
};

/**
 * The policy function's answers, asked on the views of a stand-in booking or repair order that the
 * REST routes decide on (`partyResources`, api/src/bookings/access.ts), so a room and a route agree:
 * - platform staff: the permission without a resource (a role that reads every tenant's bookings);
 * - the customer tenant's room: a record the caller's tenant booked elsewhere, no owner named, i.e.
 *   the caller may see every booking the organisation made. Never for the consumer tenant, where
 *   every car owner lives (row-level security confines owners the same way);
 * - the customer user's room: the same record with the caller as its customer user (an owner's
 *   `ownership: booking`);
 * - each shop's room: a record at that location of the caller's tenant (a grant bound to the shop,
 *   or organisation-wide staff).
 */
export function decideMarketplaceRooms(
  snapshot: PolicySnapshot,
  subject: Subject,
  who: Extract<Principal, { kind: 'user' }>,
  shops: readonly string[],
  now: number,
): MarketplaceRooms {
  const rooms: string[] = [];
  let until: number | undefined;
  const allowedOnAny = (permission: string, views: readonly (Resource | undefined)[]): boolean => {
    for (const view of views) {
      const d = decide(snapshot, subject, permission, view, now);
      if (!d.allow) continue;
      if (d.until !== undefined) until = until === undefined ? d.until : Math.min(until, d.until);
      return true;
    }
    return false;
  };
  const record = (type: PartyRecord['type'], fields: Partial<PartyRecord>): PartyRecord => ({
    type,
    id: ANY_RECORD,
    bookingId: ANY_RECORD,
    tenantId: ELSEWHERE,
    partnerId: ANY_RECORD,
    customerTenantId: ELSEWHERE,
    customerUserId: null,
    ...fields,
  });
  const tenantId = who.tenantId;
  for (const permission of Object.values(MARKETPLACE_EVENT_SCOPES)) {
    const type = RECORD_TYPE[permission];
    if (tenantId === PLATFORM_TENANT) {
      if (allowedOnAny(permission, [undefined])) rooms.push(allBookingsRoom(permission));
      continue;
    }
    const customer = (userId: string | null): Resource[] =>
      partyResources(who, record(type, { customerTenantId: tenantId, customerUserId: userId }));
    if (tenantId !== CONSUMER_TENANT && allowedOnAny(permission, customer(null)))
      rooms.push(customerTenantRoom(tenantId, permission));
    else if (allowedOnAny(permission, customer(who.userId)))
      rooms.push(customerUserRoom(tenantId, who.userId, permission));
    for (const shop of shops)
      if (allowedOnAny(permission, partyResources(who, record(type, { tenantId, partnerId: shop }))))
        rooms.push(shopRoom(tenantId, shop, permission));
  }
  return { rooms, until };
}

/**
 * The authorizer the API attaches: the caller's grants and the compiled roles from the policy
 * store, and the shops of the caller's tenant read under its own row-level security. Users only;
 * API keys (vehicle scopes) and administrators join the platform's rooms only when they are
 * administrators (no tenant).
 */
export function marketplaceRoomAuthorizer(
  db: Database,
  audit: AuditLog,
  policy: PolicyStore,
): MarketplaceRoomAuthorizer {
  return async (who) => {
    if (who.tenantId === undefined)
      return { rooms: Object.values(MARKETPLACE_EVENT_SCOPES).map((permission) => allBookingsRoom(permission)) };
    if (who.userId === undefined) return { rooms: [] };
    const tenantId = who.tenantId;
    const [snapshot, subject, shops] = await Promise.all([
      policy.snapshot(),
      policy.subject({ kind: 'user', userId: who.userId, tenantId }),
      tenantId === CONSUMER_TENANT || tenantId === PLATFORM_TENANT
        ? Promise.resolve([])
        : Scope.tenant(db, tenantId, audit).run(async (q) => {
            const { rows } = await q.query<{ id: string }>(
              'SELECT id::text AS id FROM partners WHERE tenant_id = $1 ORDER BY id',
              [tenantId],
            );
            return rows.map((r) => r.id);
          }),
    ]);
    const principal: Principal = {
      kind: 'user',
      userId: who.userId,
      tenantId,
      sessionId: who.sessionId ?? '',
      mfaAt: null,
      expiresAt: new Date(0),
    };
    return decideMarketplaceRooms(snapshot, subject, principal, shops, policy.now());
  };
}
