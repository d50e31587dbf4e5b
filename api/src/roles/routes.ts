import { PERMISSION_NAMES, PERMISSIONS, TENANT_KINDS, type Permission } from '@clutch/identity';
import { z } from 'zod';
import { requireRecentMfa } from '../auth/step-up.js';
import { pageParams, pageQuery } from '../http/pagination.js';
import type { ApiRouter, RouteRequest } from '../http/route.js';
import { isoTime, segmentId, uuid } from '../shared/schemas.js';
import { GRANTS_LISTING, ROLES_LISTING } from './repository.js';
import { ROLE_PAGE, type RolesActor, type RolesService } from './service.js';

const permissionName = z.enum(PERMISSION_NAMES as [Permission, ...Permission[]]);

/** A condition of the closed language (docs/rbac.md), checked by the service (400 INVALID_CONDITION). */
const condition = z
  .record(z.string(), z.unknown())
  .nullable()
  .optional()
  .describe(
    'Omitted or null: always. Else one of {ownership: vehicle|booking|shop}, {attribute, equals|value|in}, {all: [...]}, {any: [...]} (docs/rbac.md)',
  );

const ruleInput = z.strictObject({ permission: permissionName, condition });
const ruleView = z.object({ permission: z.string(), condition: z.record(z.string(), z.unknown()).nullable() });
const rulesInput = z.array(ruleInput).max(PERMISSION_NAMES.length);
const tenantKind = z.enum(TENANT_KINDS as [string, ...string[]]);

const roleView = z.object({
  id: z.string(),
  tenantId: z.string(),
  key: z.string(),
  name: z.string(),
  description: z.string(),
  builtIn: z.boolean(),
  grantableIn: z
    .array(z.string())
    .nullable()
    .describe('Templates (platform roles): the kinds of tenant that may use them'),
  parents: z.array(z.object({ id: z.string(), key: z.string() })),
  permissions: z.array(ruleView).describe('Its own permissions (GET /roles/{id}/permissions adds the inherited ones)'),
  createdAt: z.string(),
  updatedAt: z.string(),
});

const grantView = z.object({
  id: z.string(),
  userId: z.string(),
  roleId: z.string(),
  roleKey: z.string(),
  roleName: z.string(),
  tenantId: z.string(),
  resource: z.object({ type: z.string(), id: z.string() }).nullable(),
  validFrom: z.string(),
  validUntil: z.string().nullable(),
  grantedBy: z.string(),
  createdAt: z.string(),
  active: z.boolean(),
});

const roleKey = z
  .string()
  .regex(/^[a-z][a-z0-9-]{1,47}$/, { error: 'must be 2-48 characters of a-z 0-9 -, starting with a letter' });
const roleName = z.string().trim().min(1).max(100);
const description = z.string().trim().max(500);
const parents = z
  .array(uuid)
  .max(16)
  .describe('Roles it inherits every permission from (its tenant’s, or platform templates)');

const roleParams = z.object({ id: uuid });
const userParams = z.object({ id: uuid });

const ROLE_WRITE_ERRORS = [
  'ROLE_NOT_FOUND',
  'ROLE_BUILT_IN',
  'ROLE_CYCLE',
  'PERMISSION_ESCALATION',
  'INVALID_CONDITION',
  'MFA_STEP_UP_REQUIRED',
  'BAD_REQUEST',
] as const;

const actorOf = (r: RouteRequest<unknown, unknown, unknown>): RolesActor => ({
  principal: r.principal,
  policy: r.policy,
  scope: r.scope,
  administer: r.administer,
});

