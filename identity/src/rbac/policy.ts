import { conditionKey, type Condition } from './conditions.js';
import { API_KEY_IMPLIED_PERMISSIONS, isPermission } from './permissions.js';

/** The tenant platform staff belong to (migration 020): its roles are the platform's. */
export const PLATFORM_TENANT = 'platform';
/** The tenant every car owner belongs to (migration 020). */
export const CONSUMER_TENANT = 'consumers';

export type TenantKind = 'consumer' | 'partner' | 'platform';
export const TENANT_KINDS: readonly TenantKind[] = ['consumer', 'partner', 'platform'];

/** A role as stored: its own permissions and the roles it inherits from (by id). */
export interface RoleDefinition {
  id: string;
  /** The tenant that owns it; `platform` for platform roles. */
  tenantId: string;
  key: string;
  name: string;
  description: string;
  builtIn: boolean;
  /**
   * Platform roles only: the kinds of tenant whose users may be granted it (a template every
   * partner can use, like `technician`); null for a role usable only inside its own tenant.
   */
  grantableIn: readonly TenantKind[] | null;
  parents: readonly string[];
  permissions: readonly { permission: string; condition: Condition | null }[];
}

/** One way a role holds a permission: always (condition null) or under a condition. */
export interface Rule {
  condition: Condition | null;
  /** The role the rule is written on (itself or an ancestor), for explanations. */
  from: string;
}

export interface CompiledRole extends Omit<RoleDefinition, 'permissions'> {
  /** Own and inherited permissions, flattened once when the snapshot is compiled. */
  rules: ReadonlyMap<string, readonly Rule[]>;
}

/** Every role of every tenant, inheritance flattened: what `decide` reads, never changed in place. */
export interface PolicySnapshot {
  roles: ReadonlyMap<string, CompiledRole>;
  /** Epoch ms the rows were read. */
  loadedAt: number;
}

/** A role given to a user, maybe for a time and maybe for one resource only. */
export interface Grant {
  id: string;
  roleId: string;
  /** Epoch ms. */
  validFrom: number;
  /** Epoch ms (exclusive); null: until taken away. */
  validUntil: number | null;
  /** Bound to one resource ("technician of shop X"): applies only to that resource and what belongs to it. */
  resource: ResourceRef | null;
}

export interface ResourceRef {
  type: string;
  id: string;
}

/** Who asks. Users carry their grants (the store loads them); keys carry their scopes. */
export type Subject =
  | { kind: 'admin' }
  | { kind: 'api-key'; tenantId: string; keyId: string; scopes: readonly string[] }
  | { kind: 'user'; userId: string; tenantId: string; tenantKind: TenantKind; grants: readonly Grant[] };

/** A vehicle share as the policy sees it (db table vehicle_shares). */
export interface ResourceShare {
  granteeTenantId: string;
  /** A share with one person; null: with the grantee tenant's staff (as their roles allow). */
  granteeUserId: string | null;
  permissions: readonly string[];
  validFrom: number;
  validUntil: number;
}

/** What a decision is about. Build it from the row the service already read. */
export interface Resource {
  type: string;
  id: string;
  /** The tenant that owns it. */
  tenantId: string;
  ownerUserId?: string | null | undefined;
  shopId?: string | null | undefined;
  attributes?: Readonly<Record<string, string | number | boolean | null | undefined>> | undefined;
  /** Shares of it (vehicles): valid ones open it to another tenant or person. */
  shares?: readonly ResourceShare[] | undefined;
}

export interface Decision {
  allow: boolean;
  /** Why, in words, for logs, problem details and tests. */
  reason: string;
  /**
   * Asked without a resource: the subject holds the permission only under a condition or for a
   * bound resource, so it may be allowed for some resources. Routes let such callers in and the
   * service decides per resource.
   */
  conditional?: boolean;
  /** An allow that ends by itself (a time-bound grant or share): epoch ms it stops. */
  until?: number;
}

const allowed = (reason: string, until?: number): Decision =>
  until === undefined ? { allow: true, reason } : { allow: true, reason, until };
const denied = (reason: string): Decision => ({ allow: false, reason });

/**
 * Flattens inheritance once: each role's rules are its own plus those of every role it reaches
 * through its parents. A cycle (which the write path refuses, so only corrupt data has one) does
 * not loop: every role on it simply holds the union of the cycle's rules.
 */
