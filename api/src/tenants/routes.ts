import { z } from 'zod';
import type { ApiRouter } from '../http/route.js';
import { segmentId } from '../shared/schemas.js';
import type { TenantsService } from './service.js';

export const createTenantBody = z.strictObject({ id: segmentId, name: z.string().trim().min(1).max(200) });

export function tenantRoutes(router: ApiRouter, tenants: TenantsService): void {
  router.route({
    method: 'post',
    path: '/tenants',
    tag: 'administration',
    summary: 'Create a tenant (idempotent: 200 with the stored tenant when the id exists)',
    access: { permission: 'tenants:write' },
    body: createTenantBody,
    response: { status: 201, description: 'Created', schema: z.object({ id: z.string(), name: z.string() }) },
    handle: async ({ scope, body, ctx }) => {
      const { created, ...tenant } = await tenants.create(scope, body.id, body.name);
      if (!created) ctx.status = 200;
      return tenant;
    },
  });
}
