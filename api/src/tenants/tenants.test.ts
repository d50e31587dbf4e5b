import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  auditLog,
  backends,
  call,
  expectProblem,
  startFixture,
  TENANT,
  type Fixture,
  type Reply,
} from '../test-fixtures.js';

const ADMIN = 'admin-token-for-tests-0123456789';

describe.each(backends('api_tenants'))('tenant administration on %s', (_name, open) => {
  let fx: Fixture;
  const api = (method: string, path: string, options: Parameters<typeof call>[3] = {}): Promise<Reply> =>
    call(fx.api.url, method, path, options);

  beforeAll(async () => {
    fx = await startFixture({ requireAuth: true, adminToken: ADMIN, ...(open ? { open } : {}) });
  });

  afterAll(async () => {
    await fx?.close();
  });

  it('creates tenants idempotently and keys only for existing tenants', async () => {
    let res = await api('POST', '/api/tenants', { token: ADMIN, body: { id: 'initech', name: 'Initech' } });
    expect(res.status).toBe(201);
    expect(res.body).toEqual({ id: 'initech', name: 'Initech' });
    res = await api('POST', '/api/tenants', { token: ADMIN, body: { id: 'initech', name: 'Other name' } });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ id: 'initech', name: 'Initech' });
    expectProblem(
      await api('POST', '/api/api-keys', {
        token: ADMIN,
        body: { tenantId: 'nobody', name: 'k', scopes: ['status:read'] },
      }),
      404,
      'TENANT_NOT_FOUND',
    );
    expectProblem(
      await api('POST', '/api/api-keys', { token: ADMIN, body: { tenantId: TENANT, name: 'k', scopes: ['root'] } }),
      400,
      'VALIDATION_FAILED',
    );
    expectProblem(
      await api('POST', '/api/api-keys', { token: ADMIN, body: { tenantId: TENANT, name: 'k', scopes: [] } }),
      400,
      'VALIDATION_FAILED',
    );
  });

  it('records tenant creation in the audit log', async () => {
    expect(
      (await api('POST', '/api/tenants', { token: ADMIN, body: { id: 'umbrella', name: 'Umbrella' } })).status,
    ).toBe(201);
    expect((await auditLog(fx.db))[0]).toMatchObject({
      actor: 'admin',
      action: 'tenant.create',
      target: 'umbrella',
      tenant_id: 'umbrella',
      detail: { name: 'Umbrella' },
    });
  });
});