export function compileSnapshot(roles: readonly RoleDefinition[], loadedAt: number = Date.now()): PolicySnapshot {
  const byId = new Map(roles.map((r) => [r.id, r]));
  const keyOf = new Map<Condition, string>();
  const conditionId = (c: Condition): string => {
    let key = keyOf.get(c);
    if (key === undefined) keyOf.set(c, (key = conditionKey(c)));
    return key;
  };

  const add = (into: Map<string, Rule[]>, permission: string, rule: Rule): void => {
    const list = into.get(permission);
    if (!list) return void into.set(permission, [rule]);
    // An unconditional rule makes every other rule for the permission redundant.
    if (list[0]!.condition === null) return;
    if (rule.condition === null) return void into.set(permission, [rule]);
    const key = conditionId(rule.condition);
    if (!list.some((r) => conditionId(r.condition!) === key)) list.push(rule);
  };

  const compiled = new Map<string, CompiledRole>();
  for (const role of roles) {
    const rules = new Map<string, Rule[]>();
    const seen = new Set<string>();
    const stack = [role.id];
    while (stack.length > 0) {
      const id = stack.pop()!;
      const r = byId.get(id);
      if (!r || seen.has(id)) continue;
      seen.add(id);
      for (const p of r.permissions) add(rules, p.permission, { condition: p.condition, from: id });
      for (const parent of r.parents) stack.push(parent);
    }
    const { permissions: _own, ...rest } = role;
    compiled.set(role.id, { ...rest, rules });
  }
  return { roles: compiled, loadedAt };
}

export const EMPTY_SNAPSHOT: PolicySnapshot = { roles: new Map(), loadedAt: 0 };

/** Is the grant in force at `now`? Its end is exclusive: at validUntil it has stopped. */
export const grantActive = (grant: Pick<Grant, 'validFrom' | 'validUntil'>, now: number): boolean =>
  grant.validFrom <= now && (grant.validUntil === null || now < grant.validUntil);

/** May this role be used by a user of this tenant? Its own tenant's, or a platform template for its kind. */
export function roleApplies(role: CompiledRole, tenantId: string, tenantKind: TenantKind): boolean {
  if (role.tenantId === tenantId) return true;
  return role.tenantId === PLATFORM_TENANT && role.grantableIn !== null && role.grantableIn.includes(tenantKind);
}

/** The grant's bound resource is this resource, or this resource belongs to it. */
export function bindingMatches(binding: ResourceRef, resource: Resource): boolean {
  if (resource.type === binding.type && resource.id === binding.id) return true;
  if (binding.type === 'tenant') return resource.tenantId === binding.id;
  if (binding.type === 'shop') return (resource.shopId ?? null) === binding.id;
  return resource.attributes?.[`${binding.type}Id`] === binding.id;
}

const shareActive = (share: ResourceShare, now: number): boolean => share.validFrom <= now && now < share.validUntil;

/**
 * What a booking's customer owns through it (`{ ownership: 'booking' }`): the booking and the records
 * that hang off it (its repair order, estimates, parts orders, review, payments and installment
 * plans), and the customer's own wallet, which pays for them. Each carries the customer as
 * `ownerUserId`.
 */
export const BOOKING_FAMILY: ReadonlySet<string> = new Set([
  'booking',
  'repair-order',
  'estimate',
  'parts-order',
  'review',
  'payment',
  'installment-plan',
  'wallet',
  // A chat room of a booking (api/src/chat): its customer is the booking's.
  'chat-room',
]);

interface EvaluationContext {
  subject: Extract<Subject, { kind: 'user' }>;
  resource: Resource;
  grant: Grant;
  permission: string;
  now: number;
}

type Value = string | number | boolean | null | undefined;

function valueAt(path: string, ctx: EvaluationContext): Value {
  const dot = path.indexOf('.');
  const head = path.slice(0, dot);
  const field = path.slice(dot + 1);
  if (head === 'subject') {
    if (field === 'userId') return ctx.subject.userId;
    if (field === 'tenantId') return ctx.subject.tenantId;
    if (field === 'tenantKind') return ctx.subject.tenantKind;
    return undefined;
  }
  const r = ctx.resource;
  if (head !== 'resource' && head !== r.type) return undefined;
  switch (field) {
    case 'id':
      return r.id;
    case 'type':
      return r.type;
    case 'tenantId':
      return r.tenantId;
    case 'ownerUserId':
      return r.ownerUserId;
    case 'shopId':
      return r.shopId;
    default:
      return r.attributes && Object.hasOwn(r.attributes, field) ? r.attributes[field] : undefined;
  }
}

