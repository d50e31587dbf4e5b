import type { ApiKeyScope } from '@clutch/identity';
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
 * What a route demands: `public` (no token), `authenticated` (any admin or partner), `admin`, or a
 * partner scope (admins always pass).
 */
export type Access = 'public' | 'authenticated' | 'admin' | { scope: ApiKeyScope };

export function accessLabel(access: Access): string {
  return typeof access === 'string' ? access : `scope ${access.scope}`;
}

/** Throws FORBIDDEN unless the principal satisfies the route's access rule. */
export function authorize(principal: Principal, access: Access): void {
  if (access === 'public' || access === 'authenticated' || principal.kind === 'admin') return;
  if (access === 'admin') throw apiError('FORBIDDEN', 'This endpoint is for administrators');
  // Users are judged by the policy function on their roles (identity/src/rbac); until a route names
  // a permission, scope routes stay with API keys and administrators.
  if (principal.kind === 'user') throw apiError('FORBIDDEN', `This endpoint needs the ${access.scope} permission`);
  if (!principal.scopes.includes(access.scope)) {
    throw apiError('FORBIDDEN', `The API key lacks the ${access.scope} scope`, { requiredScope: access.scope });
  }
}

// Where a request's SQL runs lives beside this file; re-exported for the modules that import it from here.
export { Scope } from './scope.js';
