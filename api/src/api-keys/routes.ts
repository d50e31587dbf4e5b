import { API_KEY_SCOPES } from '@clutch/identity';
import { z } from 'zod';
import type { ApiRouter } from '../http/route.js';
import { segmentId } from '../tenants/routes.js';
import type { ApiKeysService } from './service.js';

export const createApiKeyBody = z.strictObject({
  tenantId: segmentId,
  name: z.string().trim().min(1).max(100),
  scopes: z.array(z.enum(API_KEY_SCOPES)).min(1).max(API_KEY_SCOPES.length),
});

const keyIdParams = z.object({ tenantId: segmentId, keyId: z.string().regex(/^[a-z0-9]{8,32}$/, { error: 'is not an API key id' }) });

export function apiKeyRoutes(router: ApiRouter, keys: ApiKeysService): void {
  router.route({
    method: 'post',
    path: '/api-keys',
    tag: 'administration',
    summary: 'Create a partner API key; the token `ck_<id>_<secret>` is shown once (REST bearer token and MQTT password)',
    access: 'admin',
    body: createApiKeyBody,
    response: {
      status: 201,
      description: 'The key and its token',
      schema: z.object({ keyId: z.string(), tenantId: z.string(), name: z.string(), scopes: z.array(z.enum(API_KEY_SCOPES)), token: z.string() }),
    },
    errors: ['TENANT_NOT_FOUND', 'INVALID_SCOPE'],
    handle: async ({ body, ctx }) => {
      const key = await keys.create(body);
      ctx.set('Cache-Control', 'no-store');
      return key;
    },
  });

  router.route({
    method: 'delete',
    path: '/api-keys/:tenantId/:keyId',
    tag: 'administration',
    summary: 'Revoke a partner API key (REST and MQTT stop accepting it)',
    access: 'admin',
    params: keyIdParams,
    response: { status: 204, description: 'Revoked' },
    errors: ['API_KEY_NOT_FOUND'],
    handle: async ({ params }) => {
      await keys.revoke(params.tenantId, params.keyId);
      return undefined;
    },
  });
}
