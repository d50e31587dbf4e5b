import type { Resource } from '@clutch/identity';
import { appendLiveEvent } from '@clutch/jobs';
import type { RequestPolicy } from '../auth/policy.js';
import type { Principal } from '../auth/principal.js';
import { actorOf, type Scope, type SystemUse } from '../auth/scope.js';
import { apiError } from '../errors.js';
import type { PageRequest } from '../http/pagination.js';
import { toIso } from '../shared/time.js';
import { vehicleNotFound } from '../shared/vehicle-guard.js';
import { vehicleResource } from '../vehicles/access.js';
import { VehicleSharesRepository, type ShareRow } from './repository.js';

export interface SharesActor {
  principal: Principal;
  policy: RequestPolicy;
  scope: Scope;
  administer(use: Omit<SystemUse, 'actor' | 'ip'>): Scope;
}

export interface ShareView {
  id: string;
  vehicleId: string;
  granteeTenantId: string;
  granteeUserId: string | null;
  permissions: string[];
  validFrom: string;
  validUntil: string;
  createdBy: string;
  createdAt: string;
  revokedAt: string | null;
  /** In force now: started, not ended, not revoked. */
  active: boolean;
}

export const SHARE_PAGE = { defaultLimit: 50, maxLimit: 200 } as const;
/** Shares are time-boxed: a year at most, renewed by sharing again. */
export const MAX_SHARE_DAYS = 366;

function view(row: ShareRow): ShareView {
  return {
    id: row.id,
    vehicleId: row.vehicle_id,
    granteeTenantId: row.grantee_tenant_id,
    granteeUserId: row.grantee_user_id,
    permissions: row.permissions,
    validFrom: toIso(row.valid_from) ?? '',
    validUntil: toIso(row.valid_until) ?? '',
    createdBy: row.created_by,
    createdAt: toIso(row.created_at) ?? '',
    revokedAt: toIso(row.revoked_at),
    active: row.active,
  };
}

/**
 * Vehicle shares (issue 14, item 6): an owner (or a fleet manager, or an administrator) opens one
 * vehicle to a shop or to one person, for some permissions, until a set time; the share can be
 * ended any time before. The policy function reads shares as a way into another tenant's vehicle,
 * row-level security as a second door (vehicles `shared_access`), both at every request: a share
 * stops working at its end or revocation without any cache to drop.
 */
export class VehicleSharesService {
  /** The vehicle as the caller may see it: absent or not readable is 404 (nothing to learn), else the permission. */
  private async vehicleFor(actor: SharesActor, vehicleId: string, permission: string): Promise<Resource> {
    const resource = await actor.scope.run((q) => vehicleResource(q, vehicleId));
    if (!resource || !(await actor.policy.decide('vehicles:read', resource)).allow) throw vehicleNotFound(vehicleId);
    await actor.policy.require(permission, resource);
    return resource;
  }

  async list(
    actor: SharesActor,
    vehicleId: string,
    page: PageRequest,
  ): Promise<{ shares: ShareView[]; next: string | null }> {
    await this.vehicleFor(actor, vehicleId, 'vehicle-shares:read');
    const { items, next } = await actor.scope.run((q) => new VehicleSharesRepository(q).list(vehicleId, page));
    return { shares: items.map(view), next };
  }

  async create(
    actor: SharesActor,
    vehicleId: string,
    input: {
      granteeTenantId: string;
      granteeUserId?: string | undefined;
      permissions: string[];
      validFrom?: Date | undefined;
      validUntil: Date;
    },
  ): Promise<ShareView> {
    const vehicle = await this.vehicleFor(actor, vehicleId, 'vehicle-shares:write');
    const permissions = [...new Set(input.permissions)];
    const validFrom = input.validFrom ?? new Date();
    const invalid = (reason: string): Error => apiError('SHARE_INVALID', reason);
    if (!(input.validUntil > validFrom) || input.validUntil.getTime() <= Date.now())
      throw invalid('validUntil must be in the future and after validFrom');
    if (input.validUntil.getTime() - validFrom.getTime() > MAX_SHARE_DAYS * 86_400_000)
      throw invalid(`a share lasts at most ${MAX_SHARE_DAYS} days; share again to extend it`);
    if (input.granteeTenantId === vehicle.tenantId && input.granteeUserId === undefined)
      throw invalid(
        'the vehicle already belongs to this tenant; share with a person of it (granteeUserId) or with another tenant',
      );
    // No escalation: the caller shares only what it may do on this vehicle itself.
    for (const permission of permissions) {
      if (!(await actor.policy.decide(permission, vehicle)).allow)
        throw apiError('PERMISSION_ESCALATION', `You cannot share ${permission}: you do not hold it on this vehicle`, {
          missing: [{ permission, condition: null }],
        });
    }
    const detail = {
      vehicleId,
      granteeTenantId: input.granteeTenantId,
      granteeUserId: input.granteeUserId ?? null,
      permissions,
      validFrom: validFrom.toISOString(),
      validUntil: input.validUntil.toISOString(),
    };
    const row = await actor
      .administer({ action: 'vehicle-share.created', tenantId: vehicle.tenantId, target: vehicleId, detail })
      .run(async (q) => {
        const repo = new VehicleSharesRepository(q);
        const kind = await repo.tenantKind(input.granteeTenantId);
        if (kind === undefined)
          throw apiError('TENANT_NOT_FOUND', `No tenant ${input.granteeTenantId}`, { tenantId: input.granteeTenantId });
        // Every owner lives in the consumer tenant: a share with it must name the one person.
        if (kind === 'consumer' && input.granteeUserId === undefined)
          throw invalid('a share with a car owner names the person (granteeUserId)');
        if (input.granteeUserId !== undefined && !(await repo.userInTenant(input.granteeUserId, input.granteeTenantId)))
          throw apiError('USER_NOT_FOUND', `No user ${input.granteeUserId} in ${input.granteeTenantId}`);
        return repo.insert({
          tenantId: vehicle.tenantId,
          vehicleId,
          granteeTenantId: input.granteeTenantId,
          granteeUserId: input.granteeUserId ?? null,
          permissions,
          validFrom,
          validUntil: input.validUntil,
          createdBy: actorOf(actor.principal),
        });
      });
    return view(row);
  }

  async revoke(actor: SharesActor, vehicleId: string, shareId: string): Promise<void> {
    const vehicle = await this.vehicleFor(actor, vehicleId, 'vehicle-shares:write');
    await actor
      .administer({
        action: 'vehicle-share.revoked',
        tenantId: vehicle.tenantId,
        target: shareId,
        detail: { vehicleId },
      })
      .run(async (q) => {
        const ended = await new VehicleSharesRepository(q).revoke(vehicleId, shareId, actorOf(actor.principal));
        if (!ended) throw apiError('SHARE_NOT_FOUND', `No live share ${shareId} of vehicle ${vehicleId}`, { shareId });
        // Live subscriptions of the grantee to this vehicle are re-decided in every API process.
        await appendLiveEvent(q, { type: 'roles-changed', tenantId: ended.grantee_tenant_id, vehicleId });
      });
  }
}
