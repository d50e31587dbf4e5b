import { createApiKey } from '@clutch/identity';
import { io as connect, type Socket } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { accessLabel } from '../auth/principal.js';
import {
  backends,
  call,
  expectProblem,
  OTHER_TENANT,
  startFixture,
  TENANT,
  VEHICLE_A,
  VEHICLE_B,
  VEHICLE_G,
  type Fixture,
  type Reply,
} from '../test-fixtures.js';

const ADMIN = 'admin-token-for-tests-0123456789';
/** Valid input for PUT /notifications/settings and POST /notifications/devices (see the MATRIX). */
const NOTIFICATION_SETTINGS = {
  timeZone: 'Europe/Berlin',
  quietHours: null,
  doNotDisturbUntil: null,
  phone: null,
  channels: { in_app: true, web_push: true, fcm: true, apns: true, email: true, sms: false },
  categories: {},
};
const FCM_DEVICE = { kind: 'fcm', token: 'matrix-fcm-token-0123456789' };

describe.each(backends('api_access'))('access control on %s', (_name, open) => {
  let fx: Fixture;
  /** acme key with every read scope, acme key with status:read only, globex key with everything. */
  let acmeRead: string;
  let acmeStatus: string;
  let globexAll: string;
  const api = (method: string, path: string, options: Parameters<typeof call>[3] = {}): Promise<Reply> =>
    call(fx.api.url, method, path, options);

  beforeAll(async () => {
    fx = await startFixture({ requireAuth: true, adminToken: ADMIN, ...(open ? { open } : {}) });
    acmeRead = (
      await createApiKey(fx.db, {
        tenantId: TENANT,
        name: 'garage',
        scopes: ['telemetry:read', 'location:read', 'dtc:read', 'status:read'],
      })
    ).token;
    acmeStatus = (await createApiKey(fx.db, { tenantId: TENANT, name: 'status only', scopes: ['status:read'] })).token;
    globexAll = (
      await createApiKey(fx.db, { tenantId: OTHER_TENANT, name: 'fleet', scopes: ['telemetry:read', 'commands:write'] })
    ).token;
  });

  afterAll(async () => {
    await fx?.close();
  });

  describe('authentication', () => {
    it('refuses a request without a token with 401 and a Bearer challenge', async () => {
      const res = await api('GET', '/api/vehicles');
      expectProblem(res, 401, 'UNAUTHENTICATED');
      expect(res.headers.get('www-authenticate')).toBe('Bearer realm="clutch"');
    });

    it('refuses unknown, malformed and non-bearer credentials', async () => {
      for (const authorization of [
        'Bearer nope',
        'Bearer ck_0123456789abcdef_wrongsecretwrongsecret',
        'Basic YWRtaW46YWRtaW4=',
        'Bearer',
      ]) {
        const res = await api('GET', '/api/vehicles', { headers: { authorization } });
        expectProblem(res, 401, 'UNAUTHENTICATED');
        expect(res.headers.get('www-authenticate')).toContain('error="invalid_token"');
      }
    });

    it('authenticates before validating, so anonymous callers learn nothing from input errors', async () => {
      expectProblem(await api('GET', '/api/vehicles/not-a-uuid'), 401, 'UNAUTHENTICATED');
    });

    it('keeps health, the signal catalogue and the OpenAPI document public', async () => {
      for (const path of ['/api/health', '/api/signals', '/api/openapi.json']) {
        expect((await api('GET', path)).status, path).toBe(200);
      }
      // Health shows its per-component details to administrators only.
      expect((await api('GET', '/api/health')).body).toEqual({ status: 'up' });
      expect((await api('GET', '/api/health', { token: ADMIN })).body.components).toBeDefined();
    });

    it('lets the admin token see every tenant', async () => {
      const res = await api('GET', '/api/vehicles', { token: ADMIN });
      expect(res.status).toBe(200);
      expect((res.body.vehicles as { id: string }[]).map((v) => v.id)).toEqual([VEHICLE_A, VEHICLE_G, VEHICLE_B]);
    });

    it('stops accepting a key once it is revoked', async () => {
      const created = await api('POST', '/api/api-keys', {
        token: ADMIN,
        body: { tenantId: TENANT, name: 'temp', scopes: ['status:read'] },
      });
      expect(created.status).toBe(201);
      const token = created.body.token as string;
      expect((await api('GET', '/api/vehicles', { token })).status).toBe(200);
      const revoked = await api('DELETE', `/api/api-keys/${TENANT}/${String(created.body.keyId)}`, { token: ADMIN });
      expect(revoked.status).toBe(204);
      expectProblem(await api('GET', '/api/vehicles', { token }), 401, 'UNAUTHENTICATED');
      expectProblem(
        await api('DELETE', `/api/api-keys/${TENANT}/${String(created.body.keyId)}`, { token: ADMIN }),
        404,
        'API_KEY_NOT_FOUND',
      );
    });
  });

  describe('tenant isolation (row-level security)', () => {
    it("a partner lists only its own tenant's vehicles", async () => {
      let res = await api('GET', '/api/vehicles', { token: acmeRead });
      expect((res.body.vehicles as { id: string }[]).map((v) => v.id)).toEqual([VEHICLE_A, VEHICLE_B]);
      res = await api('GET', '/api/vehicles', { token: globexAll });
      expect(res.body.vehicles).toEqual([
        expect.objectContaining({ id: VEHICLE_G, tenantId: OTHER_TENANT, online: true, deviceIds: ['gx-1'] }),
      ]);
    });

    it("another tenant's vehicle is 404 on every vehicle route, exactly like a missing one", async () => {
      for (const suffix of [
        '',
        '/latest',
        '/telemetry?signal=engine.rpm',
        '/telemetry?signal=engine.rpm&bucket=1m',
        '/data-quality',
      ]) {
        expectProblem(
          await api('GET', `/api/vehicles/${VEHICLE_G}${suffix}`, { token: acmeRead }),
          404,
          'VEHICLE_NOT_FOUND',
        );
        expectProblem(
          await api('GET', `/api/vehicles/${VEHICLE_A}${suffix}`, { token: globexAll }),
          404,
          'VEHICLE_NOT_FOUND',
        );
      }
      const own = await api('GET', `/api/vehicles/${VEHICLE_G}/telemetry?signal=engine.rpm&from=2000-01-01T00:00:00Z`, {
        token: globexAll,
      });
      expect(own.body.points).toEqual([{ time: new Date(fx.now.getTime() - 10_000).toISOString(), value: 4444 }]);
    });
  });

  describe('scopes', () => {
    it('a key without telemetry:read may list vehicles but not read telemetry (403)', async () => {
      expect((await api('GET', `/api/vehicles/${VEHICLE_A}`, { token: acmeStatus })).status).toBe(200);
      const res = await api('GET', `/api/vehicles/${VEHICLE_A}/latest`, { token: acmeStatus });
      expectProblem(res, 403, 'FORBIDDEN');
      expect(res.body.requiredScope).toBe('telemetry:read');
      expectProblem(
        await api('GET', `/api/vehicles/${VEHICLE_A}/data-quality`, { token: acmeStatus }),
        403,
        'FORBIDDEN',
      );
      expect((await api('GET', `/api/vehicles/${VEHICLE_A}/data-quality`, { token: acmeRead })).body).toEqual({
        vehicleId: VEHICLE_A,
        events: [],
        next: null,
        nextBefore: null,
      });
    });

    it('partners cannot reach admin routes', async () => {
      expectProblem(
        await api('POST', '/api/api-keys', {
          token: globexAll,
          body: { tenantId: OTHER_TENANT, name: 'x', scopes: ['status:read'] },
        }),
        403,
        'FORBIDDEN',
      );
      expectProblem(
        await api('POST', '/api/devices', { token: acmeRead, body: { tenantId: TENANT, deviceId: 'x' } }),
        403,
        'FORBIDDEN',
      );
      expectProblem(await api('GET', '/api/api-keys', { token: acmeRead }), 403, 'FORBIDDEN');
      expectProblem(await api('GET', `/api/api-keys?tenantId=${TENANT}`, { token: acmeRead }), 403, 'FORBIDDEN');
      expectProblem(
        await api('DELETE', `/api/api-keys/${TENANT}/0123456789abcdef`, { token: acmeRead }),
        403,
        'FORBIDDEN',
      );
      expectProblem(await api('GET', '/api/api-keys'), 401, 'UNAUTHENTICATED');
    });
  });

  describe('Socket.io handshake', () => {
    const sockets: Socket[] = [];
    afterAll(() => sockets.forEach((s) => s.disconnect()));

    const open = (token?: string): Promise<Socket> => {
      const socket = connect(fx.api.url, {
        transports: ['websocket'],
        reconnection: false,
        forceNew: true,
        auth: token ? { token } : {},
      });
      sockets.push(socket);
      return new Promise((resolve, reject) => {
        socket.once('connect', () => resolve(socket));
        socket.once('connect_error', reject);
      });
    };

    it("needs a token and confines partners to their tenant's vehicles", async () => {
      await expect(open()).rejects.toThrow(/unauthorized/);
      await expect(open('ck_0123456789abcdef_wrongsecretwrongsecret')).rejects.toThrow(/unauthorized/);
      // status:read guards presence events, so this key may connect (it receives presence only: realtime/scopes.test.ts).
      await expect(open(acmeStatus)).resolves.toBeDefined();
      const socket = await open(acmeRead);
      const subscribe = (vehicleId: string) =>
        socket.timeout(5000).emitWithAck('subscribe', { vehicleId }) as Promise<{
          ok: boolean;
          error?: { code: string };
        }>;
      expect(await subscribe(VEHICLE_A)).toEqual({ ok: true });
      expect(await subscribe(VEHICLE_G)).toMatchObject({ ok: false, error: { code: 'VEHICLE_NOT_FOUND' } });
      const admin = await open(ADMIN);
      expect(
        await (admin.timeout(5000).emitWithAck('subscribe', { vehicleId: VEHICLE_G }) as Promise<unknown>),
      ).toEqual({ ok: true });
    });
  });
});

