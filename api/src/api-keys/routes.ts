import { API_KEY_SCOPES } from '@clutch/identity';
import { z } from 'zod';
import { pageParams } from '../http/pagination.js';
import { requireRecentMfa } from '../auth/step-up.js';
import type { ApiRouter } from '../http/route.js';
import { segmentId } from '../shared/schemas.js';
import { API_KEYS_LISTING } from './repository.js';
import { API_KEY_PAGE, type ApiKeysService } from './service.js';

export const createApiKeyBody = z.strictObject({
  tenantId: segmentId,
  name: z.string().trim().min(1).max(100),
  scopes: z.array(z.enum(API_KEY_SCOPES)).min(1).max(API_KEY_SCOPES.length),
  /** Must be in the future (422 API_KEY_EXPIRY_INVALID otherwise); live sessions end at this instant. */
  expiresAt: z.iso
    .datetime({ offset: true })
    .optional()
    .describe('When the key stops working (RFC 3339 date-time); omit for no expiry'),
});

const listQuery = z.object({ tenantId: segmentId.optional(), ...pageParams(API_KEYS_LISTING, API_KEY_PAGE) });

const apiKeyView = z.object({
  keyId: z.string(),
  tenantId: z.string(),
  name: z.string(),
  scopes: z.array(z.enum(API_KEY_SCOPES)),
  createdAt: z.string(),
  expiresAt: z.string().nullable(),
  lastUsedAt: z.string().nullable().describe('To the minute'),
  revokedAt: z.string().nullable(),
});

const keyIdParams = z.object({
  tenantId: segmentId,
  keyId: z.string().regex(/^[a-z0-9]{8,32}$/, { error: 'is not an API key id' }),
});

export function apiKeyRoutes(router: ApiRouter, keys: ApiKeysService): void {
  router.route({
    method: 'post',
    path: '/api-keys',
    tag: 'administration',
    summary:
      'Create a partner API key (a partner admin: for their own organisation, with scopes they hold); the token `ck_<id>_<secret>` is shown once (REST bearer token and MQTT password)',
    access: { permission: 'api-keys:write' },
    body: createApiKeyBody,
    response: {
      status: 201,
      description: 'The key and its token',
      schema: z.object({
        keyId: z.string(),
        tenantId: z.string(),
        name: z.string(),
        scopes: z.array(z.enum(API_KEY_SCOPES)),
        expiresAt: z.string().nullable(),
        token: z.string(),
      }),
    },
    errors: ['TENANT_NOT_FOUND', 'INVALID_SCOPE', 'API_KEY_EXPIRY_INVALID', 'PERMISSION_ESCALATION'],
    handle: async ({ scope, policy, body, ctx, principal }) => {
      requireRecentMfa(principal); // step-up (docs/mfa.md): the admin token passes, audited as api-key.create
      const key = await keys.create(scope, policy, {
        ...body,
        expiresAt: body.expiresAt === undefined ? undefined : new Date(body.expiresAt),
      });
      ctx.set('Cache-Control', 'no-store');
      return key;
    },
  });

  router.route({
    method: 'get',
    path: '/api-keys',
    tag: 'administration',
    summary:
      'List partner API keys (of one tenant with `tenantId`), a page at a time: scopes, creation, expiry, last use (to the minute), revocation; never the secret',
    access: { permission: 'api-keys:read' },
    query: listQuery,
    response: {
      status: 200,
      description: 'The keys, oldest first; `next` is the cursor of the next page (null on the last)',
      schema: z.object({ apiKeys: z.array(apiKeyView), next: z.string().nullable() }),
    },
    handle: ({ scope, query }) => keys.list(scope, query.tenantId, query),
  });

  router.route({
    method: 'delete',
    path: '/api-keys/:tenantId/:keyId',
    tag: 'administration',
    summary:
      'Revoke a partner API key (a partner admin: only keys of their own organisation): REST and MQTT stop accepting it, and live MQTT and Socket.io sessions that used it end',
    access: { permission: 'api-keys:write' },
    params: keyIdParams,
    response: { status: 204, description: 'Revoked' },
    errors: ['API_KEY_NOT_FOUND'],
    handle: async ({ scope, params }) => {
      await keys.revoke(scope, params.tenantId, params.keyId);
      return undefined;
    },
  });
}
