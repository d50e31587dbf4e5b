import type { Queryable } from '@clutch/db';
import {
  compileSnapshot,
  findCycle,
  loadRoleDefinitions,
  loadUserGrants,
  parseCondition,
  PLATFORM_TENANT,
  roleRules,
  uncoveredRules,
  type Condition,
  type PolicyStore,
  type Subject,
  type TenantKind,
} from '@clutch/identity';
import { appendLiveEvent } from '@clutch/jobs';
import type { RequestPolicy } from '../auth/policy.js';
import type { Principal } from '../auth/principal.js';
import { actorOf, type Scope, type SystemUse } from '../auth/scope.js';
import { apiError } from '../errors.js';
import type { PageRequest } from '../http/pagination.js';
import { toIso } from '../shared/time.js';
import { RolesRepository, type GrantRow, type RoleRow } from './repository.js';

/** Who changes roles, and the means the request gives them. */
export interface RolesActor {
  principal: Principal;
  policy: RequestPolicy;
  scope: Scope;
  administer(use: Omit<SystemUse, 'actor' | 'ip'>): Scope;
}

export interface PermissionRule {
  permission: string;
  condition: Condition | null;
}

export interface RoleView {
  id: string;
  tenantId: string;
  key: string;
  name: string;
  description: string;
  builtIn: boolean;
  grantableIn: string[] | null;
  parents: { id: string; key: string }[];
  permissions: PermissionRule[];
  createdAt: string;
  updatedAt: string;
}

export interface GrantView {
  id: string;
  userId: string;
  roleId: string;
  roleKey: string;
  roleName: string;
  tenantId: string;
  resource: { type: string; id: string } | null;
  validFrom: string;
  validUntil: string | null;
  grantedBy: string;
  createdAt: string;
  /** In force now (started, not ended). */
  active: boolean;
}

export const ROLE_PAGE = { defaultLimit: 100, maxLimit: 500 } as const;

const json = <T>(v: T | string | null): T | null => (typeof v === 'string' ? (JSON.parse(v) as T) : v);

function roleView(row: RoleRow): RoleView {
  return {
    id: row.id,
    tenantId: row.tenant_id,
    key: row.key,
    name: row.name,
    description: row.description,
    builtIn: row.built_in,
    grantableIn: row.grantable_in,
    parents: json(row.parents) ?? [],
    permissions: json(row.permissions) ?? [],
    createdAt: toIso(row.created_at) ?? '',
    updatedAt: toIso(row.updated_at) ?? '',
  };
}

function grantView(row: GrantRow): GrantView {
  return {
    id: row.id,
    userId: row.user_id,
    roleId: row.role_id,
    roleKey: row.role_key,
    roleName: row.role_name,
    tenantId: row.tenant_id,
    resource:
      row.resource_type !== null && row.resource_id !== null ? { type: row.resource_type, id: row.resource_id } : null,
    validFrom: toIso(row.valid_from) ?? '',
    validUntil: toIso(row.valid_until),
    grantedBy: row.granted_by,
    createdAt: toIso(row.created_at) ?? '',
    active: row.active,
  };
}

const roleNotFound = (id: string): Error => apiError('ROLE_NOT_FOUND', `No role with id ${id}`, { roleId: id });
const userNotFound = (id: string): Error => apiError('USER_NOT_FOUND', `No user with id ${id}`, { userId: id });

/** Each permission once, each condition parsed by the closed language (400 INVALID_CONDITION otherwise). */
function checkedRules(rules: readonly { permission: string; condition?: unknown }[]): PermissionRule[] {
  const seen = new Set<string>();
  return rules.map((r, i) => {
    if (seen.has(r.permission))
      throw apiError('BAD_REQUEST', `${r.permission} is listed twice; give each permission once, with one condition`, {
        pointer: `/body/permissions/${i}`,
      });
    seen.add(r.permission);
    return {
      permission: r.permission,
      condition: r.condition === undefined || r.condition === null ? null : parseCondition(r.condition),
    };
  });
}

