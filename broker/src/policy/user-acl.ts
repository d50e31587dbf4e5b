import { parseTopic, TOPIC_ROOT } from '@clutch/contracts';
import type { PolicyStore, Resource, SubjectRef } from '@clutch/identity';
import type { Principal } from './principal.js';
import { READ_PERMISSIONS } from './topic-acl.js';
import type { TopicResources } from './topic-resources.js';

type UserPrincipal = Extract<Principal, { kind: 'user' }>;

/**
 * A user's SUBSCRIBE or PUBLISH as the policy decided it. `until`: the allow ends by itself then (a
 * time-bound grant or a share runs out), and the broker ends the session at that instant.
 * `vehicleId`: the vehicle it rests on, so the end of one of its shares ends the session too.
 */
export type UserDecision = { ok: true; until?: number; vehicleId?: string } | { ok: false; reason: string };

/** What deciding for users needs: the policy store (roles, grants) and the topics' vehicles. */
export interface UserAccess {
  store: PolicyStore;
  resources: TopicResources;
}

const SEGMENT = /^[A-Za-z0-9_-]{1,64}$/;
const deny = (reason: string): UserDecision => ({ ok: false, reason });
const refOf = (p: UserPrincipal): SubjectRef => ({ kind: 'user', userId: p.userId, tenantId: p.tenantId });

/**
 * Row-level security's part, which the broker has to play itself: a user reaches the vehicles of
 * their own tenant, and another tenant's only through a share with their tenant (or them). Platform
 * staff are no exception: as on the REST data routes, they do not read customers' vehicles.
 */
const inReach = (p: UserPrincipal, vehicle: Resource): boolean =>
  vehicle.tenantId === p.tenantId || (vehicle.shares ?? []).some((s) => s.granteeTenantId === p.tenantId);

async function onVehicle(
  access: UserAccess,
  principal: UserPrincipal,
  tenantId: string,
  deviceId: string,
  permission: string,
): Promise<UserDecision> {
  const attempt = async (vehicle: Resource | undefined): Promise<UserDecision> => {
    if (!vehicle || !inReach(principal, vehicle)) return deny(`no vehicle ${tenantId}/${deviceId} for this user`);
    const d = await access.store.decide(refOf(principal), permission, vehicle);
    if (!d.allow) return deny(`${permission} not held on ${tenantId}/${deviceId} (${d.reason})`);
    return { ok: true, vehicleId: vehicle.id, ...(d.until !== undefined ? { until: d.until } : {}) };
  };
  const first = await attempt(await access.resources.vehicleOf(tenantId, deviceId));
  // Refused on what may be a stale look: once more on a fresh one (a share made a moment ago).
  return first.ok ? first : attempt(await access.resources.refreshed(tenantId, deviceId));
}

/**
 * May this user subscribe with this filter? `clutch/v1/{tenant}/{device}/{kind}` is decided on the
 * device's vehicle (an owner's own car, a shop's vehicles and those shared with it, for the shared
 * permissions only); `clutch/v1/{tenant}/+/{kind}` on the whole organisation, which only someone
 * holding the permission there unconditionally passes (a fleet manager, not an owner).
 */
export async function userMaySubscribe(
  access: UserAccess,
  principal: UserPrincipal,
  filter: string,
): Promise<UserDecision> {
  if (filter.startsWith('$')) return deny(`${filter} is for admins only`);
  const levels = filter.split('/');
  if (levels.length !== 5 || levels[0] !== 'clutch' || levels[1] !== 'v1')
    return deny(`users subscribe to ${TOPIC_ROOT}/{tenant}/{device|+}/{kind}`);
  const [, , tenantId, deviceId, kind] = levels as [string, string, string, string, string];
  if (!SEGMENT.test(tenantId)) return deny(`bad tenant level in ${filter}`);
  const permission = READ_PERMISSIONS[kind];
  if (!permission) return deny(`users may not subscribe to ${kind} topics`);
  if (deviceId === '+') {
    if (tenantId !== principal.tenantId)
      return deny(`filter ${filter} leaves tenant ${principal.tenantId}; name the shared vehicle's device`);
    const organisation: Resource = { type: 'tenant', id: tenantId, tenantId };
    const d = await access.store.decide(refOf(principal), permission, organisation);
    if (!d.allow) return deny(`${permission} not held on every vehicle of ${tenantId}; name the device (${d.reason})`);
    return { ok: true, ...(d.until !== undefined ? { until: d.until } : {}) };
  }
  if (!SEGMENT.test(deviceId)) return deny(`bad device level in ${filter}`);
  return onVehicle(access, principal, tenantId, deviceId, permission);
}

/** May this user publish here? Only a command to a vehicle they may command (`commands:write` on it). */
export async function userMayPublish(
  access: UserAccess,
  principal: UserPrincipal,
  topic: string,
): Promise<UserDecision> {
  if (topic.startsWith('$')) return deny(`${topic} is reserved for the broker`);
  const address = parseTopic(topic);
  if (!address) return deny(`${topic} is not a Clutch topic`);
  if (address.kind !== 'cmd') return deny(`users publish only commands, not ${address.kind} messages`);
  return onVehicle(access, principal, address.tenant, address.device, 'commands:write');
}
