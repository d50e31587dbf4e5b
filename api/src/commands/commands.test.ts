import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CommandRequest, LiveEvent } from '@clutch/contracts';
import { createApiKey } from '@clutch/identity';
import { pino } from 'pino';
import type { CommandTarget } from './service.js';
import { startApiServer } from '../server.js';
import {
  backends,
  call,
  expectProblem,
  OTHER_TENANT,
  startFixture,
  TENANT,
  VEHICLE_A,
  VEHICLE_G,
  type Fixture,
  type Reply,
} from '../test-fixtures.js';

// The commands domain's HTTP tests. They belong in commands/, whose files are being changed by their
// owner right now; they move there with the next change to that folder.

const ADMIN = 'admin-token-for-tests-0123456789';

describe.each(backends('api_commands'))('commands on %s', (_name, open) => {
  let fx: Fixture;
  let acmeRead: string;
  let globexAll: string;
  const api = (method: string, path: string, options: Parameters<typeof call>[3] = {}): Promise<Reply> =>
    call(fx.api.url, method, path, options);
  /** The downlink port as the platform implements it, recorded; `failNext` makes the next send throw. */
  const downlink = { sent: [] as { target: CommandTarget; request: CommandRequest }[], failNext: false };

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
    fx = await startFixture({ requireAuth: true, adminToken: ADMIN, commands, ...(open ? { open } : {}) });
    acmeRead = (
      await createApiKey(fx.db, {
        tenantId: TENANT,
        name: 'garage',
        scopes: ['telemetry:read', 'location:read', 'dtc:read', 'status:read'],
      })
    ).token;
    globexAll = (
      await createApiKey(fx.db, { tenantId: OTHER_TENANT, name: 'fleet', scopes: ['telemetry:read', 'commands:write'] })
    ).token;
  });

  afterAll(async () => {
    await fx?.close();
  });

  describe('commands', () => {
    it("sends a command to the vehicle's freshest device and answers 202 with its status", async () => {
      const before = downlink.sent.length;
      const res = await api('POST', `/api/vehicles/${VEHICLE_A}/commands`, {
        token: ADMIN,
        body: { type: 'read_dtcs', timeoutMs: 5000 },
      });
      expect(res.status, JSON.stringify(res.body)).toBe(202);
      expect(res.body).toMatchObject({
        vehicleId: VEHICLE_A,
        deviceId: 'pi-a1',
        type: 'read_dtcs',
        params: {},
        status: 'sent',
        result: null,
        completedAt: null,
      });
      const id = res.body.id as string;
      expect(res.headers.get('location')).toBe(`/api/commands/${id}`);
      const expiresAt = Date.parse(res.body.expiresAt as string);
      expect(expiresAt - Date.parse(res.body.createdAt as string)).toBe(5000);
      expect(downlink.sent.slice(before)).toEqual([
        {
          target: { tenantId: TENANT, deviceId: 'pi-a1' },
          request: { v: 1, id, type: 'read_dtcs', params: {}, expiresAt },
        },
      ]);

      // The agent's answer arrives through ingest, which completes the row (as ingest's store processor does).
      await fx.db.query(
        `UPDATE device_commands SET status = 'succeeded', result = '{"codes":["P0301"]}', completed_at = now() WHERE id = $1`,
        [id],
      );
      const done = await api('GET', `/api/commands/${id}`, { token: ADMIN });
      expect(done.status).toBe(200);
      expect(done.body).toMatchObject({ id, status: 'succeeded', result: { codes: ['P0301'] }, error: null });
    });

    it('reads an unanswered command past its expiry as timed_out, and stores that', async () => {
      const events: LiveEvent[] = [];
      const stop = fx.bus.subscribe((e) => events.push(e));
      try {
        const res = await api('POST', `/api/vehicles/${VEHICLE_G}/commands`, {
          token: globexAll,
          body: { type: 'set_poll_plan', params: { 'engine.rpm': 2 } },
        });
        expect(res.status).toBe(202);
        const id = res.body.id as string;
        expect(Date.parse(res.body.expiresAt as string) - Date.parse(res.body.createdAt as string)).toBe(30_000);
        expect((await api('GET', `/api/commands/${id}`, { token: globexAll })).body.status).toBe('sent');
        await fx.db.query(`UPDATE device_commands SET expires_at = now() - interval '1 second' WHERE id = $1`, [id]);
        const expired = await api('GET', `/api/commands/${id}`, { token: globexAll });
        expect(expired.body).toMatchObject({ status: 'timed_out', completedAt: expired.body.expiresAt });
        const { rows } = await fx.db.query<{ status: string }>('SELECT status FROM device_commands WHERE id = $1', [
          id,
        ]);
        expect(rows[0]?.status).toBe('timed_out');
        expect(events).toContainEqual({
          type: 'command',
          tenantId: OTHER_TENANT,
          vehicleId: VEHICLE_G,
          commandId: id,
          status: 'timed_out',
        });
        const list = await api('GET', `/api/vehicles/${VEHICLE_G}/commands`, { token: globexAll });
        expect((list.body.commands as { id: string }[])[0]?.id).toBe(id);
        // Other tenants see neither the command nor the vehicle's list.
        expectProblem(await api('GET', `/api/commands/${id}`, { token: acmeRead }), 403, 'FORBIDDEN');
        const acmeCommands = (await createApiKey(fx.db, { tenantId: TENANT, name: 'cmd', scopes: ['commands:write'] }))
          .token;
        expectProblem(await api('GET', `/api/commands/${id}`, { token: acmeCommands }), 404, 'COMMAND_NOT_FOUND');
        expectProblem(
          await api('GET', `/api/vehicles/${VEHICLE_G}/commands`, { token: acmeCommands }),
          404,
          'VEHICLE_NOT_FOUND',
        );
        expectProblem(
          await api('POST', `/api/vehicles/${VEHICLE_G}/commands`, { token: acmeCommands, body: { type: 'reboot' } }),
          404,
          'VEHICLE_NOT_FOUND',
        );
      } finally {
        stop();
      }
    });

    it('refuses vehicles without a device (409), bad input (400) and marks undeliverable commands failed (502)', async () => {
      const parked = 'aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee';
      await fx.db.query(`INSERT INTO vehicles (id, tenant_id, name) VALUES ($1, $2, 'No device yet')`, [
        parked,
        TENANT,
      ]);
      expectProblem(
        await api('POST', `/api/vehicles/${parked}/commands`, { token: ADMIN, body: { type: 'reboot' } }),
        409,
        'NO_DEVICE',
      );
      for (const body of [
        { type: 'self_destruct' },
        { type: 'reboot', timeoutMs: 999 },
        { type: 'reboot', timeoutMs: 600_001 },
        { type: 'reboot', params: [] },
      ]) {
        expectProblem(
          await api('POST', `/api/vehicles/${VEHICLE_A}/commands`, { token: ADMIN, body }),
          400,
          'VALIDATION_FAILED',
        );
      }
      expectProblem(await api('GET', '/api/commands/not-a-uuid', { token: ADMIN }), 400, 'VALIDATION_FAILED');
      expectProblem(
        await api('GET', '/api/commands/99999999-9999-4999-8999-999999999999', { token: ADMIN }),
        404,
        'COMMAND_NOT_FOUND',
      );
      downlink.failNext = true;
      const failed = await api('POST', `/api/vehicles/${VEHICLE_A}/commands`, {
        token: ADMIN,
        body: { type: 'reboot' },
      });
      expectProblem(failed, 502, 'COMMAND_DELIVERY_FAILED');
      const stored = await api('GET', `/api/commands/${String(failed.body.commandId)}`, { token: ADMIN });
      expect(stored.body).toMatchObject({ status: 'failed', error: 'delivery to the broker failed' });
    });

    it('answers 503 when the server has no downlink', async () => {
      const bare = await startApiServer({
        db: fx.db,
        bus: fx.bus,
        health: async () => ({}),
        logger: pino({ level: 'silent' }),
        port: 0,
      });
      try {
        const res = await call(bare.url, 'POST', `/api/vehicles/${VEHICLE_A}/commands`, { body: { type: 'reboot' } });
        expectProblem(res, 503, 'COMMANDS_UNAVAILABLE');
      } finally {
        await bare.close();
      }
    });
  });
});