/**
 * Roles, their inheritance and permissions, and grants of roles to users (issue 14, RBAC).
 *
 * Who may: an administrator (the admin token) anything; a signed-in user the roles and grants of
 * their own tenant (a partner admin their organisation's, a platform admin the platform's), as the
 * policy function allows (`roles:read`, `roles:write`, `roles:grant`). Nobody gives what they do not
 * hold: a role created or changed, or a role granted, may contain only permissions the acting user
 * holds at least as broadly (unconditionally, or under the same condition), inherited ones
 * included; an attempt beyond that is refused (403 PERMISSION_ESCALATION) and recorded as denied.
 *
 * Changes run in one audited platform transaction each, under a lock on the role graph (so a cycle
 * cannot be closed by two concurrent edits), announce `roles-changed` through the outbox (every
 * process drops its cached policy) and drop this process's cache at once.
 */
export class RolesService {
  constructor(private readonly store: PolicyStore) {}

  async list(
    actor: RolesActor,
    tenantId: string | undefined,
    page: PageRequest,
  ): Promise<{ roles: RoleView[]; next: string | null }> {
    const { items, next } = await actor.scope.run((q) => new RolesRepository(q).list(tenantId, page));
    return { roles: items.map(roleView), next };
  }

  async permissions(
    actor: RolesActor,
    roleId: string,
  ): Promise<{
    roleId: string;
    permissions: PermissionRule[];
    inherited: (PermissionRule & { from: { id: string; key: string } })[];
  }> {
    const role = await actor.scope.run((q) => new RolesRepository(q).find(roleId));
    if (!role) throw roleNotFound(roleId);
    const snapshot = await this.store.snapshot();
    const own = json(role.permissions) ?? [];
    const ownKeys = new Set(own.map((p) => `${p.permission} ${JSON.stringify(p.condition)}`));
    const inherited = roleRules(snapshot, roleId)
      .filter((r) => r.from !== roleId && !ownKeys.has(`${r.permission} ${JSON.stringify(r.condition)}`))
      .map((r) => ({
        permission: r.permission,
        condition: r.condition,
        from: { id: r.from, key: snapshot.roles.get(r.from)?.key ?? r.from },
      }))
      .sort((a, b) => a.permission.localeCompare(b.permission) || a.from.key.localeCompare(b.from.key));
    return { roleId, permissions: own, inherited };
  }

  async create(
    actor: RolesActor,
    input: {
      tenantId?: string | undefined;
      key: string;
      name: string;
      description?: string | undefined;
      grantableIn?: TenantKind[] | undefined;
      parents?: string[] | undefined;
      permissions?: { permission: string; condition?: unknown }[] | undefined;
    },
  ): Promise<RoleView> {
    const tenantId = this.managedTenant(actor, input.tenantId);
    const permissions = checkedRules(input.permissions ?? []);
    const parents = input.parents ?? [];
    if (input.grantableIn !== undefined && tenantId !== PLATFORM_TENANT)
      throw apiError('BAD_REQUEST', 'grantableIn is for platform roles (templates) only');
    await actor.policy.require('roles:write', { type: 'role', id: input.key, tenantId });
    const detail = { key: input.key, parents, permissions };
    const view = await this.guarded(
      actor,
      { action: 'role.create', tenantId, target: input.key, detail },
      async (q) => {
        const repo = new RolesRepository(q);
        await repo.lockGraph();
        await this.checkParents(repo, tenantId, parents);
        const id = await repo.insert({
          tenantId,
          key: input.key,
          name: input.name,
          description: input.description ?? '',
          grantableIn: input.grantableIn ?? null,
        });
        if (id === undefined)
          throw apiError('ROLE_EXISTS', `The role key ${input.key} is taken in ${tenantId}`, {
            key: input.key,
            tenantId,
          });
        await repo.setParents(tenantId, id, parents);
        await repo.setPermissions(tenantId, id, permissions);
        await this.checkNoEscalation(q, actor, id);
        await appendLiveEvent(q, { type: 'roles-changed', tenantId });
        return roleView((await repo.find(id))!);
      },
    );
    this.store.invalidate();
    return view;
  }

  async update(
    actor: RolesActor,
    roleId: string,
    input: {
      name?: string | undefined;
      description?: string | undefined;
      grantableIn?: TenantKind[] | null | undefined;
      parents?: string[] | undefined;
    },
  ): Promise<RoleView> {
    const view = await this.changeRole(actor, roleId, 'role.update', input, async (repo, role) => {
      if (input.grantableIn !== undefined && role.tenant_id !== PLATFORM_TENANT)
        throw apiError('BAD_REQUEST', 'grantableIn is for platform roles (templates) only');
      await repo.update(roleId, input);
      if (input.parents !== undefined) {
        await this.checkParents(repo, role.tenant_id, input.parents, roleId);
        await repo.setParents(role.tenant_id, roleId, input.parents);
      }
    });
    return view;
  }

