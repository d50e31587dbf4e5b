import { PLATFORM_TENANT, type Resource } from '@clutch/identity';
import type { Principal } from '../auth/principal.js';
import type { RequestPolicy } from '../auth/policy.js';
import type { ParticipantRole, RoomRow } from './repository.js';

/**
 * How the policy function sees a chat room (`chat-room`, of the booking family): like a booking
 * (api/src/bookings/access.ts), one view per side. The room's own tenant (the shop's, the
 * platform's for support, the group's) decides on `tenantId: <room tenant>` with the booking's shop
 * as `shopId`; the customer's side on `tenantId: <customer tenant>`, where an owner's
 * `{ownership: 'booking'}` grant matches `ownerUserId`. Platform staff and administrators decide on
 * the room's tenant view.
 */
export function roomResources(principal: Principal, room: RoomRow): Resource[] {
  const base = { type: 'chat-room', id: room.id, shopId: room.partnerId, ownerUserId: room.customerUserId };
  if (principal.kind === 'admin') return [{ ...base, tenantId: room.tenantId }];
  const tenant = principal.tenantId;
  if (tenant === room.tenantId || tenant === PLATFORM_TENANT) return [{ ...base, tenantId: room.tenantId }];
  if (tenant === room.customerTenantId) return [{ ...base, tenantId: tenant }];
  return [];
}

export async function allowedOnRoom(
  policy: RequestPolicy,
  principal: Principal,
  permission: 'chat:read' | 'chat:write',
  room: RoomRow,
): Promise<boolean> {
  for (const resource of roomResources(principal, room))
    if ((await policy.decide(permission, resource)).allow) return true;
  return false;
}

/**
 * The role a user who is not a participant yet takes when they join (on their first read or post),
 * or undefined when they may not join at all: a booking room takes the shop's staff and the
 * customer's side (the policy decides whom), a support room the platform's support staff; a group
 * is closed (its creator chose its members).
 */
export function joinRole(principal: Principal, room: RoomRow): ParticipantRole | undefined {
  if (principal.kind !== 'user') return undefined;
  if (room.kind === 'booking') {
    if (principal.tenantId === room.tenantId) return 'shop';
    if (principal.tenantId === room.customerTenantId) return 'customer';
    return undefined;
  }
  if (room.kind === 'support' && principal.tenantId === PLATFORM_TENANT) return 'support';
  return undefined;
}
