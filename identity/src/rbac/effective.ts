import type { Condition } from './conditions.js';
import { grantActive, heldRules, roleApplies, type ResourceRef } from './policy.js';
import type { PolicyStore, SubjectRef } from './store.js';

export interface EffectiveRole {
  grantId: string;
  roleId: string;
  key: string;
  name: string;
  /** The role's tenant (`platform` for the built-in templates). */
  tenantId: string;
  validFrom: string;
  validUntil: string | null;
  resource: ResourceRef | null;
}

export interface EffectivePermissions {
  /** The grants in force now. */
  roles: EffectiveRole[];
  /** Every permission held now, in any form, sorted. */
  permissions: string[];
  /**
   * The permissions held only for some resources, with how: a condition, or a grant bound to a
   * resource (`{ resource: {type, id} }`). A permission listed in `permissions` but not here is
   * held outright.
   */
  conditional: Record<string, ({ condition: Condition } | { resource: ResourceRef })[]>;
}

/**
 * What a caller may do right now, for `GET /api/me` and the pages that hide what a user cannot use.
 * Informative only: every check still goes through `decide`. Administrators hold every permission
 * (`permissions: ['*']`); an API key its scopes.
 */
export async function effectivePermissions(store: PolicyStore, who: SubjectRef): Promise<EffectivePermissions> {
  const subject = await store.subject(who);
  if (subject.kind === 'admin') return { roles: [], permissions: ['*'], conditional: {} };
  if (subject.kind === 'api-key') return { roles: [], permissions: [...subject.scopes].sort(), conditional: {} };
  const snapshot = await store.snapshot();
  const now = store.now();
  const roles: EffectiveRole[] = subject.grants.flatMap((grant) => {
    const role = snapshot.roles.get(grant.roleId);
    if (!role || !grantActive(grant, now) || !roleApplies(role, subject.tenantId, subject.tenantKind)) return [];
    return [
      {
        grantId: grant.id,
        roleId: role.id,
        key: role.key,
        name: role.name,
        tenantId: role.tenantId,
        validFrom: new Date(grant.validFrom).toISOString(),
        validUntil: grant.validUntil === null ? null : new Date(grant.validUntil).toISOString(),
        resource: grant.resource,
      },
    ];
  });
  const held = heldRules(snapshot, subject, now);
  const conditional: EffectivePermissions['conditional'] = {};
  for (const [permission, list] of held) {
    if (list.some((h) => h.rule.condition === null && h.grant.resource === null)) continue;
    conditional[permission] = list.map((h) =>
      h.grant.resource !== null ? { resource: h.grant.resource } : { condition: h.rule.condition! },
    );
  }
  return { roles, permissions: [...held.keys()].sort(), conditional };
}