  async setPermissions(
    actor: RolesActor,
    roleId: string,
    rules: { permission: string; condition?: unknown }[],
  ): Promise<{ roleId: string; permissions: PermissionRule[] }> {
    const permissions = checkedRules(rules);
    const view = await this.changeRole(actor, roleId, 'role.permissions', { permissions }, async (repo, role) => {
      await repo.setPermissions(role.tenant_id, roleId, permissions);
      await repo.touch(roleId);
    });
    return { roleId, permissions: view.permissions };
  }

  async delete(actor: RolesActor, roleId: string): Promise<void> {
    const role = await this.manageable(actor, roleId);
    await actor.policy.require('roles:write', { type: 'role', id: roleId, tenantId: role.tenant_id });
    await this.guarded(
      actor,
      { action: 'role.delete', tenantId: role.tenant_id, target: roleId, detail: { key: role.key } },
      async (q) => {
        const repo = new RolesRepository(q);
        await repo.lockGraph();
        const children = await repo.children(roleId);
        if (children.length > 0)
          throw apiError('ROLE_IN_USE', `Roles ${children.join(', ')} inherit from ${role.key}; change them first`, {
            children,
          });
        // Its grants go with it (role_grants cascades): the holders lose what it gave at once.
        await repo.delete(roleId);
        await appendLiveEvent(q, { type: 'roles-changed', tenantId: role.tenant_id });
      },
    );
    this.store.invalidate();
  }

  async grants(
    actor: RolesActor,
    userId: string,
    page: PageRequest,
  ): Promise<{ userId: string; grants: GrantView[]; next: string | null }> {
    const { items, next } = await actor.scope.run(async (q) => {
      const repo = new RolesRepository(q);
      if (!(await repo.findUser(userId))) throw userNotFound(userId);
      return repo.userGrants(userId, page);
    });
    return { userId, grants: items.map(grantView), next };
  }

  async grant(
    actor: RolesActor,
    userId: string,
    input: {
      roleId: string;
      validFrom?: Date | undefined;
      validUntil?: Date | undefined;
      resource?: { type: string; id: string } | undefined;
    },
  ): Promise<{ grant: GrantView; created: boolean }> {
    const validFrom = input.validFrom ?? new Date();
    const validUntil = input.validUntil ?? null;
    if (validUntil !== null && (validUntil <= validFrom || validUntil.getTime() <= Date.now()))
      throw apiError('BAD_REQUEST', 'validUntil must be in the future and after validFrom');
    const target = await this.targetUser(actor, userId);
    await actor.policy.require('roles:grant', { type: 'user', id: userId, tenantId: target.tenant_id });
    const detail = {
      roleId: input.roleId,
      validFrom: validFrom.toISOString(),
      validUntil: validUntil?.toISOString() ?? null,
      resource: input.resource ?? null,
    };
    const result = await this.guarded(
      actor,
      { action: 'role.granted', tenantId: target.tenant_id, target: userId, detail },
      async (q) => {
        const repo = new RolesRepository(q);
        const role = await repo.find(input.roleId);
        if (!role || !this.visible(actor, role)) throw roleNotFound(input.roleId);
        const usable =
          role.tenant_id === target.tenant_id ||
          (role.tenant_id === PLATFORM_TENANT && (role.grantable_in ?? []).includes(target.kind));
        if (!usable)
          throw apiError('ROLE_NOT_GRANTABLE', `${role.key} cannot be given to a user of ${target.tenant_id}`, {
            roleId: role.id,
            tenantId: target.tenant_id,
          });
        const snapshot = compileSnapshot(await loadRoleDefinitions(q));
        await this.refuseEscalation(q, actor, snapshot, roleRules(snapshot, role.id));
        const saved = await repo.upsertGrant({
          tenantId: target.tenant_id,
          userId,
          roleId: role.id,
          resource: input.resource ?? null,
          validFrom,
          validUntil,
          grantedBy: actorOf(actor.principal),
        });
        await appendLiveEvent(q, { type: 'roles-changed', tenantId: target.tenant_id, userId });
        return { grant: grantView((await repo.findGrant(saved.id))!), created: saved.created };
      },
    );
    this.store.invalidate({ userId });
    return result;
  }

