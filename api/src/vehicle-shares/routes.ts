import { SHAREABLE_PERMISSIONS, type Permission } from '@clutch/identity';
import { z } from 'zod';
import { pageParams } from '../http/pagination.js';
import type { ApiRouter, RouteRequest } from '../http/route.js';
import { isoTime, segmentId, uuid } from '../shared/schemas.js';
import { SHARES_LISTING } from './repository.js';
import { SHARE_PAGE, type SharesActor, type VehicleSharesService } from './service.js';

const shareView = z.object({
  id: z.string(),
  vehicleId: z.string(),
  granteeTenantId: z.string(),
  granteeUserId: z.string().nullable(),
  permissions: z.array(z.string()),
  validFrom: z.string(),
  validUntil: z.string(),
  createdBy: z.string(),
  createdAt: z.string(),
  revokedAt: z.string().nullable(),
  active: z.boolean(),
});

const actorOf = (r: RouteRequest<unknown, unknown, unknown>): SharesActor => ({
  principal: r.principal,
  policy: r.policy,
  scope: r.scope,
  administer: r.administer,
});

export function vehicleShareRoutes(router: ApiRouter, shares: VehicleSharesService): void {
  router.route({
    method: 'post',
    path: '/vehicles/:id/shares',
    tag: 'vehicles',
    summary:
      'Share a vehicle with a shop (`granteeTenantId`) or one person of it (`granteeUserId`) for some permissions, until `validUntil` (at most a year)',
    access: { permission: 'vehicle-shares:write', perResource: 'service' },
    params: z.object({ id: uuid }),
    body: z.strictObject({
      granteeTenantId: segmentId,
      granteeUserId: uuid.optional(),
      permissions: z
        .array(z.enum(SHAREABLE_PERMISSIONS as [Permission, ...Permission[]]))
        .min(1)
        .max(SHAREABLE_PERMISSIONS.length),
      validFrom: isoTime.optional().describe('Default: now'),
      validUntil: isoTime.describe('Required: every share ends'),
    }),
    response: { status: 201, description: 'The share', schema: shareView },
    errors: ['VEHICLE_NOT_FOUND', 'TENANT_NOT_FOUND', 'USER_NOT_FOUND', 'SHARE_INVALID', 'PERMISSION_ESCALATION'],
    handle: (r) => shares.create(actorOf(r), r.params.id, r.body),
  });

  router.route({
    method: 'get',
    path: '/vehicles/:id/shares',
    tag: 'vehicles',
    summary: "A vehicle's shares, newest first, ended and revoked ones included (`active` says which are in force)",
    access: { permission: 'vehicle-shares:read', perResource: 'service' },
    params: z.object({ id: uuid }),
    query: z.object(pageParams(SHARES_LISTING, SHARE_PAGE)),
    response: {
      status: 200,
      description: 'Shares; `next` is the cursor of the next page (null on the last)',
      schema: z.object({ shares: z.array(shareView), next: z.string().nullable() }),
    },
    errors: ['VEHICLE_NOT_FOUND'],
    handle: (r) => shares.list(actorOf(r), r.params.id, r.query),
  });

  router.route({
    method: 'delete',
    path: '/vehicles/:id/shares/:shareId',
    tag: 'vehicles',
    summary: 'End a share now: the shop (or person) loses the vehicle at once, live subscriptions included',
    access: { permission: 'vehicle-shares:write', perResource: 'service' },
    params: z.object({ id: uuid, shareId: uuid }),
    response: { status: 204, description: 'Ended' },
    errors: ['VEHICLE_NOT_FOUND', 'SHARE_NOT_FOUND'],
    handle: async (r) => {
      await shares.revoke(actorOf(r), r.params.id, r.params.shareId);
      return undefined;
    },
  });
}