/**
 * The access matrix: one row per route, with the rule it must keep. A route added without a row, or
 * a rule changed without changing its row, fails here; every row is then called as an anonymous
 * caller and as a partner key holding only `status:read` (the narrowest key there is).
 *
 * Access kinds: `public`, `admin`, `authenticated` (any credential), `scope X` / `permission X`
 * (the route's rule), and `user`: any signed-in **user**, while API keys and devices get 403
 * FORBIDDEN. The route declares `authenticated` and its service refuses every principal that is not
 * a user (a notification, a setting or a push device belongs to a person: docs/notifications.md);
 * the matrix checks both halves. A row may carry a valid body, so the key's refusal is not hidden
 * behind a 400 for the missing input.
 */
const MATRIX: [method: string, path: string, access: string, sample: string, body?: unknown][] = [
  ['get', '/health', 'public', '/health'],
  ['get', '/signals', 'public', '/signals'],
  ['get', '/openapi.json', 'public', '/openapi.json'],
  ['get', '/vehicles', 'permission vehicles:read', '/vehicles'],
  ['get', '/vehicles/:id', 'permission vehicles:read', `/vehicles/${VEHICLE_A}`],
  ['get', '/vehicles/:id/latest', 'scope telemetry:read', `/vehicles/${VEHICLE_A}/latest`],
  ['get', '/vehicles/:id/telemetry', 'scope telemetry:read', `/vehicles/${VEHICLE_A}/telemetry?signal=engine.rpm`],
  ['get', '/vehicles/:id/signals', 'scope telemetry:read', `/vehicles/${VEHICLE_A}/signals`],
  ['post', '/tenants', 'permission tenants:write', '/tenants'],
  ['post', '/devices', 'permission devices:write', '/devices'],
  [
    'post',
    '/devices/:tenantId/:deviceId/credentials',
    'permission devices:write',
    `/devices/${TENANT}/pi-a1/credentials`,
  ],
  [
    'delete',
    '/devices/:tenantId/:deviceId/credentials',
    'permission devices:write',
    `/devices/${TENANT}/pi-a1/credentials`,
  ],
  ['post', '/api-keys', 'permission api-keys:write', '/api-keys'],
  ['get', '/api-keys', 'permission api-keys:read', '/api-keys'],
  ['delete', '/api-keys/:tenantId/:keyId', 'permission api-keys:write', `/api-keys/${TENANT}/0123456789abcdef`],
  ['post', '/vehicles/:id/commands', 'scope commands:write', `/vehicles/${VEHICLE_A}/commands`],
  ['get', '/commands/:id', 'permission commands:write', `/commands/${VEHICLE_A}`],
  ['get', '/vehicles/:id/commands', 'scope commands:write', `/vehicles/${VEHICLE_A}/commands`],
  ['get', '/vehicles/:id/trips', 'scope telemetry:read', `/vehicles/${VEHICLE_A}/trips`],
  ['get', '/obd2/diagnostics/:vehicleId', 'scope dtc:read', `/obd2/diagnostics/${VEHICLE_A}`],
  ['get', '/vehicles/:id/alerts', 'scope telemetry:read', `/vehicles/${VEHICLE_A}/alerts`],
  ['get', '/vehicles/:id/data-quality', 'scope telemetry:read', `/vehicles/${VEHICLE_A}/data-quality`],
  ['get', '/vehicles/:id/health', 'scope telemetry:read', `/vehicles/${VEHICLE_A}/health`],
  ['post', '/vehicles/:id/imports', 'scope commands:write', `/vehicles/${VEHICLE_A}/imports`],
  ['get', '/vehicles/:id/imports', 'scope telemetry:read', `/vehicles/${VEHICLE_A}/imports`],
  ['get', '/vehicles/:id/imports/:importId', 'scope telemetry:read', `/vehicles/${VEHICLE_A}/imports/${VEHICLE_A}`],
  ['post', '/telematics/gps', 'permission location:write', '/telematics/gps'],
  ['get', '/telematics/history', 'scope location:read', `/telematics/history?vehicleId=${VEHICLE_A}`],
  ['get', '/telematics/analytics', 'scope telemetry:read', `/telematics/analytics?vehicleId=${VEHICLE_A}`],
  ['get', '/dead-letters', 'permission dead-letters:read', '/dead-letters'],
  ['post', '/dead-letters/:id/replay', 'permission dead-letters:replay', '/dead-letters/1/replay'],
  ['get', '/ai/models', 'permission ai:read', '/ai/models'],
  ['post', '/ai/models/deploy', 'permission ai:write', '/ai/models/deploy'],
  ['get', '/ai/models/:id/performance', 'permission ai:read', '/ai/models/m0001-00000000/performance'],
  ['post', '/ai/models/:id/retrain', 'permission ai:write', '/ai/models/m0001-00000000/retrain'],
  ['get', '/ai/jobs/:id', 'permission ai:write', '/ai/jobs/none'],
  ['post', '/ai/maintenance/predict', 'scope telemetry:read', '/ai/maintenance/predict'],
  ['post', '/ai/driving/analyze', 'scope telemetry:read', '/ai/driving/analyze'],
  ['get', '/security/reports', 'permission security-reports:read', '/security/reports'],
  ['post', '/auth/register', 'public', '/auth/register'],
  ['post', '/auth/login', 'public', '/auth/login'],
  ['post', '/auth/logout', 'public', '/auth/logout'],
  ['post', '/auth/verify-email', 'public', '/auth/verify-email'],
  ['post', '/auth/password/forgot', 'public', '/auth/password/forgot'],
  ['post', '/auth/password/reset', 'public', '/auth/password/reset'],
  ['post', '/auth/invitations/accept', 'public', '/auth/invitations/accept'],
  ['post', '/users/invitations', 'permission users:write', '/users/invitations'],
  ['get', '/me', 'authenticated', '/me'],
  ['post', '/sessions/refresh', 'public', '/sessions/refresh'],
  ['get', '/sessions', 'authenticated', '/sessions'],
  ['delete', '/sessions/:id', 'authenticated', `/sessions/${VEHICLE_A}`],
  ['post', '/sessions/logout-all', 'authenticated', '/sessions/logout-all'],
  ['get', '/.well-known/jwks.json', 'public', '/.well-known/jwks.json'],
  ['get', '/auth/mfa', 'authenticated', '/auth/mfa'],
  ['post', '/auth/mfa/setup', 'authenticated', '/auth/mfa/setup'],
  ['post', '/auth/mfa/challenge', 'public', '/auth/mfa/challenge'],
  ['post', '/auth/mfa/verify', 'public', '/auth/mfa/verify'],
  ['post', '/auth/mfa/disable', 'authenticated', '/auth/mfa/disable'],
  ['get', '/auth/mfa/backup-codes', 'authenticated', '/auth/mfa/backup-codes'],
  ['post', '/mobile/biometric/register', 'authenticated', '/mobile/biometric/register'],
  ['get', '/mobile/biometric/devices', 'authenticated', '/mobile/biometric/devices'],
  ['delete', '/mobile/biometric/devices/:id', 'authenticated', `/mobile/biometric/devices/${VEHICLE_A}`],
  ['post', '/mobile/biometric/challenge', 'public', '/mobile/biometric/challenge'],
  ['post', '/mobile/biometric/verify', 'public', '/mobile/biometric/verify'],
  ['get', '/permissions', 'authenticated', '/permissions'],
  ['get', '/roles', 'permission roles:read', '/roles'],
  ['post', '/roles', 'permission roles:write', '/roles'],
  ['put', '/roles/:id', 'permission roles:write', `/roles/${VEHICLE_A}`],
  ['delete', '/roles/:id', 'permission roles:write', `/roles/${VEHICLE_A}`],
  ['get', '/roles/:id/permissions', 'permission roles:read', `/roles/${VEHICLE_A}/permissions`],
  ['put', '/roles/:id/permissions', 'permission roles:write', `/roles/${VEHICLE_A}/permissions`],
  ['get', '/users/:id/roles', 'permission roles:read', `/users/${VEHICLE_A}/roles`],
  ['post', '/users/:id/roles', 'permission roles:grant', `/users/${VEHICLE_A}/roles`],
  ['delete', '/users/:id/roles', 'permission roles:grant', `/users/${VEHICLE_A}/roles?roleId=${VEHICLE_A}`],
  ['post', '/vehicles/:id/shares', 'permission vehicle-shares:write', `/vehicles/${VEHICLE_A}/shares`],
  ['get', '/vehicles/:id/shares', 'permission vehicle-shares:read', `/vehicles/${VEHICLE_A}/shares`],
  [
    'delete',
    '/vehicles/:id/shares/:shareId',
    'permission vehicle-shares:write',
    `/vehicles/${VEHICLE_A}/shares/${VEHICLE_B}`,
  ],
  // The marketplace (issue 15): its owners, shops and staff are in matrix.test.ts.
  ['post', '/obd2/error-codes', 'permission dtc:read', '/obd2/error-codes'],
  ['get', '/partners', 'authenticated', '/partners'],
  ['post', '/partners', 'permission partners:write', '/partners'],
  ['get', '/partners/:id', 'authenticated', `/partners/${VEHICLE_A}`],
  ['patch', '/partners/:id', 'permission partners:write', `/partners/${VEHICLE_A}`],
  ['put', '/partners/:id/opening-hours', 'permission partners:write', `/partners/${VEHICLE_A}/opening-hours`],
  ['put', '/partners/:id/special-days', 'permission partners:write', `/partners/${VEHICLE_A}/special-days`],
  ['get', '/partners/:id/services', 'authenticated', `/partners/${VEHICLE_A}/services`],
  ['post', '/partners/:id/services', 'permission partners:write', `/partners/${VEHICLE_A}/services`],
  [
    'patch',
    '/partners/:id/services/:serviceId',
    'permission partners:write',
    `/partners/${VEHICLE_A}/services/${VEHICLE_A}`,
  ],
  ['get', '/partners/:id/parts', 'authenticated', `/partners/${VEHICLE_A}/parts`],
  ['post', '/partners/:id/parts', 'permission partners:write', `/partners/${VEHICLE_A}/parts`],
  ['patch', '/partners/:id/parts/:partId', 'permission partners:write', `/partners/${VEHICLE_A}/parts/${VEHICLE_A}`],
  [
    'post',
    '/partners/:id/parts/:partId/stock',
    'permission partners:write',
    `/partners/${VEHICLE_A}/parts/${VEHICLE_A}/stock`,
  ],
  ['get', '/partners/:id/photos', 'authenticated', `/partners/${VEHICLE_A}/photos`],
  ['post', '/partners/:id/photos', 'permission partners:write', `/partners/${VEHICLE_A}/photos`],
  ['get', '/partners/:id/photos/:photoId', 'authenticated', `/partners/${VEHICLE_A}/photos/${VEHICLE_A}`],
  [
    'delete',
    '/partners/:id/photos/:photoId',
    'permission partners:write',
    `/partners/${VEHICLE_A}/photos/${VEHICLE_A}`,
  ],
  ['get', '/location/nearby-services', 'authenticated', '/location/nearby-services'],
  ['get', '/partners/:id/resources', 'permission partners:write', `/partners/${VEHICLE_A}/resources`],
  ['post', '/partners/:id/resources', 'permission partners:write', `/partners/${VEHICLE_A}/resources`],
  [
    'put',
    '/partners/:id/resources/:resourceId',
    'permission partners:write',
    `/partners/${VEHICLE_A}/resources/${VEHICLE_A}`,
  ],
  [
    'delete',
    '/partners/:id/resources/:resourceId',
    'permission partners:write',
    `/partners/${VEHICLE_A}/resources/${VEHICLE_A}`,
  ],
  ['get', '/partners/:id/booking-rules', 'authenticated', `/partners/${VEHICLE_A}/booking-rules`],
  ['put', '/partners/:id/booking-rules', 'permission partners:write', `/partners/${VEHICLE_A}/booking-rules`],
  ['get', '/partners/:id/availability', 'authenticated', `/partners/${VEHICLE_A}/availability`],
  ['post', '/bookings/holds', 'permission bookings:write', '/bookings/holds'],
  ['post', '/bookings', 'permission bookings:write', '/bookings'],
  ['get', '/bookings', 'permission bookings:read', '/bookings'],
  ['get', '/bookings/:id', 'permission bookings:read', `/bookings/${VEHICLE_A}`],
  ['post', '/bookings/:id/confirm', 'permission bookings:write', `/bookings/${VEHICLE_A}/confirm`],
  ['post', '/bookings/:id/reschedule', 'permission bookings:write', `/bookings/${VEHICLE_A}/reschedule`],
  ['post', '/bookings/:id/cancel', 'permission bookings:write', `/bookings/${VEHICLE_A}/cancel`],
  ['post', '/bookings/from-alert', 'permission bookings:write', '/bookings/from-alert'],
  ['get', '/repair-orders', 'permission repair-orders:read', '/repair-orders'],
  ['get', '/repair-orders/:id', 'permission repair-orders:read', `/repair-orders/${VEHICLE_A}`],
  [
    'post',
    '/repair-orders/:id/transitions',
    'permission repair-orders:write',
    `/repair-orders/${VEHICLE_A}/transitions`,
  ],
  ['post', '/repair-orders/:id/resume', 'permission bookings:write', `/repair-orders/${VEHICLE_A}/resume`],
  ['post', '/repair-orders/:id/check-in', 'permission repair-orders:write', `/repair-orders/${VEHICLE_A}/check-in`],
  ['get', '/repair-orders/:id/check-in', 'permission repair-orders:read', `/repair-orders/${VEHICLE_A}/check-in`],
  [
    'post',
    '/repair-orders/:id/check-in/photos',
    'permission repair-orders:write',
    `/repair-orders/${VEHICLE_A}/check-in/photos`,
  ],
  [
    'get',
    '/repair-orders/:id/check-in/photos/:photoId',
    'permission repair-orders:read',
    `/repair-orders/${VEHICLE_A}/check-in/photos/${VEHICLE_A}`,
  ],
  ['get', '/estimates', 'permission repair-orders:read', '/estimates'],
  ['post', '/estimates', 'permission estimates:write', '/estimates'],
  ['get', '/estimates/:id', 'permission repair-orders:read', `/estimates/${VEHICLE_A}`],
  ['put', '/estimates/:id', 'permission estimates:write', `/estimates/${VEHICLE_A}`],
  ['post', '/estimates/:id/send', 'permission estimates:write', `/estimates/${VEHICLE_A}/send`],
  ['post', '/estimates/:id/revise', 'permission estimates:write', `/estimates/${VEHICLE_A}/revise`],
  ['post', '/estimates/:id/decision', 'permission estimates:approve', `/estimates/${VEHICLE_A}/decision`],
  ['post', '/parts-orders', 'permission parts-orders:write', '/parts-orders'],
  ['get', '/parts-orders', 'permission parts-orders:read', '/parts-orders'],
  ['get', '/parts-orders/:id', 'permission parts-orders:read', `/parts-orders/${VEHICLE_A}`],
  ['post', '/parts-orders/:id/accept', 'permission parts-orders:write', `/parts-orders/${VEHICLE_A}/accept`],
  ['post', '/parts-orders/:id/ship', 'permission parts-orders:write', `/parts-orders/${VEHICLE_A}/ship`],
  ['post', '/parts-orders/:id/deliver', 'permission parts-orders:write', `/parts-orders/${VEHICLE_A}/deliver`],
  ['post', '/parts-orders/:id/cancel', 'permission parts-orders:write', `/parts-orders/${VEHICLE_A}/cancel`],
  ['get', '/repair-orders/:id/warranty', 'permission repair-orders:read', `/repair-orders/${VEHICLE_A}/warranty`],
  ['post', '/reviews', 'permission reviews:write', '/reviews'],
  ['post', '/reviews/:id/answer', 'permission reviews:answer', `/reviews/${VEHICLE_A}/answer`],
  ['get', '/partners/:id/reviews', 'authenticated', `/partners/${VEHICLE_A}/reviews`],
  // Money (issue 16): who may act on whose payment, plan, wallet, payout or alert is in matrix.test.ts.
  ['get', '/payments/config', 'authenticated', '/payments/config'],
  ['post', '/payments/process', 'permission payments:write', '/payments/process'],
  ['post', '/payments/refund', 'permission payments:refund', '/payments/refund'],
  ['post', '/payments/verify', 'permission payments:write', '/payments/verify'],
  ['get', '/payments/history', 'permission payments:read', '/payments/history'],
  ['get', '/payments/reconciliations', 'permission payments:refund', '/payments/reconciliations'],
  ['get', '/payments/disputes', 'permission payments:refund', '/payments/disputes'],
  ['get', '/payments/:id', 'permission payments:read', `/payments/${VEHICLE_A}`],
  ['post', '/payments/:id/capture', 'permission payments:write', `/payments/${VEHICLE_A}/capture`],
  ['post', '/payments/:id/cancel', 'permission payments:write', `/payments/${VEHICLE_A}/cancel`],
  ['post', '/payments/:id/confirm', 'permission payments:write', `/payments/${VEHICLE_A}/confirm`],
  ['post', '/payments/webhooks/:provider', 'public', '/payments/webhooks/stripe'],
  ['get', '/payments/:id/receipt.pdf', 'permission payments:read', `/payments/${VEHICLE_A}/receipt.pdf`],
  ['get', '/repair-orders/:id/invoice.pdf', 'permission repair-orders:read', `/repair-orders/${VEHICLE_A}/invoice.pdf`],
  ['post', '/payments/installments/quote', 'permission payments:write', '/payments/installments/quote'],
  ['post', '/payments/installments', 'permission payments:write', '/payments/installments'],
  ['get', '/payments/installments', 'permission payments:read', '/payments/installments'],
  ['get', '/payments/installments/:id', 'permission payments:read', `/payments/installments/${VEHICLE_A}`],
  [
    'post',
    '/payments/installments/:id/payoff',
    'permission payments:write',
    `/payments/installments/${VEHICLE_A}/payoff`,
  ],
  [
    'post',
    '/payments/installments/:id/write-off',
    'permission payments:refund',
    `/payments/installments/${VEHICLE_A}/write-off`,
  ],
  [
    'post',
    '/payments/installments/:id/reinstate',
    'permission payments:refund',
    `/payments/installments/${VEHICLE_A}/reinstate`,
  ],
  ['post', '/wallet/create', 'permission wallet:write', '/wallet/create'],
  ['get', '/wallet/balance', 'permission wallet:read', '/wallet/balance'],
  ['get', '/wallet/history', 'permission wallet:read', '/wallet/history?currency=EUR'],
  ['post', '/wallet/hold', 'permission wallet:write', '/wallet/hold'],
  ['post', '/wallet/release', 'permission wallet:write', '/wallet/release'],
  ['post', '/wallet/transfer', 'permission wallet:write', '/wallet/transfer'],
  ['post', '/commission/calculate', 'permission commissions:read', '/commission/calculate'],
  ['get', '/commission/history', 'permission commissions:read', '/commission/history'],
  ['get', '/commission/analytics', 'permission commissions:read', '/commission/analytics'],
  ['get', '/commission/tiers', 'permission commissions:read', '/commission/tiers'],
  ['put', '/commission/tiers', 'permission commissions:write', '/commission/tiers'],
  ['post', '/commission/payout', 'permission commissions:write', '/commission/payout'],
  ['get', '/commission/payouts', 'permission commissions:read', '/commission/payouts'],
  [
    'get',
    '/commission/payouts/:id/statement.pdf',
    'permission commissions:read',
    `/commission/payouts/${VEHICLE_A}/statement.pdf`,
  ],
  ['get', '/commission/payout-accounts', 'permission commissions:read', '/commission/payout-accounts'],
  ['post', '/commission/payout-accounts', 'permission payments:write', '/commission/payout-accounts'],
  ['post', '/security/fraud/analyze', 'permission fraud:read', '/security/fraud/analyze'],
  ['get', '/security/fraud/alerts', 'permission fraud:read', '/security/fraud/alerts'],
  ['post', '/security/fraud/alerts/:id/review', 'permission fraud:write', `/security/fraud/alerts/${VEHICLE_A}/review`],
  ['post', '/security/fraud/block', 'permission fraud:write', '/security/fraud/block'],
  ['get', '/security/fraud/blocks', 'permission fraud:read', '/security/fraud/blocks'],
  ['delete', '/security/fraud/blocks/:id', 'permission fraud:write', `/security/fraud/blocks/${VEHICLE_A}`],
  ['get', '/security/fraud/reports', 'permission fraud:read', '/security/fraud/reports'],
  // Chat (issue 17): the door asks chat:read (chat:write to open a room or upload), the service then
  // decides on the room (participants; chat:write to post; chat:moderate staff, audited). Who reaches
  // whose room, message and attachment is in matrix.test.ts.
  ['post', '/chat/rooms', 'permission chat:write', '/chat/rooms'],
  ['get', '/chat/rooms', 'permission chat:read', '/chat/rooms'],
  ['get', '/chat/rooms/:id', 'permission chat:read', `/chat/rooms/${VEHICLE_A}`],
  ['get', '/chat/rooms/:id/messages', 'permission chat:read', `/chat/rooms/${VEHICLE_A}/messages`],
  ['post', '/chat/rooms/:id/messages', 'permission chat:read', `/chat/rooms/${VEHICLE_A}/messages`],
  ['put', '/chat/messages/:id/read', 'permission chat:read', `/chat/messages/${VEHICLE_A}/read`],
  ['post', '/chat/messages/:id/report', 'permission chat:read', `/chat/messages/${VEHICLE_A}/report`],
  ['delete', '/chat/messages/:id', 'permission chat:read', `/chat/messages/${VEHICLE_A}`],
  ['get', '/chat/reports', 'permission chat:moderate', '/chat/reports'],
  ['post', '/chat/rooms/:id/attachments', 'permission chat:write', `/chat/rooms/${VEHICLE_A}/attachments`],
  ['post', '/chat/rooms/:id/leave', 'permission chat:read', `/chat/rooms/${VEHICLE_A}/leave`],
  ['get', '/chat/attachments/:id', 'permission chat:read', `/chat/attachments/${VEHICLE_A}`],
  // Notifications (issue 17): administrators' sends need notifications:send; the rest is a person's own.
  ['post', '/notifications/send', 'permission notifications:send', '/notifications/send'],
  ['post', '/notifications/schedule', 'permission notifications:send', '/notifications/schedule'],
  ['delete', '/notifications/schedule/:id', 'permission notifications:send', `/notifications/schedule/${VEHICLE_A}`],
  ['get', '/notifications/history', 'user', '/notifications/history'],
  ['get', '/notifications/inbox', 'user', '/notifications/inbox'],
  ['put', '/notifications/:id/read', 'user', `/notifications/${VEHICLE_A}/read`],
  ['post', '/notifications/read-all', 'user', '/notifications/read-all'],
  ['post', '/notifications/:id/opened', 'user', `/notifications/${VEHICLE_A}/opened`],
  ['get', '/notifications/settings', 'user', '/notifications/settings'],
  ['put', '/notifications/settings', 'user', '/notifications/settings', NOTIFICATION_SETTINGS],
  ['get', '/notifications/devices', 'user', '/notifications/devices'],
  ['post', '/notifications/devices', 'user', '/notifications/devices', FCM_DEVICE],
  ['delete', '/notifications/devices/:id', 'user', `/notifications/devices/${VEHICLE_A}`],
  // The VAPID public key is no secret and no person's: any credential (503 here: no Web Push configured).
  ['get', '/notifications/web-push/key', 'authenticated', '/notifications/web-push/key'],
];