const present = (v: Value): v is string | number | boolean => v !== null && v !== undefined;

/** Evaluates a condition for one grant on one resource; pure. */
export function evaluateCondition(condition: Condition, ctx: EvaluationContext): boolean {
  if ('ownership' in condition) {
    const { subject, resource } = ctx;
    switch (condition.ownership) {
      case 'vehicle':
        if (resource.type !== 'vehicle') return false;
        if (present(resource.ownerUserId) && resource.ownerUserId === subject.userId) return true;
        return (resource.shares ?? []).some(
          (s) =>
            s.granteeUserId === subject.userId &&
            s.granteeTenantId === subject.tenantId &&
            s.permissions.includes(ctx.permission) &&
            shareActive(s, ctx.now),
        );
      case 'booking':
        return (
          BOOKING_FAMILY.has(resource.type) && present(resource.ownerUserId) && resource.ownerUserId === subject.userId
        );
      case 'shop': {
        // Bound to one shop (a location of the organisation): that shop's resources only.
        if (ctx.grant.resource?.type === 'shop') {
          const shop = resource.shopId ?? (resource.type === 'shop' ? resource.id : null);
          return shop === ctx.grant.resource.id;
        }
        // Unbound: any shop of the user's own organisation (the resource's tenant is the shop's).
        return resource.tenantId === subject.tenantId;
      }
    }
  }
  if ('all' in condition) return condition.all.every((c) => evaluateCondition(c, ctx));
  if ('any' in condition) return condition.any.some((c) => evaluateCondition(c, ctx));
  const left = valueAt(condition.attribute, ctx);
  if (!present(left)) return false;
  if ('equals' in condition) return left === valueAt(condition.equals, ctx);
  if ('value' in condition) return left === condition.value;
  return condition.in.includes(left);
}

/**
 * How the subject reaches the resource at all, before roles: its own tenant, the platform (whose
 * staff work across tenants), or a valid share to its tenant (or to it in person) that covers the
 * permission. Returns the reach's end (epoch ms, or null for none) or undefined when out of reach.
 */
function reach(
  subject: { tenantId: string; userId?: string },
  permission: string,
  resource: Resource,
  now: number,
): number | null | undefined {
  if (resource.tenantId === subject.tenantId || subject.tenantId === PLATFORM_TENANT) return null;
  let end: number | undefined;
  for (const s of resource.shares ?? []) {
    if (s.granteeTenantId !== subject.tenantId || !shareActive(s, now)) continue;
    if (s.granteeUserId !== null && s.granteeUserId !== subject.userId) continue;
    if (!s.permissions.includes(permission)) continue;
    end = Math.max(end ?? 0, s.validUntil);
  }
  return end;
}

const minEnd = (a: number | null, b: number | null): number | null =>
  a === null ? b : b === null ? a : Math.min(a, b);

/**
 * THE policy function: may `subject` do `permission` (on `resource`)? Pure, synchronous, and cheap:
 * a lookup per grant in roles flattened when the snapshot was compiled. Time-bound grants and
 * shares are compared with `now` here, on every decision, so one stops working the moment it ends.
 *
 * - Administrators (the admin token, open dev mode) may do everything.
 * - An API key may do what its scopes name (plus listing its tenant's vehicles), inside its tenant
 *   or on a resource shared with its tenant for that permission.
 * - A user may do what one of their grants in force gives: the role must belong to their tenant
 *   (or be a platform template for their kind of tenant), a grant bound to a resource applies to
 *   that resource only, and a conditional permission needs its condition to hold on the resource.
 *   The resource must be in reach: the user's tenant, any tenant for platform staff, or shared.
 *
 * Without a resource, a permission held only under a condition (or by a bound grant) is not an
 * allow: the answer is `conditional`, and whoever asked must decide again per resource.
 */
