import type { CommandRequest, LiveEvent } from '@clutch/contracts';
import { openPostgres } from '@clutch/db';
import { createApiKey, verifyDeviceCredential } from '@clutch/identity';
import { io as connect, type Socket } from 'socket.io-client';
import { createTestDatabase } from '@clutch/test-support';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { pino } from 'pino';
import { startApiServer } from './server.js';
import type { CommandTarget } from './commands/service.js';
import { call, OTHER_TENANT, startFixture, TENANT, VEHICLE_A, VEHICLE_B, VEHICLE_G, type Fixture, type OpenDatabase, type Reply } from './test-fixtures.js';

const ADMIN = 'admin-token-for-tests-0123456789';

const backends: [string, OpenDatabase | undefined][] = [
  ['PGlite', undefined],
  ['PostgreSQL', async () => openPostgres(await createTestDatabase(inject('pgAdminUrl'), 'api_access'))],
];

function expectProblem(res: Reply, status: number, code: string): void {
  expect(res.status, JSON.stringify(res.body)).toBe(status);
  expect(res.type).toMatch(/^application\/problem\+json/);
  expect(res.body.code).toBe(code);
}

describe.each(backends)('access control on %s', (_name, open) => {
  let fx: Fixture;
  /** acme key with every read scope, acme key with status:read only, globex key with everything. */
  let acmeRead: string;
  let acmeStatus: string;
  let globexAll: string;
  const api = (method: string, path: string, options: Parameters<typeof call>[3] = {}): Promise<Reply> => call(fx.api.url, method, path, options);
  /** The downlink port as the platform implements it, recorded; `failNext` makes the next send throw. */
  const downlink = { sent: [] as { target: CommandTarget; request: CommandRequest }[], failNext: false };
  const replays: string[] = [];

  beforeAll(async () => {
    const commands = {
      async send(target: CommandTarget, request: CommandRequest): Promise<void> {
        if (downlink.failNext) {
          downlink.failNext = false;
          throw new Error('broker closed');
        }
        downlink.sent.push({ target, request });
      },
    };
    // The replay port as the platform implements it: here, a payload is "fixed" when it says so.
    const replayDeadLetter = async (letter: { id: string; topic: string; payload: Buffer }) => {
      replays.push(letter.id);
      return letter.payload.toString('utf8').includes('fixed') ? { stored: true } : { stored: false, reason: 'v must be 1' };
    };
    fx = await startFixture({ requireAuth: true, adminToken: ADMIN, commands, replayDeadLetter, ...(open ? { open } : {}) });
    acmeRead = (await createApiKey(fx.db, { tenantId: TENANT, name: 'garage', scopes: ['telemetry:read', 'location:read', 'dtc:read', 'status:read'] })).token;
    acmeStatus = (await createApiKey(fx.db, { tenantId: TENANT, name: 'status only', scopes: ['status:read'] })).token;
    globexAll = (await createApiKey(fx.db, { tenantId: OTHER_TENANT, name: 'fleet', scopes: ['telemetry:read', 'commands:write'] })).token;
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
      for (const authorization of ['Bearer nope', 'Bearer ck_0123456789abcdef_wrongsecretwrongsecret', 'Basic YWRtaW46YWRtaW4=', 'Bearer']) {
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
      const created = await api('POST', '/api/api-keys', { token: ADMIN, body: { tenantId: TENANT, name: 'temp', scopes: ['status:read'] } });
      expect(created.status).toBe(201);
      const token = created.body.token as string;
      expect((await api('GET', '/api/vehicles', { token })).status).toBe(200);
      const revoked = await api('DELETE', `/api/api-keys/${TENANT}/${String(created.body.keyId)}`, { token: ADMIN });
      expect(revoked.status).toBe(204);
      expectProblem(await api('GET', '/api/vehicles', { token }), 401, 'UNAUTHENTICATED');
      expectProblem(await api('DELETE', `/api/api-keys/${TENANT}/${String(created.body.keyId)}`, { token: ADMIN }), 404, 'API_KEY_NOT_FOUND');
    });
  });

  describe('tenant isolation (row-level security)', () => {
    it('a partner lists only its own tenant\'s vehicles', async () => {
      let res = await api('GET', '/api/vehicles', { token: acmeRead });
      expect((res.body.vehicles as { id: string }[]).map((v) => v.id)).toEqual([VEHICLE_A, VEHICLE_B]);
      res = await api('GET', '/api/vehicles', { token: globexAll });
      expect(res.body.vehicles).toEqual([expect.objectContaining({ id: VEHICLE_G, tenantId: OTHER_TENANT, online: true, deviceIds: ['gx-1'] })]);
    });

    it('another tenant\'s vehicle is 404 on every vehicle route, exactly like a missing one', async () => {
      for (const suffix of ['', '/latest', '/telemetry?signal=engine.rpm', '/telemetry?signal=engine.rpm&bucket=1m', '/data-quality']) {
        expectProblem(await api('GET', `/api/vehicles/${VEHICLE_G}${suffix}`, { token: acmeRead }), 404, 'VEHICLE_NOT_FOUND');
        expectProblem(await api('GET', `/api/vehicles/${VEHICLE_A}${suffix}`, { token: globexAll }), 404, 'VEHICLE_NOT_FOUND');
      }
      const own = await api('GET', `/api/vehicles/${VEHICLE_G}/telemetry?signal=engine.rpm&from=2000-01-01T00:00:00Z`, { token: globexAll });
      expect(own.body.points).toEqual([{ time: new Date(fx.now.getTime() - 10_000).toISOString(), value: 4444 }]);
    });
  });

  describe('scopes', () => {
    it('a key without telemetry:read may list vehicles but not read telemetry (403)', async () => {
      expect((await api('GET', `/api/vehicles/${VEHICLE_A}`, { token: acmeStatus })).status).toBe(200);
      const res = await api('GET', `/api/vehicles/${VEHICLE_A}/latest`, { token: acmeStatus });
      expectProblem(res, 403, 'FORBIDDEN');
      expect(res.body.requiredScope).toBe('telemetry:read');
      expectProblem(await api('GET', `/api/vehicles/${VEHICLE_A}/data-quality`, { token: acmeStatus }), 403, 'FORBIDDEN');
      expect((await api('GET', `/api/vehicles/${VEHICLE_A}/data-quality`, { token: acmeRead })).body).toEqual({ vehicleId: VEHICLE_A, events: [], nextBefore: null });
    });

    it('partners cannot reach admin routes', async () => {
      expectProblem(await api('POST', '/api/api-keys', { token: globexAll, body: { tenantId: OTHER_TENANT, name: 'x', scopes: ['status:read'] } }), 403, 'FORBIDDEN');
      expectProblem(await api('POST', '/api/devices', { token: acmeRead, body: { tenantId: TENANT, deviceId: 'x' } }), 403, 'FORBIDDEN');
      expectProblem(await api('GET', '/api/api-keys', { token: acmeRead }), 403, 'FORBIDDEN');
      expectProblem(await api('GET', `/api/api-keys?tenantId=${TENANT}`, { token: acmeRead }), 403, 'FORBIDDEN');
      expectProblem(await api('DELETE', `/api/api-keys/${TENANT}/0123456789abcdef`, { token: acmeRead }), 403, 'FORBIDDEN');
      expectProblem(await api('GET', '/api/api-keys'), 401, 'UNAUTHENTICATED');
    });
  });

  describe('devices', () => {
    it('provisions a device on a new vehicle and shows the MQTT login once', async () => {
      const res = await api('POST', '/api/devices', {
        token: ADMIN,
        body: { tenantId: TENANT, deviceId: 'pi-new', vehicle: { name: 'Red estate', vin: '1HGCM82633A004353', make: 'Skoda', modelYear: 2020 } },
      });
      expect(res.status, JSON.stringify(res.body)).toBe(201);
      expect(res.headers.get('cache-control')).toBe('no-store');
      const login = res.body.login as { username: string; password: string };
      expect(login.username).toBe(`${TENANT}/pi-new`);
      expect(login.password.length).toBeGreaterThanOrEqual(20);
      expect(res.headers.get('location')).toBe(`/api/vehicles/${String(res.body.vehicleId)}`);
      expect(await verifyDeviceCredential(fx.db, TENANT, 'pi-new', login.password)).toBe(true);
      const vehicle = await api('GET', `/api/vehicles/${String(res.body.vehicleId)}`, { token: acmeRead });
      expect(vehicle.body).toMatchObject({ name: 'Red estate', make: 'Skoda', deviceIds: ['pi-new'], online: false, lastSeenAt: null });
    });

    it('provisions onto an existing vehicle, and refuses duplicates, unknown tenants and other tenants\' vehicles', async () => {
      const res = await api('POST', '/api/devices', { token: ADMIN, body: { tenantId: TENANT, deviceId: 'pi-b1', vehicleId: VEHICLE_B } });
      expect(res.status).toBe(201);
      expect(res.body.vehicleId).toBe(VEHICLE_B);
      expectProblem(await api('POST', '/api/devices', { token: ADMIN, body: { tenantId: TENANT, deviceId: 'pi-b1', vehicleId: VEHICLE_B } }), 409, 'DEVICE_EXISTS');
      expectProblem(await api('POST', '/api/devices', { token: ADMIN, body: { tenantId: 'nobody', deviceId: 'pi-x' } }), 404, 'TENANT_NOT_FOUND');
      expectProblem(await api('POST', '/api/devices', { token: ADMIN, body: { tenantId: TENANT, deviceId: 'pi-x', vehicleId: VEHICLE_G } }), 404, 'VEHICLE_NOT_FOUND');
    });

    it('a retried POST with the same Idempotency-Key provisions once and replays the first answer', async () => {
      const key = { 'idempotency-key': '"provision-pi-idem-1"' };
      const body = { tenantId: TENANT, deviceId: 'pi-idem', vehicleId: VEHICLE_B };
      const first = await api('POST', '/api/devices', { token: ADMIN, body, headers: key });
      expect(first.status).toBe(201);
      const again = await api('POST', '/api/devices', { token: ADMIN, body, headers: key });
      expect(again.status).toBe(201);
      expect(again.headers.get('idempotent-replayed')).toBe('true');
      // The same password: the device was provisioned once, not rotated by the retry.
      expect(again.body).toEqual(first.body);
      expect(await verifyDeviceCredential(fx.db, TENANT, 'pi-idem', (first.body.login as { password: string }).password)).toBe(true);
      expectProblem(await api('POST', '/api/devices', { token: ADMIN, body: { ...body, deviceId: 'pi-idem-2' }, headers: key }), 422, 'IDEMPOTENCY_KEY_REUSED');
      // Without the key, the duplicate is the ordinary conflict.
      expectProblem(await api('POST', '/api/devices', { token: ADMIN, body }), 409, 'DEVICE_EXISTS');
    });

    it('validates the body with pointers', async () => {
      const cases: [unknown, string][] = [
        [{ tenantId: TENANT, deviceId: 'has/slash' }, '/body/deviceId'],
        [{ tenantId: TENANT, deviceId: 'ok', vehicleId: VEHICLE_B, vehicle: { name: 'x' } }, '/body/vehicle'],
        [{ tenantId: TENANT, deviceId: 'ok', vehicle: { name: 'x', vin: 'IIIIIIIIIIIIIIIII' } }, '/body/vehicle/vin'],
        [{ tenantId: TENANT, deviceId: 'ok', extra: 1 }, '/body'],
      ];
      for (const [body, pointer] of cases) {
        const res = await api('POST', '/api/devices', { token: ADMIN, body });
        expectProblem(res, 400, 'VALIDATION_FAILED');
        expect((res.body.errors as { pointer: string }[])[0]?.pointer, JSON.stringify(body)).toBe(pointer);
      }
      const res = await fetch(`${fx.api.url}/api/devices`, { method: 'POST', headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' }, body: '{"tenantId":' });
      expect(res.status).toBe(400);
      expect(((await res.json()) as { code: string }).code).toBe('BAD_REQUEST');
    });

    it('rotates and revokes credentials, ending live sessions through the bus', async () => {
      const events: LiveEvent[] = [];
      const stop = fx.bus.subscribe((e) => events.push(e));
      try {
        const created = await api('POST', '/api/devices', { token: ADMIN, body: { tenantId: TENANT, deviceId: 'pi-rot', vehicleId: VEHICLE_A } });
        const first = (created.body.login as { password: string }).password;
        const rotated = await api('POST', `/api/devices/${TENANT}/pi-rot/credentials`, { token: ADMIN });
        expect(rotated.status).toBe(200);
        const second = (rotated.body.login as { password: string }).password;
        expect(second).not.toBe(first);
        expect(await verifyDeviceCredential(fx.db, TENANT, 'pi-rot', first)).toBe(false);
        expect(await verifyDeviceCredential(fx.db, TENANT, 'pi-rot', second)).toBe(true);
        const revoked = await api('DELETE', `/api/devices/${TENANT}/pi-rot/credentials`, { token: ADMIN });
        expect(revoked.status).toBe(204);
        expect(await verifyDeviceCredential(fx.db, TENANT, 'pi-rot', second)).toBe(false);
        const ended = { type: 'device-revoked', tenantId: TENANT, vehicleId: VEHICLE_A, deviceId: 'pi-rot' };
        expect(events.filter((e) => e.type === 'device-revoked')).toEqual([ended, ended]);
        expect((await api('DELETE', `/api/devices/${TENANT}/pi-rot/credentials`, { token: ADMIN })).status).toBe(204);
      } finally {
        stop();
      }
      expectProblem(await api('POST', `/api/devices/${TENANT}/ghost/credentials`, { token: ADMIN }), 404, 'DEVICE_NOT_FOUND');
      expectProblem(await api('DELETE', `/api/devices/${OTHER_TENANT}/pi-a1/credentials`, { token: ADMIN }), 404, 'DEVICE_NOT_FOUND');
    });

    it('creates tenants idempotently and keys only for existing tenants', async () => {
      let res = await api('POST', '/api/tenants', { token: ADMIN, body: { id: 'initech', name: 'Initech' } });
      expect(res.status).toBe(201);
      expect(res.body).toEqual({ id: 'initech', name: 'Initech' });
      res = await api('POST', '/api/tenants', { token: ADMIN, body: { id: 'initech', name: 'Other name' } });
      expect(res.status).toBe(200);
      expect(res.body).toEqual({ id: 'initech', name: 'Initech' });
      expectProblem(await api('POST', '/api/api-keys', { token: ADMIN, body: { tenantId: 'nobody', name: 'k', scopes: ['status:read'] } }), 404, 'TENANT_NOT_FOUND');
      expectProblem(await api('POST', '/api/api-keys', { token: ADMIN, body: { tenantId: TENANT, name: 'k', scopes: ['root'] } }), 400, 'VALIDATION_FAILED');
      expectProblem(await api('POST', '/api/api-keys', { token: ADMIN, body: { tenantId: TENANT, name: 'k', scopes: [] } }), 400, 'VALIDATION_FAILED');
    });
  });

  describe('Socket.io handshake', () => {
    const sockets: Socket[] = [];
    afterAll(() => sockets.forEach((s) => s.disconnect()));

    const open = (token?: string): Promise<Socket> => {
      const socket = connect(fx.api.url, { transports: ['websocket'], reconnection: false, forceNew: true, auth: token ? { token } : {} });
      sockets.push(socket);
      return new Promise((resolve, reject) => {
        socket.once('connect', () => resolve(socket));
        socket.once('connect_error', reject);
      });
    };

    it('needs a token and confines partners to their tenant\'s vehicles', async () => {
      await expect(open()).rejects.toThrow(/unauthorized/);
      await expect(open('ck_0123456789abcdef_wrongsecretwrongsecret')).rejects.toThrow(/unauthorized/);
      // status:read guards presence events, so this key may connect (it receives presence only: realtime/scopes.test.ts).
      await expect(open(acmeStatus)).resolves.toBeDefined();
      const socket = await open(acmeRead);
      const subscribe = (vehicleId: string) => socket.timeout(5000).emitWithAck('subscribe', { vehicleId }) as Promise<{ ok: boolean; error?: { code: string } }>;
      expect(await subscribe(VEHICLE_A)).toEqual({ ok: true });
      expect(await subscribe(VEHICLE_G)).toMatchObject({ ok: false, error: { code: 'VEHICLE_NOT_FOUND' } });
      const admin = await open(ADMIN);
      expect(await (admin.timeout(5000).emitWithAck('subscribe', { vehicleId: VEHICLE_G }) as Promise<unknown>)).toEqual({ ok: true });
    });
  });

  describe('commands', () => {
    it('sends a command to the vehicle\'s freshest device and answers 202 with its status', async () => {
      const before = downlink.sent.length;
      const res = await api('POST', `/api/vehicles/${VEHICLE_A}/commands`, { token: ADMIN, body: { type: 'read_dtcs', timeoutMs: 5000 } });
      expect(res.status, JSON.stringify(res.body)).toBe(202);
      expect(res.body).toMatchObject({ vehicleId: VEHICLE_A, deviceId: 'pi-a1', type: 'read_dtcs', params: {}, status: 'sent', result: null, completedAt: null });
      const id = res.body.id as string;
      expect(res.headers.get('location')).toBe(`/api/commands/${id}`);
      const expiresAt = Date.parse(res.body.expiresAt as string);
      expect(expiresAt - Date.parse(res.body.createdAt as string)).toBe(5000);
      expect(downlink.sent.slice(before)).toEqual([
        { target: { tenantId: TENANT, deviceId: 'pi-a1' }, request: { v: 1, id, type: 'read_dtcs', params: {}, expiresAt } },
      ]);

      // The agent's answer arrives through ingest, which completes the row (as ingest's store processor does).
      await fx.db.query(`UPDATE device_commands SET status = 'succeeded', result = '{"codes":["P0301"]}', completed_at = now() WHERE id = $1`, [id]);
      const done = await api('GET', `/api/commands/${id}`, { token: ADMIN });
      expect(done.status).toBe(200);
      expect(done.body).toMatchObject({ id, status: 'succeeded', result: { codes: ['P0301'] }, error: null });
    });

    it('reads an unanswered command past its expiry as timed_out, and stores that', async () => {
      const events: LiveEvent[] = [];
      const stop = fx.bus.subscribe((e) => events.push(e));
      try {
        const res = await api('POST', `/api/vehicles/${VEHICLE_G}/commands`, { token: globexAll, body: { type: 'set_poll_plan', params: { 'engine.rpm': 2 } } });
        expect(res.status).toBe(202);
        const id = res.body.id as string;
        expect(Date.parse(res.body.expiresAt as string) - Date.parse(res.body.createdAt as string)).toBe(30_000);
        expect((await api('GET', `/api/commands/${id}`, { token: globexAll })).body.status).toBe('sent');
        await fx.db.query(`UPDATE device_commands SET expires_at = now() - interval '1 second' WHERE id = $1`, [id]);
        const expired = await api('GET', `/api/commands/${id}`, { token: globexAll });
        expect(expired.body).toMatchObject({ status: 'timed_out', completedAt: expired.body.expiresAt });
        const { rows } = await fx.db.query<{ status: string }>('SELECT status FROM device_commands WHERE id = $1', [id]);
        expect(rows[0]?.status).toBe('timed_out');
        expect(events).toContainEqual({ type: 'command', tenantId: OTHER_TENANT, vehicleId: VEHICLE_G, commandId: id, status: 'timed_out' });
        const list = await api('GET', `/api/vehicles/${VEHICLE_G}/commands`, { token: globexAll });
        expect((list.body.commands as { id: string }[])[0]?.id).toBe(id);
        // Other tenants see neither the command nor the vehicle's list.
        expectProblem(await api('GET', `/api/commands/${id}`, { token: acmeRead }), 403, 'FORBIDDEN');
        const acmeCommands = (await createApiKey(fx.db, { tenantId: TENANT, name: 'cmd', scopes: ['commands:write'] })).token;
        expectProblem(await api('GET', `/api/commands/${id}`, { token: acmeCommands }), 404, 'COMMAND_NOT_FOUND');
        expectProblem(await api('GET', `/api/vehicles/${VEHICLE_G}/commands`, { token: acmeCommands }), 404, 'VEHICLE_NOT_FOUND');
        expectProblem(await api('POST', `/api/vehicles/${VEHICLE_G}/commands`, { token: acmeCommands, body: { type: 'reboot' } }), 404, 'VEHICLE_NOT_FOUND');
      } finally {
        stop();
      }
    });

    it('refuses vehicles without a device (409), bad input (400) and marks undeliverable commands failed (502)', async () => {
      const parked = 'aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee';
      await fx.db.query(`INSERT INTO vehicles (id, tenant_id, name) VALUES ($1, $2, 'No device yet')`, [parked, TENANT]);
      expectProblem(await api('POST', `/api/vehicles/${parked}/commands`, { token: ADMIN, body: { type: 'reboot' } }), 409, 'NO_DEVICE');
      for (const body of [{ type: 'self_destruct' }, { type: 'reboot', timeoutMs: 999 }, { type: 'reboot', timeoutMs: 600_001 }, { type: 'reboot', params: [] }]) {
        expectProblem(await api('POST', `/api/vehicles/${VEHICLE_A}/commands`, { token: ADMIN, body }), 400, 'VALIDATION_FAILED');
      }
      expectProblem(await api('GET', '/api/commands/not-a-uuid', { token: ADMIN }), 400, 'VALIDATION_FAILED');
      expectProblem(await api('GET', '/api/commands/99999999-9999-4999-8999-999999999999', { token: ADMIN }), 404, 'COMMAND_NOT_FOUND');
      downlink.failNext = true;
      const failed = await api('POST', `/api/vehicles/${VEHICLE_A}/commands`, { token: ADMIN, body: { type: 'reboot' } });
      expectProblem(failed, 502, 'COMMAND_DELIVERY_FAILED');
      const stored = await api('GET', `/api/commands/${String(failed.body.commandId)}`, { token: ADMIN });
      expect(stored.body).toMatchObject({ status: 'failed', error: 'delivery to the broker failed' });
    });

    it('answers 503 when the server has no downlink', async () => {
      const bare = await startApiServer({ db: fx.db, bus: fx.bus, health: async () => ({}), logger: pino({ level: 'silent' }), port: 0 });
      try {
        const res = await call(bare.url, 'POST', `/api/vehicles/${VEHICLE_A}/commands`, { body: { type: 'reboot' } });
        expectProblem(res, 503, 'COMMANDS_UNAVAILABLE');
      } finally {
        await bare.close();
      }
    });
  });

  describe('dead letters', () => {
    const ids: Record<string, string> = {};

    beforeAll(async () => {
      const letters: [string, string | null, string, string, Uint8Array][] = [
        ['acmeText', TENANT, `clutch/v1/${TENANT}/pi-a1/telemetry`, 'schema: v must be 1', new TextEncoder().encode('{"v":9,"samples":[]}')],
        ['acmeBinary', TENANT, `clutch/v1/${TENANT}/pi-a1/telemetry`, 'not JSON', Uint8Array.from([0xa1, 0x61, 0x76, 0x09, 0x00])],
        ['acmeFixed', TENANT, `clutch/v1/${TENANT}/pi-a1/dtc`, 'unknown vehicle', new TextEncoder().encode('{"fixed":true}')],
        ['globex', OTHER_TENANT, `clutch/v1/${OTHER_TENANT}/gx-1/telemetry`, 'too many samples', new TextEncoder().encode('x'.repeat(3000))],
        ['orphan', null, 'clutch/v1/ghost', 'unparseable topic', new TextEncoder().encode('{}')],
      ];
      for (const [name, tenant, topic, reason, payload] of letters) {
        const { rows } = await fx.db.query<{ id: string }>(
          'INSERT INTO dead_letters (tenant_id, device_id, topic, reason, payload) VALUES ($1, $2, $3, $4, $5) RETURNING id::text AS id',
          [tenant, tenant ? topic.split('/')[3] : null, topic, reason, payload],
        );
        ids[name] = rows[0]!.id;
      }
    });

    it('lists every letter for the admin, newest first, with text or base64 previews', async () => {
      const res = await api('GET', '/api/dead-letters', { token: ADMIN });
      expect(res.status).toBe(200);
      const letters = res.body.deadLetters as Record<string, unknown>[];
      expect(letters.map((l) => l.id)).toEqual([ids.orphan, ids.globex, ids.acmeFixed, ids.acmeBinary, ids.acmeText]);
      const byId = Object.fromEntries(letters.map((l) => [l.id, l]));
      expect(byId[ids.acmeText!]).toMatchObject({
        tenantId: TENANT, deviceId: 'pi-a1', topic: `clutch/v1/${TENANT}/pi-a1/telemetry`, reason: 'schema: v must be 1', sizeBytes: 20,
        preview: { encoding: 'utf8', text: '{"v":9,"samples":[]}', truncated: false }, replayedAt: null, replayAttempts: 0,
      });
      expect(byId[ids.acmeBinary!]).toMatchObject({ preview: { encoding: 'base64', data: 'oWF2CQA=', truncated: false } });
      expect(byId[ids.globex!]).toMatchObject({ sizeBytes: 3000, preview: { encoding: 'utf8', truncated: true } });
      expect(((byId[ids.globex!]!.preview as { text: string }).text).length).toBe(512);
      expect(res.body.nextBefore).toBeNull();
    });

    it('pages with limit and before, and filters by tenant', async () => {
      const page = await api('GET', '/api/dead-letters?limit=2', { token: ADMIN });
      expect((page.body.deadLetters as { id: string }[]).map((l) => l.id)).toEqual([ids.orphan, ids.globex]);
      expect(page.body.nextBefore).toBe(ids.globex);
      const next = await api('GET', `/api/dead-letters?limit=2&before=${String(page.body.nextBefore)}`, { token: ADMIN });
      expect((next.body.deadLetters as { id: string }[]).map((l) => l.id)).toEqual([ids.acmeFixed, ids.acmeBinary]);
      const globex = await api('GET', `/api/dead-letters?tenantId=${OTHER_TENANT}`, { token: ADMIN });
      expect((globex.body.deadLetters as { id: string }[]).map((l) => l.id)).toEqual([ids.globex]);
      expectProblem(await api('GET', '/api/dead-letters?before=abc', { token: ADMIN }), 400, 'VALIDATION_FAILED');
    });

    it('shows a partner its own tenant\'s letters only', async () => {
      const res = await api('GET', '/api/dead-letters', { token: acmeStatus });
      expect((res.body.deadLetters as { id: string }[]).map((l) => l.id)).toEqual([ids.acmeFixed, ids.acmeBinary, ids.acmeText]);
      expect((await api('GET', `/api/dead-letters?tenantId=${TENANT}`, { token: acmeStatus })).status).toBe(200);
      expectProblem(await api('GET', `/api/dead-letters?tenantId=${OTHER_TENANT}`, { token: acmeStatus }), 403, 'FORBIDDEN');
    });

    it('replays through the injected ingest: records refusals, marks success, refuses a second replay', async () => {
      let res = await api('POST', `/api/dead-letters/${ids.acmeText}/replay`, { token: ADMIN });
      expect(res.status).toBe(200);
      expect(res.body).toEqual({ id: ids.acmeText, stored: false, reason: 'v must be 1', replayedAt: null, replayAttempts: 1 });
      res = await api('POST', `/api/dead-letters/${ids.acmeFixed}/replay`, { token: ADMIN });
      expect(res.body).toMatchObject({ id: ids.acmeFixed, stored: true, reason: null, replayAttempts: 1 });
      expect(typeof res.body.replayedAt).toBe('string');
      expect(replays).toEqual([ids.acmeText, ids.acmeFixed]);
      expectProblem(await api('POST', `/api/dead-letters/${ids.acmeFixed}/replay`, { token: ADMIN }), 409, 'DEAD_LETTER_REPLAYED');
      expectProblem(await api('POST', '/api/dead-letters/999999/replay', { token: ADMIN }), 404, 'DEAD_LETTER_NOT_FOUND');
      expectProblem(await api('POST', `/api/dead-letters/${ids.acmeText}/replay`, { token: acmeRead }), 403, 'FORBIDDEN');
      const listed = await api('GET', `/api/dead-letters?tenantId=${TENANT}`, { token: ADMIN });
      const text = (listed.body.deadLetters as Record<string, unknown>[]).find((l) => l.id === ids.acmeText);
      expect(text).toMatchObject({ replayAttempts: 1, lastReplayError: 'v must be 1', replayedAt: null });
    });

    it('answers 503 when the server has no ingest to replay into', async () => {
      const bare = await startApiServer({ db: fx.db, bus: fx.bus, health: async () => ({}), logger: pino({ level: 'silent' }), port: 0 });
      try {
        const res = await call(bare.url, 'POST', `/api/dead-letters/${ids.acmeText}/replay`, { headers: { 'x-requested-with': 'test' } });
        expectProblem(res, 503, 'REPLAY_UNAVAILABLE');
      } finally {
        await bare.close();
      }
    });
  });
});
