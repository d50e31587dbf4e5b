import { z } from 'zod';
import type { ApiRouter } from '../http/route.js';
import type { TenantsService } from './service.js';

/** Tenant and device ids are MQTT topic segments (contracts `isValidSegment`). */
export const segmentId = z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, { error: 'must be 1-64 characters of A-Z a-z 0-9 _ -' });

export const createTenantBody = z.strictObject({ id: segmentId, name: z.string().trim().min(1).max(200) });

export function tenantRoutes(router: ApiRouter, tenants: TenantsService): void {
  router.route({
    method: 'post',
    path: '/tenants',
    tag: 'administration',
    summary: 'Create a tenant (idempotent: 200 with the stored tenant when the id exists)',
    access: 'admin',
    body: createTenantBody,
    response: { status: 201, description: 'Created', schema: z.object({ id: z.string(), name: z.string() }) },
    handle: async ({ body, ctx }) => {
      const { created, ...tenant } = await tenants.create(body.id, body.name);
      if (!created) ctx.status = 200;
      return tenant;
    },
  });
}
