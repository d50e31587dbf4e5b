import { parseTopic, TOPIC_ROOT } from '@clutch/contracts';
import { decide, EMPTY_SNAPSHOT, type Permission, type Subject } from '@clutch/identity';
import type { Decision } from './policy.js';
import type { Principal } from './principal.js';

const allow: Decision = { ok: true };
const deny = (reason: string): Decision => ({ ok: false, reason });

/** Topic kinds a device may publish; `cmd` is downlink and comes only from the platform. */
const DEVICE_PUBLISHES = new Set(['telemetry', 'dtc', 'location', 'status', 'cmd_result']);

/**
 * The permission each topic kind needs, in the catalogue every door shares
 * (identity/src/rbac/permissions.ts): reading a kind is the REST route's permission for the same
 * data, publishing a downlink command is `commands:write`.
 */
export const READ_PERMISSIONS: Readonly<Record<string, Permission>> = {
  telemetry: 'telemetry:read',
  location: 'location:read',
  status: 'status:read',
  dtc: 'dtc:read',
};

/**
 * The one policy function, for an API key on a topic of a tenant: the key's scopes are permissions
 * of its tenant, and the topic's tenant is the resource's. Signed-in users are judged by the same
 * call with their grants, per vehicle (user-acl.ts).
 */
function keyMay(principal: Extract<Principal, { kind: 'partner' }>, permission: Permission, tenant: string): boolean {
  const subject: Subject = {
    kind: 'api-key',
    tenantId: principal.tenantId,
    keyId: principal.keyId,
    scopes: principal.scopes,
  };
  return decide(EMPTY_SNAPSHOT, subject, permission, { type: 'tenant', id: tenant, tenantId: tenant }).allow;
}

/** May this principal publish on this topic? Pure; the broker calls it for every PUBLISH. */
export function canPublish(principal: Principal, topic: string): Decision {
  // [MQTT-4.7.2-1] $-topics belong to the server.
  if (topic.startsWith('$')) return deny(`${topic} is reserved for the broker`);
  switch (principal.kind) {
    case 'admin':
    case 'anonymous':
      return allow;
    case 'device': {
      const address = parseTopic(topic);
      if (!address) return deny(`${topic} is not a Clutch topic`);
      if (address.tenant !== principal.tenantId || address.device !== principal.deviceId) {
        return deny(`a device may publish only under ${TOPIC_ROOT}/${principal.tenantId}/${principal.deviceId}/`);
      }
      if (!DEVICE_PUBLISHES.has(address.kind)) return deny(`devices do not publish ${address.kind} messages`);
      return allow;
    }
    case 'user':
      return deny('a user is decided per vehicle (user-acl.ts)');
    case 'partner': {
      const address = parseTopic(topic);
      if (!address || address.tenant !== principal.tenantId)
        return deny(`partners publish only inside ${TOPIC_ROOT}/${principal.tenantId}/`);
      if (address.kind === 'cmd' && keyMay(principal, 'commands:write', address.tenant)) return allow;
      return deny(`this API key may not publish ${address.kind} messages`);
    }
  }
}

/** May this principal subscribe with this filter? Wildcards are judged by everything they could match. */
export function canSubscribe(principal: Principal, filter: string): Decision {
  // A shared subscription's filter is judged here without its `$share/{group}/` (policy.ts strips it).
  if (filter.startsWith('$')) return principal.kind === 'admin' ? allow : deny(`${filter} is for admins only`);
  // A leading wildcard would also match $SYS on some brokers and every tenant on ours.
  const levels = filter.split('/');
  switch (principal.kind) {
    case 'admin':
    case 'anonymous':
      return allow;
    case 'device': {
      const own = [TOPIC_ROOT, principal.tenantId, principal.deviceId, 'cmd'].join('/');
      const rest = filter.startsWith(`${own}/`) ? filter.slice(own.length + 1) : null;
      if (rest !== null && (rest === '+' || /^[A-Za-z0-9_-]{1,64}$/.test(rest))) return allow;
      return deny(`a device may subscribe only to ${own}/+`);
    }
    case 'user':
      return deny('a user is decided per vehicle (user-acl.ts)');
    case 'partner': {
      // clutch / v1 / {tenant} / {device or +} / {kind}
      if (levels.length !== 5 || levels[0] !== 'clutch' || levels[1] !== 'v1') {
        return deny(`partners subscribe to ${TOPIC_ROOT}/${principal.tenantId}/{device|+}/{kind}`);
      }
      if (levels[2] !== principal.tenantId) return deny(`filter ${filter} leaves tenant ${principal.tenantId}`);
      const device = levels[3]!;
      if (device !== '+' && !/^[A-Za-z0-9_-]{1,64}$/.test(device)) return deny(`bad device level in ${filter}`);
      const permission = READ_PERMISSIONS[levels[4]!];
      if (!permission) return deny(`partners may not subscribe to ${levels[4]} topics`);
      if (!keyMay(principal, permission, levels[2])) return deny(`this API key lacks the ${permission} scope`);
      return allow;
    }
  }
}