export function decide(
  snapshot: PolicySnapshot,
  subject: Subject,
  permission: string,
  resource?: Resource,
  now: number = Date.now(),
): Decision {
  if (subject.kind === 'admin') return allowed('administrator');
  if (!isPermission(permission)) return denied(`${permission} is not a permission of the catalogue`);

  if (subject.kind === 'api-key') {
    const held =
      subject.scopes.includes(permission) || (API_KEY_IMPLIED_PERMISSIONS as readonly string[]).includes(permission);
    if (!held) return denied(`the API key lacks the ${permission} scope`);
    if (!resource) return allowed(`API key scope ${permission}`);
    const end = reach(subject, permission, resource, now);
    if (end === undefined) return denied(`the resource belongs to another tenant`);
    return allowed(`API key scope ${permission}`, end ?? undefined);
  }

  const reachEnd = resource ? reach(subject, permission, resource, now) : null;
  if (reachEnd === undefined) return denied('the resource belongs to another tenant and is not shared for this');

  let best: number | null | undefined;
  let why = '';
  let conditional = false;
  for (const grant of subject.grants) {
    if (!grantActive(grant, now)) continue;
    const role = snapshot.roles.get(grant.roleId);
    if (!role || !roleApplies(role, subject.tenantId, subject.tenantKind)) continue;
    const rules = role.rules.get(permission);
    if (!rules) continue;
    if (!resource) {
      if (grant.resource !== null || !rules.some((r) => r.condition === null)) {
        conditional = true;
        continue;
      }
    } else {
      if (grant.resource !== null && !bindingMatches(grant.resource, resource)) continue;
      const ctx: EvaluationContext = { subject, resource, grant, permission, now };
      if (!rules.some((r) => r.condition === null || evaluateCondition(r.condition, ctx))) continue;
    }
    // Several grants may allow; the decision lasts as long as the longest of them.
    const end = grant.validUntil;
    if (best === undefined || end === null || (best !== null && end > best)) {
      best = end;
      why = `role ${role.key}`;
    }
    if (best === null) break;
  }
  if (best === undefined) {
    if (conditional)
      return { allow: false, conditional: true, reason: `${permission} is held only for some resources` };
    return denied(`no role in force gives ${permission}`);
  }
  const end = minEnd(best, reachEnd);
  return allowed(why, end ?? undefined);
}

/** The rules through which the subject holds a permission right now, with the grant each comes from. */
export function heldRules(
  snapshot: PolicySnapshot,
  subject: Extract<Subject, { kind: 'user' }>,
  now: number = Date.now(),
): Map<string, { rule: Rule; grant: Grant }[]> {
  const held = new Map<string, { rule: Rule; grant: Grant }[]>();
  for (const grant of subject.grants) {
    if (!grantActive(grant, now)) continue;
    const role = snapshot.roles.get(grant.roleId);
    if (!role || !roleApplies(role, subject.tenantId, subject.tenantKind)) continue;
    for (const [permission, rules] of role.rules) {
      const list = held.get(permission) ?? [];
      for (const rule of rules) list.push({ rule, grant });
      held.set(permission, list);
    }
  }
  return held;
}

/**
 * No escalation: the rules a role would give (its own and inherited) that `actor` does not hold as
 * broadly itself. A rule is covered by an unconditional, unbound grant of the permission, or by an
 * unbound grant of exactly the same condition. Empty: the actor may create, change or grant it.
 */
export function uncoveredRules(
  snapshot: PolicySnapshot,
  actor: Subject,
  wanted: readonly { permission: string; condition: Condition | null }[],
  now: number = Date.now(),
): { permission: string; condition: Condition | null }[] {
  if (actor.kind === 'admin') return [];
  if (actor.kind === 'api-key') return [...wanted];
  const held = heldRules(snapshot, actor, now);
  return wanted.filter(({ permission, condition }) => {
    const mine = (held.get(permission) ?? []).filter((h) => h.grant.resource === null);
    if (mine.some((h) => h.rule.condition === null)) return false;
    const key = conditionKey(condition);
    return condition === null || !mine.some((h) => conditionKey(h.rule.condition) === key);
  });
}

/** Every rule a role gives, own and inherited, as (permission, condition) pairs. */
export function roleRules(
  snapshot: PolicySnapshot,
  roleId: string,
): { permission: string; condition: Condition | null; from: string }[] {
  const role = snapshot.roles.get(roleId);
  if (!role) return [];
  return [...role.rules].flatMap(([permission, rules]) =>
    rules.map((r) => ({ permission, condition: r.condition, from: r.from })),
  );
}
