import { enterUserScope, type Database, type Queryable } from '@clutch/db';
import { apiError } from '../errors.js';
import type { Principal } from './principal.js';

/** Why unconfined (owner) access is needed, and who asked: every system scope names both. */
export interface SystemUse {
  /** Who: `admin`, `admin:dev`, `partner:<tenant>:<key>` or a platform component (`realtime`). */
  actor: string;
  /** The use case, dotted: `device.provision`, `api-key.revoke`, `dead-letter.replay`, ... */
  action: string;
  /** What it acts on (a device, a key, a dead letter); null when nothing in particular. */
  target?: string | null | undefined;
  /** The tenant the work concerns, when there is one: that tenant can read the row. */
  tenantId?: string | null | undefined;
  /** Where the request came from (the client address), when there is a request. */
  ip?: string | null | undefined;
  /** How it ended; `success` when not given (a system scope's row commits only with its work). */
  outcome?: 'success' | 'failure' | 'denied' | undefined;
  detail?: Record<string, unknown> | undefined;
}

/** Writes one audit row inside the transaction given (so it commits or rolls back with the work). */
export type AuditLog = (q: Queryable, use: SystemUse) => Promise<void>;

/** The actor name of a caller in the audit log (the same names as idempotency key owners). */
export function actorOf(principal: Principal): string {
  if (principal.kind === 'partner') return `partner:${principal.tenantId}:${principal.keyId}`;
  if (principal.kind === 'user') return `user:${principal.userId}`;
  return principal.dev ? 'admin:dev' : 'admin';
}

/** The tenant of platform staff (migration 020). */
const PLATFORM_TENANT = 'platform';

type Mode =
  /**
   * `userId`: a signed-in user, named to row-level security (car owners are confined to their
   * vehicles). `platformStaff`: a user of the platform tenant, whose administration (a route's
   * permission already allowed it) runs in an audited system scope reaching every tenant.
   */
  | { kind: 'tenant'; tenantId: string; userId?: string; platformStaff?: boolean }
  /** An administrator's request: unconfined reads (and the data writes admins make, like commands). */
  | { kind: 'admin' }
  | { kind: 'system'; use: SystemUse };

/**
 * Where a service's SQL runs, and the only way a service reaches the database: repositories get the
 * `Queryable` that `run` hands them, never the `Database` (api/src/architecture.test.ts fails when
 * one does).
 *
 * - A partner's scope runs inside `db.withTenant`, so row-level security (not our WHERE clauses)
 *   keeps other tenants' rows out. A signed-in user's does too, and also names the user to it
 *   (`app.user_id`): in the consumer tenant that confines a car owner to their own vehicles.
 * - An administrator's request scope runs as the owner and sees every tenant.
 * - A system scope (`Scope.system`, or `scope.audited(...)` from an administrator's request) is
 *   for administration and platform work: it runs as the owner and writes one `audit_log` row (who,
 *   what, why) in the same transaction as the work, the first time it runs. One scope is one use
 *   case, so a service that needs two transactions for it still writes one row.
 */
export class Scope {
  private recorded = false;

  private constructor(
    private readonly db: Database,
    private readonly mode: Mode,
    private readonly actor: string,
    private readonly audit: AuditLog,
  ) {}

  /** The scope of a request: confined to the tenant for partners, unconfined for administrators. */
  static for(db: Database, principal: Principal, audit: AuditLog): Scope {
    const mode: Mode =
      principal.kind === 'admin'
        ? { kind: 'admin' }
        : principal.kind === 'user'
          ? {
              kind: 'tenant',
              tenantId: principal.tenantId,
              userId: principal.userId,
              platformStaff: principal.tenantId === PLATFORM_TENANT,
            }
          : { kind: 'tenant', tenantId: principal.tenantId };
    return new Scope(db, mode, actorOf(principal), audit);
  }

  /** Confined to one tenant without a request (a partner's Socket.io subscription). */
  static tenant(db: Database, tenantId: string, audit: AuditLog): Scope {
    return new Scope(db, { kind: 'tenant', tenantId }, `tenant:${tenantId}`, audit);
  }

  /**
   * Unconfined work with an explicit reason, recorded in the audit log on first use. Create one per
   * use case: a long-lived scope (the realtime room check) records once, not per query.
   */
  static system(db: Database, use: SystemUse, audit: AuditLog): Scope {
    return new Scope(db, { kind: 'system', use }, use.actor, audit);
  }

