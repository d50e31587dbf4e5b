import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CommandRequest } from '@clutch/contracts';
import { refuseCommits } from '@clutch/db/testing';
import { createApiKey } from '@clutch/identity';
import { pino } from 'pino';
import type { CommandTarget } from './service.js';
import { startApiServer } from '../server.js';
import {
  backends,
  call,
  expectProblem,
  OTHER_TENANT,
  outboxPayloads,
  recordEvents,
  startFixture,
  TENANT,
  VEHICLE_A,
  VEHICLE_G,
  type Fixture,
  type Reply,
} from '../test-fixtures.js';

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
    it("sends a command to the vehicle's freshest device, answers 202 with its status and announces it sent", async () => {
      const before = downlink.sent.length;
      const { events, stop } = recordEvents(fx.bus);
      try {
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
        await expect
          .poll(() => events, { timeout: 5000 })
          .toEqual([{ type: 'command', tenantId: TENANT, vehicleId: VEHICLE_A, commandId: id, status: 'sent' }]);

        // The agent's answer arrives through ingest, which completes the row (as ingest's store processor does).
        await fx.db.query(
          `UPDATE device_commands SET status = 'succeeded', result = '{"codes":["P0301"]}', completed_at = now() WHERE id = $1`,
          [id],
        );
        const done = await api('GET', `/api/commands/${id}`, { token: ADMIN });
        expect(done.status).toBe(200);
        expect(done.body).toMatchObject({ id, status: 'succeeded', result: { codes: ['P0301'] }, error: null });
      } finally {
        stop();
      }
    });

    it('reads an unanswered command past its expiry as timed_out, stores that and announces it', async () => {
      const { events, stop } = recordEvents(fx.bus);
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
        await expect
          .poll(() => events, { timeout: 5000 })
          .toContainEqual({
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
      const commandId = String(failed.body.commandId);
      const stored = await api('GET', `/api/commands/${commandId}`, { token: ADMIN });
      expect(stored.body).toMatchObject({ status: 'failed', error: 'delivery to the broker failed' });
      expect((await outboxPayloads(fx.db, 'vehicle.command')).filter((p) => p.commandId === commandId)).toEqual([
        { vehicleId: VEHICLE_A, commandId, status: 'failed' },
      ]);
    });

    it('announces no status whose change does not commit, and leaves the command as it was', async () => {
      // Commands of this vehicle cannot be marked sent, failed or timed out (the commit fails).
      const car = 'dddddddd-0000-4000-8000-00000000000d';
      await fx.db.query(`INSERT INTO vehicles (id, tenant_id, name) VALUES ($1, $2, 'Doomed car')`, [car, TENANT]);
      await fx.db.query(`INSERT INTO devices (tenant_id, id, vehicle_id) VALUES ($1, 'pi-doomed', $2)`, [TENANT, car]);
      await refuseCommits(fx.db, 'device_commands', `NEW.vehicle_id = '${car}' AND NEW.status <> 'pending'`);
      const { events, stop } = recordEvents(fx.bus);
      try {
        const post = (): Promise<Reply> =>
          api('POST', `/api/vehicles/${car}/commands`, { token: ADMIN, body: { type: 'reboot' } });
        expectProblem(await post(), 500, 'INTERNAL'); // sent, but the mark did not commit
        downlink.failNext = true;
        expectProblem(await post(), 500, 'INTERNAL'); // refused, and the mark did not commit
        await fx.db.query(`UPDATE device_commands SET expires_at = now() - interval '1 second' WHERE vehicle_id = $1`, [
          car,
        ]);
        expectProblem(await api('GET', `/api/vehicles/${car}/commands`, { token: ADMIN }), 500, 'INTERNAL');
        const { rows } = await fx.db.query<{ status: string }>(
          'SELECT status FROM device_commands WHERE vehicle_id = $1',
          [car],
        );
        expect(rows.map((r) => r.status)).toEqual(['pending', 'pending']);
        // A change that commits is announced after them (the relay keeps commit order).
        const res = await api('POST', `/api/vehicles/${VEHICLE_A}/commands`, {
          token: ADMIN,
          body: { type: 'reboot' },
        });
        expect(res.status).toBe(202);
        await expect.poll(() => events.length, { timeout: 5000 }).toBeGreaterThan(0);
        expect(events).toEqual([
          { type: 'command', tenantId: TENANT, vehicleId: VEHICLE_A, commandId: res.body.id, status: 'sent' },
        ]);
        expect((await outboxPayloads(fx.db, 'vehicle.command')).filter((p) => p.vehicleId === car)).toEqual([]);
      } finally {
        stop();
      }
    });

    it("pages a vehicle's commands newest first with limit and the opaque cursor", async () => {
      const car = 'eeeeeeee-0000-4000-8000-00000000000e';
      await fx.db.query(`INSERT INTO vehicles (id, tenant_id, name) VALUES ($1, $2, 'Busy car')`, [car, TENANT]);
      await fx.db.query(`INSERT INTO devices (tenant_id, id, vehicle_id) VALUES ($1, 'pi-busy', $2)`, [TENANT, car]);
      const ids: string[] = [];
      for (let i = 0; i < 5; i++) {
        const res = await api('POST', `/api/vehicles/${car}/commands`, {
          token: ADMIN,
          body: { type: 'report_status' },
        });
        ids.push(res.body.id as string);
      }
      // Two commands created in the same instant are still paged once each (the id breaks the tie).
      await fx.db.query(
        `UPDATE device_commands SET created_at = (SELECT created_at FROM device_commands WHERE id = $1) WHERE id = $2`,
        [ids[1], ids[2]],
      );
      const seen: string[] = [];
      let cursor: string | null = null;
      let pages = 0;
      do {
        const query: string = cursor === null ? '?limit=2' : `?limit=2&cursor=${encodeURIComponent(cursor)}`;
        const page = await api('GET', `/api/vehicles/${car}/commands${query}`, { token: ADMIN });
        expect(page.status, JSON.stringify(page.body)).toBe(200);
        const commands = page.body.commands as { id: string; createdAt: string }[];
        expect(commands.length).toBeLessThanOrEqual(2);
        seen.push(...commands.map((c) => c.id));
        cursor = page.body.next as string | null;
        pages += 1;
      } while (cursor !== null && pages < 10);
      expect(pages).toBe(3);
      expect(new Set(seen).size).toBe(5);
      expect(new Set(seen)).toEqual(new Set(ids));
      expect([seen[0], seen[4]]).toEqual([ids[4], ids[0]]); // newest first
      const all = await api('GET', `/api/vehicles/${car}/commands`, { token: ADMIN });
      expect((all.body.commands as unknown[]).length).toBe(5);
      expect(all.body.next).toBeNull();
      // A cursor of another list, or a forged one, is a 400 on /query/cursor.
      const vehicles = await api('GET', '/api/vehicles?limit=1', { token: ADMIN });
      for (const bad of [vehicles.body.next as string, 'bm90LWEtY3Vyc29y']) {
        const res = await api('GET', `/api/vehicles/${car}/commands?cursor=${encodeURIComponent(bad)}`, {
          token: ADMIN,
        });
        expectProblem(res, 400, 'VALIDATION_FAILED');
        expect((res.body.errors as { pointer: string }[])[0]?.pointer).toBe('/query/cursor');
      }
      expectProblem(
        await api('GET', `/api/vehicles/${car}/commands?limit=201`, { token: ADMIN }),
        400,
        'VALIDATION_FAILED',
      );
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