/** A `user` row's label as the route declares it: the refusal of non-users is the service's. */
const declaredAs = (access: string): string => (access === 'user' ? 'authenticated' : access);

describe('access matrix (PGlite)', () => {
  let fx: Fixture;
  let statusOnly: string;

  beforeAll(async () => {
    fx = await startFixture({ requireAuth: true, adminToken: ADMIN });
    statusOnly = (await createApiKey(fx.db, { tenantId: TENANT, name: 'status only', scopes: ['status:read'] })).token;
  });

  afterAll(async () => {
    await fx?.close();
  });

  it("has exactly one row per route, with the route's access rule", async () => {
    const { createApi } = await import('../app.js');
    const routes = createApi({ db: fx.db, bus: fx.bus, health: async () => ({}) }).routes;
    const declared = routes.map((r) => `${r.method} ${r.path} ${accessLabel(r.access)}`).sort();
    expect(MATRIX.map(([method, path, access]) => `${method} ${path} ${declaredAs(access)}`).sort()).toEqual(declared);
  });

  it.each(MATRIX)(
    '%s %s (%s): anonymous callers get 401, a status:read key what the rule says',
    async (method, _path, access, sample, body) => {
      // A write needs a JSON body (or X-Requested-With) to get past the CSRF check to the route.
      const headers: Record<string, string> = method === 'get' ? {} : { 'x-requested-with': 'access-matrix' };
      const input = body === undefined ? {} : { body };
      const anonymous = await call(fx.api.url, method.toUpperCase(), `/api${sample}`, { headers, ...input });
      // Public routes let anonymous callers in: they may refuse the (empty) input, or a sign-in route
      // its missing credential (a refresh without a refresh token), but never ask for a bearer token.
      if (access === 'public') {
        expect(anonymous.status).not.toBe(403);
        expect(String(anonymous.body.detail ?? '')).not.toMatch(/needs a bearer token/);
      } else expectProblem(anonymous, 401, 'UNAUTHENTICATED');
      const partner = await call(fx.api.url, method.toUpperCase(), `/api${sample}`, {
        token: statusOnly,
        headers,
        ...input,
      });
      // The key holds status:read, and vehicles:read, dead-letters:read and ai:read as every key does
      // (identity's API_KEY_IMPLIED_PERMISSIONS).
      const keyHolds = [
        'scope status:read',
        'permission status:read',
        'permission vehicles:read',
        'permission dead-letters:read',
        'permission ai:read',
      ].includes(access);
      if (access === 'admin' || access === 'user' || (/^(scope|permission) /.test(access) && !keyHolds))
        expectProblem(partner, 403, 'FORBIDDEN');
      else if (access === 'public') expect(partner.status).not.toBe(403);
      else expect([401, 403]).not.toContain(partner.status);
    },
  );
});