export function roleRoutes(router: ApiRouter, roles: RolesService): void {
  router.route({
    method: 'get',
    path: '/permissions',
    tag: 'roles',
    summary:
      'The permission catalogue: every `resource:action` with what it allows, and whether anything checks it yet',
    access: 'authenticated',
    response: {
      status: 200,
      description: 'The catalogue, in its order',
      schema: z.object({
        permissions: z.array(
          z.object({ name: z.string(), description: z.string(), status: z.enum(['active', 'planned']) }),
        ),
      }),
    },
    handle: async () => ({
      permissions: PERMISSION_NAMES.map((name) => ({ name, ...PERMISSIONS[name] })),
    }),
  });

  router.route({
    method: 'get',
    path: '/roles',
    tag: 'roles',
    summary:
      "List roles a page at a time: the caller's tenant's and the platform's templates (administrators: all, or one tenant's with `tenantId`)",
    access: { permission: 'roles:read', perResource: 'service' },
    query: z.object({ tenantId: segmentId.optional(), ...pageParams(ROLES_LISTING, ROLE_PAGE) }),
    response: {
      status: 200,
      description: 'Roles by key; `next` is the cursor of the next page (null on the last)',
      schema: z.object({ roles: z.array(roleView), next: z.string().nullable() }),
    },
    handle: (r) => roles.list(actorOf(r), r.query.tenantId, r.query),
  });

  router.route({
    method: 'post',
    path: '/roles',
    tag: 'roles',
    summary:
      "Create a role of the caller's tenant (administrators: of `tenantId`, default the platform), inheriting from `parents`, with permissions the caller holds; needs a recent MFA check",
    access: { permission: 'roles:write', perResource: 'service' },
    body: z.strictObject({
      tenantId: segmentId.optional().describe('Administrators only; a user creates roles of their own tenant'),
      key: roleKey,
      name: roleName,
      description: description.optional(),
      grantableIn: z.array(tenantKind).min(1).max(3).optional().describe('Platform roles only: make it a template'),
      parents: parents.optional(),
      permissions: rulesInput.optional(),
    }),
    response: { status: 201, description: 'The role', schema: roleView, headers: ['Location'] },
    errors: [...ROLE_WRITE_ERRORS, 'ROLE_EXISTS'],
    handle: async (r) => {
      requireRecentMfa(r.principal);
      const role = await roles.create(actorOf(r), r.body as Parameters<RolesService['create']>[1]);
      r.ctx.set('Location', `/api/roles/${role.id}`);
      return role;
    },
  });

  router.route({
    method: 'put',
    path: '/roles/:id',
    tag: 'roles',
    summary: "Change a role's name, description or parents (never a built-in role's); needs a recent MFA check",
    access: { permission: 'roles:write', perResource: 'service' },
    params: roleParams,
    body: z.strictObject({
      name: roleName.optional(),
      description: description.optional(),
      grantableIn: z.array(tenantKind).min(1).max(3).nullable().optional(),
      parents: parents.optional(),
    }),
    response: { status: 200, description: 'The role as changed', schema: roleView },
    errors: ROLE_WRITE_ERRORS,
    handle: async (r) => {
      requireRecentMfa(r.principal);
      return roles.update(actorOf(r), r.params.id, r.body as Parameters<RolesService['update']>[2]);
    },
  });

  router.route({
    method: 'delete',
    path: '/roles/:id',
    tag: 'roles',
    summary:
      'Delete a role (never a built-in one, nor one others inherit from); its grants end with it. Needs a recent MFA check',
    access: { permission: 'roles:write', perResource: 'service' },
    params: roleParams,
    response: { status: 204, description: 'Deleted' },
    errors: ['ROLE_NOT_FOUND', 'ROLE_BUILT_IN', 'ROLE_IN_USE', 'MFA_STEP_UP_REQUIRED'],
    handle: async (r) => {
      requireRecentMfa(r.principal);
      await roles.delete(actorOf(r), r.params.id);
      return undefined;
    },
  });

  router.route({
    method: 'get',
    path: '/roles/:id/permissions',
    tag: 'roles',
    summary: "A role's own permissions and those it inherits (with the role each comes from)",
    access: { permission: 'roles:read', perResource: 'service' },
    params: roleParams,
    response: {
      status: 200,
      description: 'Own and inherited permissions',
      schema: z.object({
        roleId: z.string(),
        permissions: z.array(ruleView),
        inherited: z.array(ruleView.extend({ from: z.object({ id: z.string(), key: z.string() }) })),
      }),
    },
    errors: ['ROLE_NOT_FOUND'],
    handle: (r) => roles.permissions(actorOf(r), r.params.id),
  });

  router.route({
    method: 'put',
    path: '/roles/:id/permissions',
    tag: 'roles',
    summary:
      "Replace a role's own permissions (each optionally under a condition); only permissions the caller holds as broadly. Needs a recent MFA check",
    access: { permission: 'roles:write', perResource: 'service' },
    params: roleParams,
    body: z.strictObject({ permissions: rulesInput }),
    response: {
      status: 200,
      description: 'The role’s own permissions now',
      schema: z.object({ roleId: z.string(), permissions: z.array(ruleView) }),
    },
    errors: ROLE_WRITE_ERRORS,
    handle: async (r) => {
      requireRecentMfa(r.principal);
      return roles.setPermissions(actorOf(r), r.params.id, r.body.permissions);
    },
  });

  router.route({
    method: 'get',
    path: '/users/:id/roles',
    tag: 'roles',
    summary: "A user's role grants a page at a time, ended ones included (`active` says which are in force)",
    access: { permission: 'roles:read', perResource: 'service' },
    params: userParams,
    query: pageQuery(GRANTS_LISTING, ROLE_PAGE),
    response: {
      status: 200,
      description: 'Grants, newest first; `next` is the cursor of the next page (null on the last)',
      schema: z.object({ userId: z.string(), grants: z.array(grantView), next: z.string().nullable() }),
    },
    errors: ['USER_NOT_FOUND'],
    handle: (r) => roles.grants(actorOf(r), r.params.id, r.query),
  });

  router.route({
    method: 'post',
    path: '/users/:id/roles',
    tag: 'roles',
    summary:
      "Grant a role to a user of the caller's tenant, maybe for a time (`validFrom`, `validUntil`) and for one resource only; granting again changes the validity. Needs a recent MFA check",
    access: { permission: 'roles:grant', perResource: 'service' },
    params: userParams,
    body: z.strictObject({
      roleId: uuid,
      validFrom: isoTime.optional().describe('Default: now'),
      validUntil: isoTime.optional().describe('Exclusive; omitted: until taken away'),
      resource: z
        .strictObject({ type: z.string().regex(/^[a-z][a-z0-9-]{0,31}$/), id: z.string().min(1).max(128) })
        .optional()
        .describe('Bind the grant to one resource (e.g. {type: "shop", id: "north"}): it applies there only'),
    }),
    response: {
      status: 201,
      description: 'The grant (200 when an existing grant of the same role and resource was changed)',
      schema: grantView,
    },
    errors: [
      'USER_NOT_FOUND',
      'ROLE_NOT_FOUND',
      'ROLE_NOT_GRANTABLE',
      'PERMISSION_ESCALATION',
      'MFA_STEP_UP_REQUIRED',
      'BAD_REQUEST',
    ],
    handle: async (r) => {
      requireRecentMfa(r.principal);
      const { grant, created } = await roles.grant(actorOf(r), r.params.id, r.body);
      if (!created) r.ctx.status = 200;
      return grant;
    },
  });

  router.route({
    method: 'delete',
    path: '/users/:id/roles',
    tag: 'roles',
    summary:
      'Take a role away from a user: every grant of `roleId`, or the one grant `grantId`. Needs a recent MFA check',
    access: { permission: 'roles:grant', perResource: 'service' },
    params: userParams,
    query: z
      .object({ roleId: uuid.optional(), grantId: uuid.optional() })
      .refine((q) => q.roleId !== undefined || q.grantId !== undefined, { error: 'give roleId or grantId' }),
    response: { status: 204, description: 'Taken away' },
    errors: ['USER_NOT_FOUND', 'GRANT_NOT_FOUND', 'MFA_STEP_UP_REQUIRED'],
    handle: async (r) => {
      requireRecentMfa(r.principal);
      await roles.revoke(actorOf(r), r.params.id, r.query);
      return undefined;
    },
  });
}
