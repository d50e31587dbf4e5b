import type { ApiKeyScope } from '@clutch/identity';
import type { Database, Queryable } from '@clutch/db';
import { apiError } from '../errors.js';

/**
 * Who is calling. Admins (the configured admin token, or anyone in open dev mode) see every tenant;
 * partners hold an API key of one tenant with a set of scopes.
 */
export type Principal =
  | { kind: 'admin'; /** True when open dev mode let an anonymous caller in. */ dev: boolean }
  | {
      kind: 'partner';
      tenantId: string;
      keyId: string;
      scopes: readonly ApiKeyScope[];
      /** When the key stops working (null: never); long-lived sessions end then. */
      expiresAt: Date | null;
    };

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
  if (!principal.scopes.includes(access.scope)) {
    throw apiError('FORBIDDEN', `The API key lacks the ${access.scope} scope`, { requiredScope: access.scope });
  }
}

/**
 * Where a request's SQL runs. A partner's queries run inside `db.withTenant`, so row-level security
 * (not our WHERE clauses) keeps other tenants' rows out; admins run as the owner and see everything.
 */
export class Scope {
  private constructor(
    private readonly db: Database,
    /** The tenant the caller is confined to; undefined for admins. */
    readonly tenantId: string | undefined,
  ) {}

  static for(db: Database, principal: Principal): Scope {
    return new Scope(db, principal.kind === 'partner' ? principal.tenantId : undefined);
  }

  /** Platform-internal work (realtime room checks): unrestricted. */
  static system(db: Database): Scope {
    return new Scope(db, undefined);
  }

  /** Runs fn in one transaction, tenant-confined for partners. */
  run<T>(fn: (q: Queryable) => Promise<T>): Promise<T> {
    return this.tenantId === undefined ? this.db.transaction(fn) : this.db.withTenant(this.tenantId, fn);
  }

  /** True when the caller may act on this tenant's records. */
  covers(tenantId: string | null): boolean {
    return this.tenantId === undefined || this.tenantId === tenantId;
  }
}
