import type { ApiKeyScope, Permission, PolicyStore, SubjectRef } from '@clutch/identity';
import { apiError } from '../errors.js';

/**
 * Who is calling. Admins (the configured admin token, or anyone in open dev mode) see every tenant;
 * partners hold an API key of one tenant with a set of scopes; users are people signed in with a
 * session (owners, partner staff, platform staff), confined to their tenant and judged by the policy
 * function on their roles.
 */
export type Principal =
  | { kind: 'admin'; /** True when open dev mode let an anonymous caller in. */ dev: boolean }
  | UserPrincipal
  | {
      kind: 'partner';
      tenantId: string;
      keyId: string;
      scopes: readonly ApiKeyScope[];
      /** When the key stops working (null: never); long-lived sessions end then. */
      expiresAt: Date | null;
    };

/** A person signed in: the claims of a verified access token (identity/src/sessions). */
export interface UserPrincipal {
  kind: 'user';
  userId: string;
  /** The user's tenant: 'consumers' for car owners, 'platform' for platform staff, else their organisation. */
  tenantId: string;
  /** The session the access token was issued for (revoking it ends the token's use). */
  sessionId: string;
  /** When this session last passed an MFA check (step-up for sensitive actions compares with it). */
  mfaAt: Date | null;
  /** When the access token stops working. */
  expiresAt: Date;
}

/**
 * What a route demands: `public` (no token), `authenticated` (any caller with a valid token),
 * `admin` (the admin token), or a permission of the catalogue (identity/src/rbac/permissions.ts),
 * which the policy function decides for users and API keys (administrators always pass).
 *
 * `{ scope }` is the older spelling of `{ permission }` for the five API-key scopes (which are
 * permissions of the same name): it is decided the same way, and keeps its label and its problem
 * (`requiredScope`) so partner clients see no change. New routes name `{ permission }`.
 */
export type Access =
  | 'public'
  | 'authenticated'
  | 'admin'
  | { scope: ApiKeyScope }
  | {
      permission: Permission;
      /**
       * `service`: the service decides per resource itself (it filters a list, or asks the policy on
       * the row it read), so a caller holding the permission only for some resources needs no
       * vehicle named in the request. Otherwise the route wrapper decides such a caller on the
       * vehicle the request names, or refuses it.
       */
      perResource?: 'service';
    };

export function accessLabel(access: Access): string {
  if (typeof access === 'string') return access;
  return 'scope' in access ? `scope ${access.scope}` : `permission ${access.permission}`;
}

/** The permission a route's access rule names, if any. */
export const permissionOf = (access: Access): Permission | undefined =>
  typeof access === 'string' ? undefined : 'scope' in access ? access.scope : access.permission;

/** Who the policy function sees for a principal (users' grants are looked up by the store). */
export function subjectRefOf(principal: Principal): SubjectRef {
  if (principal.kind === 'admin') return { kind: 'admin' };
  if (principal.kind === 'user') return { kind: 'user', userId: principal.userId, tenantId: principal.tenantId };
  return { kind: 'api-key', tenantId: principal.tenantId, keyId: principal.keyId, scopes: principal.scopes };
}

/**
 * Throws FORBIDDEN unless the principal satisfies the route's access rule. A permission is asked of
 * the policy function without a resource. Returns `conditional` when the caller holds it only for
 * some resources (an owner's own vehicles, a shop's bookings, a grant bound to one resource): the
 * route wrapper (or the service, for `perResource: 'service'`) then decides on the resource.
 */
export async function authorize(
  principal: Principal,
  access: Access,
  policy: PolicyStore,
): Promise<'allowed' | 'conditional'> {
  if (access === 'public' || access === 'authenticated' || principal.kind === 'admin') return 'allowed';
  if (access === 'admin') throw apiError('FORBIDDEN', 'This endpoint is for administrators');
  const permission = permissionOf(access)!;
  const decision = await policy.decide(subjectRefOf(principal), permission);
  if (decision.allow) return 'allowed';
  if (decision.conditional) return 'conditional';
  if (principal.kind === 'partner') {
    if ('scope' in access)
      throw apiError('FORBIDDEN', `The API key lacks the ${access.scope} scope`, { requiredScope: access.scope });
    throw apiError('FORBIDDEN', `The API key lacks the ${permission} permission`, { requiredPermission: permission });
  }
  throw apiError('FORBIDDEN', `This needs the ${permission} permission`, { requiredPermission: permission });
}

// Where a request's SQL runs lives beside this file; re-exported for the modules that import it from here.
export { Scope } from './scope.js';