  async revoke(
    actor: RolesActor,
    userId: string,
    which: { roleId?: string | undefined; grantId?: string | undefined },
  ): Promise<void> {
    const target = await this.targetUser(actor, userId);
    await actor.policy.require('roles:grant', { type: 'user', id: userId, tenantId: target.tenant_id });
    await this.guarded(
      actor,
      { action: 'role.revoked', tenantId: target.tenant_id, target: userId, detail: { ...which } },
      async (q) => {
        const removed = await new RolesRepository(q).deleteGrants(userId, which);
        if (removed.length === 0)
          throw apiError('GRANT_NOT_FOUND', `User ${userId} holds no such grant`, { userId, ...which });
        await appendLiveEvent(q, { type: 'roles-changed', tenantId: target.tenant_id, userId });
      },
    );
    this.store.invalidate({ userId });
  }

  /** The tenant whose roles the actor manages: any for administrators, their own for users. */
  private managedTenant(actor: RolesActor, requested: string | undefined): string {
    const p = actor.principal;
    if (p.kind === 'admin') return requested ?? PLATFORM_TENANT;
    if (p.kind !== 'user') throw apiError('FORBIDDEN', 'API keys do not manage roles');
    if (requested !== undefined && requested !== p.tenantId)
      throw apiError('FORBIDDEN', `You manage the roles of ${p.tenantId} only`, { tenantId: requested });
    return p.tenantId;
  }

  /** Can the actor see this role (its tenant's, a template, or any for administrators)? */
  private visible(actor: RolesActor, role: RoleRow): boolean {
    const p = actor.principal;
    if (p.kind === 'admin') return true;
    if (p.kind !== 'user') return false;
    return role.tenant_id === p.tenantId || (role.tenant_id === PLATFORM_TENANT && role.grantable_in !== null);
  }

  /** A role the actor may change: visible, of their tenant (administrators: any), not built in. */
  private async manageable(actor: RolesActor, roleId: string): Promise<RoleRow> {
    // Read as the caller: row-level security shows a user their tenant's roles and the templates.
    const role = await actor.scope.run((q) => new RolesRepository(q).find(roleId));
    if (!role || !this.visible(actor, role)) throw roleNotFound(roleId);
    if (role.built_in)
      throw apiError('ROLE_BUILT_IN', `${role.key} is built in; create a role that inherits from it instead`);
    if (actor.principal.kind !== 'admin' && role.tenant_id !== actor.principal.tenantId)
      throw apiError('FORBIDDEN', `You manage the roles of ${actor.principal.tenantId} only`);
    return role;
  }

  /** The user a grant is about: another tenant's user is not found, for users (administrators: any). */
  private async targetUser(actor: RolesActor, userId: string): Promise<{ tenant_id: string; kind: TenantKind }> {
    const user = await actor.scope.run((q) => new RolesRepository(q).findUser(userId));
    if (!user) throw userNotFound(userId);
    return { tenant_id: user.tenant_id, kind: user.kind as TenantKind };
  }

  /** The shared part of update and setPermissions: checks, the change, the escalation check, the event. */
  private async changeRole(
    actor: RolesActor,
    roleId: string,
    action: string,
    detail: Record<string, unknown>,
    change: (repo: RolesRepository, role: RoleRow) => Promise<void>,
  ): Promise<RoleView> {
    const role = await this.manageable(actor, roleId);
    await actor.policy.require('roles:write', { type: 'role', id: roleId, tenantId: role.tenant_id });
    const view = await this.guarded(
      actor,
      { action, tenantId: role.tenant_id, target: roleId, detail: { key: role.key, ...detail } },
      async (q) => {
        const repo = new RolesRepository(q);
        await repo.lockGraph();
        await change(repo, role);
        await this.checkNoEscalation(q, actor, roleId);
        await appendLiveEvent(q, { type: 'roles-changed', tenantId: role.tenant_id });
        return roleView((await repo.find(roleId))!);
      },
    );
    this.store.invalidate();
    return view;
  }