  /** The tenant the caller is confined to; undefined for administrators and system work. */
  get tenantId(): string | undefined {
    return this.mode.kind === 'tenant' ? this.mode.tenantId : undefined;
  }

  /**
   * The tenant of a scope whose view of that tenant's own vehicles depends on nothing but the
   * tenant: a partner's API key (no user named to row-level security, so no owner confinement).
   * Undefined for signed-in users (an owner's view follows `owner_user_id`), administrators and
   * system work. What such a scope found to be its tenant's own vehicle stays so: the API never
   * moves a vehicle to another tenant (vehicles/own-vehicles.ts caches it on this).
   */
  get keyTenant(): string | undefined {
    return this.mode.kind === 'tenant' && this.mode.userId === undefined ? this.mode.tenantId : undefined;
  }

  /**
   * Administration by this caller: a system scope with the caller as actor. Only administrators
   * (the admin token) and platform staff (signed-in users of the platform tenant) may: the route's
   * permission rule already decided that this caller holds the permission (a platform admin holds
   * every one, support the reads); this refuses again should a route forget, and it refuses partner
   * staff and car owners even where they hold the permission for their own tenant (administration
   * through these routes reaches every tenant, which is not theirs to reach).
   */
  audited(use: Omit<SystemUse, 'actor'>): Scope {
    if (this.mode.kind === 'tenant' && !this.mode.platformStaff)
      throw apiError('FORBIDDEN', "This is administrators' work");
    return Scope.system(this.db, { ...use, actor: this.actor }, this.audit);
  }

  /**
   * Where platform administration that reads across tenants runs (dead letters, API keys): an
   * audited system scope for platform staff, this scope otherwise (administrators already read
   * everything; partners stay confined to their tenant by row-level security).
   */
  administration(use: Omit<SystemUse, 'actor'>): Scope {
    return this.mode.kind === 'tenant' && this.mode.platformStaff ? this.audited(use) : this;
  }

  /**
   * Administration of one organisation (`use.tenantId`): a partner admin's own keys and invitations.
   * Platform staff and administrators get `audited(use)`; a signed-in user of another tenant gets an
   * audited system scope too, but only for their own organisation (naming another is `403`, like
   * the lists), since the tables it writes (users, audit log) are not the tenant role's to write.
   * The route's permission rule already decided that the caller holds the permission; the service
   * confines its SQL to `use.tenantId`. API keys never administer.
   */
  ownOrganisation(use: Omit<SystemUse, 'actor' | 'tenantId'> & { tenantId: string }): Scope {
    if (this.mode.kind !== 'tenant' || this.mode.platformStaff) return this.audited(use);
    if (this.mode.userId === undefined) throw apiError('FORBIDDEN', "This is administrators' work");
    if (this.mode.tenantId !== use.tenantId)
      throw apiError('FORBIDDEN', 'You administer your own organisation only', { tenantId: use.tenantId });
    return Scope.system(this.db, { ...use, actor: this.actor }, this.audit);
  }

  /** Runs fn in one transaction, tenant-confined for partners; a system scope records its use with it. */
  run<T>(fn: (q: Queryable) => Promise<T>): Promise<T> {
    const mode = this.mode;
    if (mode.kind === 'tenant') {
      const userId = mode.userId;
      if (userId === undefined) return this.db.withTenant(mode.tenantId, fn);
      return this.db.withTenant(mode.tenantId, async (q) => {
        await enterUserScope(q, userId);
        return fn(q);
      });
    }
    if (mode.kind === 'admin' || this.recorded) return this.db.transaction(fn);
    return this.db
      .transaction(async (q) => {
        const result = await fn(q);
        // Last: appending to the audit chain takes its lock until commit (migration 019), so the
        // work runs before it, not while every other audited writer waits.
        await this.audit(q, mode.use);
        return result;
      })
      .then((result) => {
        // Only once the work committed: a failed attempt rolls its row back and records again next time.
        this.recorded = true;
        return result;
      });
  }

  /** True when the caller may act on this tenant's records. */
  covers(tenantId: string | null): boolean {
    return this.mode.kind !== 'tenant' || this.mode.tenantId === tenantId;
  }
}