  /**
   * Parents must exist and be usable by the tenant's roles: its own, or (for a tenant) a platform
   * template for its kind of tenant; a platform role inherits from platform roles only. With the
   * new edges in place there must be no cycle.
   */
  private async checkParents(
    repo: RolesRepository,
    tenantId: string,
    parents: readonly string[],
    roleId?: string,
  ): Promise<void> {
    if (new Set(parents).size !== parents.length) throw apiError('BAD_REQUEST', 'a parent is listed twice');
    if (roleId !== undefined && parents.includes(roleId))
      throw apiError('ROLE_CYCLE', 'A role cannot inherit from itself', { cycle: [roleId, roleId] });
    const found = await repo.findMany(parents);
    const kind = await repo.tenantKind(tenantId);
    for (const id of parents) {
      const parent = found.find((r) => r.id === id);
      const template = parent?.tenant_id === PLATFORM_TENANT && parent.grantable_in !== null;
      if (!parent || (parent.tenant_id !== tenantId && !template)) throw roleNotFound(id);
      if (parent.tenant_id !== tenantId && !(kind !== undefined && (parent.grantable_in ?? []).includes(kind)))
        throw apiError('ROLE_NOT_GRANTABLE', `${parent.key} is not a template for ${kind ?? 'this'} tenants`, {
          roleId: id,
          tenantId,
        });
    }
    if (roleId === undefined) return;
    const edges = await repo.edges();
    edges.set(roleId, [...parents]);
    const found_ = findCycle(edges);
    if (found_) {
      // Told from the role being changed: "a → c → b → a".
      const ring = found_.slice(0, -1);
      const at = Math.max(0, ring.indexOf(roleId));
      const cycle = [...ring.slice(at), ...ring.slice(0, at), ring[at]!];
      const keys = await repo.findMany(cycle);
      const keyOf = new Map(keys.map((r) => [r.id, r.key]));
      throw apiError(
        'ROLE_CYCLE',
        `Inheritance would go round: ${cycle.map((id) => keyOf.get(id) ?? id).join(' → ')}`,
        {
          cycle,
        },
      );
    }
  }

  /** Inside the change's transaction, after it: what the role now gives must be covered by the actor. */
  private async checkNoEscalation(q: Queryable, actor: RolesActor, roleId: string): Promise<void> {
    const snapshot = compileSnapshot(await loadRoleDefinitions(q));
    await this.refuseEscalation(q, actor, snapshot, roleRules(snapshot, roleId));
  }

  private async refuseEscalation(
    q: Queryable,
    actor: RolesActor,
    snapshot: ReturnType<typeof compileSnapshot>,
    wanted: readonly PermissionRule[],
  ): Promise<void> {
    const p = actor.principal;
    if (p.kind === 'admin') return;
    let subject: Subject = { kind: 'api-key', tenantId: '', keyId: '', scopes: [] };
    if (p.kind === 'user') {
      const found = await loadUserGrants(q, p.userId);
      subject = {
        kind: 'user',
        userId: p.userId,
        tenantId: p.tenantId,
        tenantKind: found?.tenantKind ?? 'consumer',
        grants: found && found.tenantId === p.tenantId ? found.grants : [],
      };
    }
    const missing = uncoveredRules(snapshot, subject, wanted).map((m) => ({
      permission: m.permission,
      condition: m.condition,
    }));
    if (missing.length > 0)
      throw apiError(
        'PERMISSION_ESCALATION',
        `You do not hold ${[...new Set(missing.map((m) => m.permission))].join(', ')} as broadly as this would give`,
        { missing },
      );
  }

  /**
   * Runs a change in one audited platform transaction. A refusal for escalation is recorded as a
   * `denied` attempt in a transaction of its own (the change's rolled back).
   */
  private async guarded<T>(
    actor: RolesActor,
    use: { action: string; tenantId: string; target: string; detail: Record<string, unknown> },
    work: (q: Queryable) => Promise<T>,
  ): Promise<T> {
    try {
      return await actor.administer(use).run(work);
    } catch (err) {
      if ((err as { code?: unknown }).code === 'PERMISSION_ESCALATION') {
        const missing = (err as { details?: Record<string, unknown> }).details?.missing;
        await actor
          .administer({ ...use, outcome: 'denied', detail: { ...use.detail, missing } })
          .run(async () => undefined);
      }
      throw err;
    }
  }
}
