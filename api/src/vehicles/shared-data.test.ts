import { signalByKey, type CommandRequest } from '@clutch/contracts';
import { generateSigningKeys } from '@clutch/identity';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CommandTarget } from '../commands/service.js';
import { signedInUser, type TestUser } from '../roles/test-users.js';
import type { CachedReading, LatestLookup, LatestValuesCache } from '../telemetry/latest-cache.js';
import {
  backends,
  call,
  expectProblem,
  OTHER_TENANT,
  startFixture,
  TENANT,
  type Fixture,
  type Reply,
} from '../test-fixtures.js';

/**
 * A shared vehicle's stored data (migration 029, docs/rbac.md "Vehicle shares"): an owner shares a
 * car with a shop, and the shop's people read its data and command it within the share's
 * permissions and their own roles, until the share ends; another shop sees nothing throughout.
 */

const ALICE_CAR = 'a11ce0ca-0000-4000-8000-0000000000d1';
const BOB_CAR = 'b0b000ca-0000-4000-8000-0000000000d2';
const RPM = signalByKey('engine.rpm')!.id;
const COOLANT = signalByKey('engine.coolant_temp')!.id;

/**
 * The latest-values port as ingest's cache answers it: a view either holds its readings (hit) or
 * hands out a ticket to fill it. Records the fills, so a test sees which views were written.
 */
function recordingCache(): LatestValuesCache & {
  entries: Map<string, CachedReading[]>;
  fills: { view: string; vehicleId: string }[];
} {
  const entries = new Map<string, CachedReading[]>();
  const fills: { view: string; vehicleId: string }[] = [];
  return {
    entries,
    fills,
    async read(view, vehicleId): Promise<LatestLookup> {
      const readings = entries.get(`${view}/${vehicleId}`);
      return readings ? { hit: true, readings } : { hit: false, ticket: 'ticket' };
    },
    async fill(view, vehicleId, _ticket, readings) {
      fills.push({ view, vehicleId });
      entries.set(`${view}/${vehicleId}`, [...readings]);
    },
  };
}

describe.each(backends('api_shared_vehicle_data'))("a shared vehicle's stored data on %s", (_name, open) => {
  const keys = generateSigningKeys();
  const cache = recordingCache();
  const sent: { target: CommandTarget; request: CommandRequest }[] = [];
  /** The downlink refuses the next command when set (the broker closed). */
  const downlink = { failNext: false };
  let fx: Fixture;
  let alice: TestUser;
  let bob: TestUser;
  let tina: TestUser;
  let gil: TestUser;
  const api = (method: string, path: string, as: TestUser, body?: unknown): Promise<Reply> =>
    call(fx.api.url, method, `/api${path}`, {
      token: as.token,
      ...(body !== undefined ? { body } : method === 'GET' ? {} : { headers: { 'x-requested-with': 'test' } }),
    });
  const inAnHour = () => new Date(Date.now() + 3600_000).toISOString();
  const share = async (to: string, permissions: string[]): Promise<string> => {
    const res = await api('POST', `/vehicles/${ALICE_CAR}/shares`, alice, {
      granteeTenantId: to,
      permissions,
      validUntil: inAnHour(),
    });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    return res.body.id as string;
  };
  /** The routes of the car's data that need telemetry:read. */
  const telemetryRoutes = [
    `/vehicles/${ALICE_CAR}/latest`,
    `/vehicles/${ALICE_CAR}/telemetry?signal=engine.rpm`,
    `/vehicles/${ALICE_CAR}/telemetry?signal=engine.rpm&bucket=1m`,
    `/vehicles/${ALICE_CAR}/health`,
    `/vehicles/${ALICE_CAR}/alerts`,
    `/vehicles/${ALICE_CAR}/trips`,
    `/vehicles/${ALICE_CAR}/data-quality`,
  ];

  beforeAll(async () => {
    fx = await startFixture({
      requireAuth: true,
      identity: { signingKeys: keys },
      latestValues: cache,
      commands: {
        async send(target, request) {
          if (downlink.failNext) {
            downlink.failNext = false;
            throw new Error('broker closed');
          }
          sent.push({ target, request });
        },
      },
      ...(open ? { open } : {}),
    });
    alice = await signedInUser(fx.db, keys, { tenantId: 'consumers', roles: ['owner'], name: 'Alice' });
    bob = await signedInUser(fx.db, keys, { tenantId: 'consumers', roles: ['owner'], name: 'Bob' });
    tina = await signedInUser(fx.db, keys, { tenantId: TENANT, roles: ['technician'], name: 'Tina' });
    gil = await signedInUser(fx.db, keys, { tenantId: OTHER_TENANT, roles: ['technician'], name: 'Gil' });
    await fx.db.query(
      `INSERT INTO vehicles (id, tenant_id, name, make, owner_user_id) VALUES
         ($1, 'consumers', 'Alice hatchback', 'Fiat', $3), ($2, 'consumers', 'Bob estate', 'Volvo', $4)`,
      [ALICE_CAR, BOB_CAR, alice.userId, bob.userId],
    );
    await fx.db.query(
      `INSERT INTO devices (tenant_id, id, vehicle_id, last_seen_at) VALUES
         ('consumers', 'alice-pi', $1, now()), ('consumers', 'bob-pi', $2, now())`,
      [ALICE_CAR, BOB_CAR],
    );
    // Alice's car: a few readings, a trouble-code report with one code, an alert, a GPS fix, a
    // data-quality finding; all stored under the owner's tenant, as ingest stores them.
    await fx.db.query(
      `INSERT INTO samples (time, tenant_id, vehicle_id, signal_id, value) VALUES
         (now() - interval '90 seconds', 'consumers', $1, ${RPM}, 2100),
         (now() - interval '30 seconds', 'consumers', $1, ${RPM}, 2200),
         (now() - interval '30 seconds', 'consumers', $1, ${COOLANT}, 91),
         (now() - interval '30 seconds', 'consumers', $2, ${RPM}, 4321)`,
      [ALICE_CAR, BOB_CAR],
    );
    await fx.db.query(
      `INSERT INTO sample_rollups_1m (bucket, tenant_id, vehicle_id, signal_id, n, sum, min, max)
       SELECT date_trunc('minute', time), tenant_id, vehicle_id, signal_id, count(*), sum(value), min(value), max(value)
         FROM samples WHERE vehicle_id = $1 GROUP BY 1, 2, 3, 4`,
      [ALICE_CAR],
    );
    await fx.db.query(
      `INSERT INTO dtc_reports (vehicle_id, time, tenant_id, code_count) VALUES ($1, now() - interval '1 minute', 'consumers', 1)`,
      [ALICE_CAR],
    );
    await fx.db.query(
      `INSERT INTO dtc_events (time, tenant_id, vehicle_id, code, kind) VALUES (now() - interval '1 minute', 'consumers', $1, 'P0301', 'stored')`,
      [ALICE_CAR],
    );
    await fx.db.query(
      `INSERT INTO alerts (time, tenant_id, vehicle_id, kind, severity, title, explanation)
       VALUES (now() - interval '2 minutes', 'consumers', $1, 'anomaly', 'warning', 'Misfire pattern', 'rpm ripple')`,
      [ALICE_CAR],
    );
    await fx.db.query(
      `INSERT INTO locations (time, tenant_id, vehicle_id, lat, lon) VALUES (now() - interval '1 minute', 'consumers', $1, 48.1, 11.5)`,
      [ALICE_CAR],
    );
    await fx.db.query(
      `INSERT INTO data_quality_events (tenant_id, device_id, vehicle_id, kind, detail)
       VALUES ('consumers', 'alice-pi', $1, 'seq_gap', '{"from": 3, "to": 5}')`,
      [ALICE_CAR],
    );
    // What an earlier server could have cached under the shop's view: it must never be served.
    cache.entries.set(`${TENANT}/${ALICE_CAR}`, [{ signalId: RPM, timeMs: Date.now() - 1000, value: 9999 }]);
  });
  afterAll(async () => {
    await fx?.close();
  });

  it("before any share, neither shop reaches the car's data", async () => {
    for (const who of [tina, gil]) {
      for (const path of [...telemetryRoutes, `/obd2/diagnostics/${ALICE_CAR}`, `/vehicles/${ALICE_CAR}/commands`])
        expectProblem(await api('GET', path, who), 404, 'VEHICLE_NOT_FOUND');
      expectProblem(
        await api('POST', `/vehicles/${ALICE_CAR}/commands`, who, { type: 'read_dtcs' }),
        404,
        'VEHICLE_NOT_FOUND',
      );
    }
  });

  it('a live share opens the data it names to the shop, and commands reach the owner’s device', async () => {
    const shareId = await share(TENANT, ['vehicles:read', 'telemetry:read', 'dtc:read', 'commands:write']);

    const latest = await api('GET', `/vehicles/${ALICE_CAR}/latest`, tina);
    expect(latest.status, JSON.stringify(latest.body)).toBe(200);
    expect(latest.body.readings).toHaveLength(2);
    expect(latest.body.readings).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ signal: 'engine.rpm', value: 2200 }),
        expect.objectContaining({ signal: 'engine.coolant_temp', value: 91 }),
      ]),
    );
    // Read from the database (the stale entry under the shop's view ignored), and nothing cached
    // under the shop's view: ingest keeps the car's samples in the owner's view only.
    expect(cache.fills.filter((f) => f.view === TENANT)).toEqual([]);

    const series = await api('GET', `/vehicles/${ALICE_CAR}/telemetry?signal=engine.rpm`, tina);
    expect(series.status).toBe(200);
    expect((series.body.points as { value: number }[]).map((p) => p.value)).toEqual([2100, 2200]);
    const buckets = await api('GET', `/vehicles/${ALICE_CAR}/telemetry?signal=engine.rpm&bucket=1m`, tina);
    expect((buckets.body.points as { n: number }[]).reduce((n, p) => n + p.n, 0)).toBe(2);

    const diagnostics = await api('GET', `/obd2/diagnostics/${ALICE_CAR}`, tina);
    expect(diagnostics.status, JSON.stringify(diagnostics.body)).toBe(200);
    expect(JSON.stringify(diagnostics.body)).toContain('P0301');

    const health = await api('GET', `/vehicles/${ALICE_CAR}/health`, tina);
    expect(health.status).toBe(200);
    expect(health.body.activeDtcs).toEqual([expect.objectContaining({ code: 'P0301' })]);
    expect(health.body.recentAlerts).toEqual([expect.objectContaining({ title: 'Misfire pattern' })]);

    const alerts = await api('GET', `/vehicles/${ALICE_CAR}/alerts`, tina);
    expect(alerts.body.alerts).toEqual([expect.objectContaining({ title: 'Misfire pattern' })]);
    const quality = await api('GET', `/vehicles/${ALICE_CAR}/data-quality`, tina);
    expect(quality.status, JSON.stringify(quality.body)).toBe(200);
    expect(JSON.stringify(quality.body)).toContain('seq_gap');

    // The vehicle's details show its device; its other car's data stays the owner's own.
    expect((await api('GET', `/vehicles/${ALICE_CAR}`, tina)).body).toMatchObject({ deviceIds: ['alice-pi'] });
    expectProblem(await api('GET', `/vehicles/${BOB_CAR}/latest`, tina), 404, 'VEHICLE_NOT_FOUND');

    // A command: the row is the owner's tenant's, sent to the owner's device, announced there.
    const command = await api('POST', `/vehicles/${ALICE_CAR}/commands`, tina, { type: 'read_dtcs' });
    expect(command.status, JSON.stringify(command.body)).toBe(202);
    expect(command.body).toMatchObject({ vehicleId: ALICE_CAR, deviceId: 'alice-pi', status: 'sent' });
    const commandId = command.body.id as string;
    expect(sent.at(-1)?.target).toEqual({ tenantId: 'consumers', deviceId: 'alice-pi' });
    const { rows } = await fx.db.query<{ tenant_id: string; status: string }>(
      'SELECT tenant_id, status FROM device_commands WHERE id = $1',
      [commandId],
    );
    expect(rows).toEqual([{ tenant_id: 'consumers', status: 'sent' }]);
    const events = await fx.db.query<{ tenant_id: string; status: string }>(
      `SELECT tenant_id, payload->>'status' AS status FROM outbox_events
        WHERE topic = 'vehicle.command' AND payload->>'commandId' = $1 ORDER BY seq`,
      [commandId],
    );
    expect(events.rows).toEqual([{ tenant_id: 'consumers', status: 'sent' }]);

    // Read by id: the shop and the owner; another owner and another shop answer like a missing one.
    expect((await api('GET', `/commands/${commandId}`, tina)).body).toMatchObject({ id: commandId });
    expect((await api('GET', `/commands/${commandId}`, alice)).body).toMatchObject({ id: commandId });
    expectProblem(await api('GET', `/commands/${commandId}`, bob), 404, 'COMMAND_NOT_FOUND');
    expectProblem(await api('GET', `/commands/${commandId}`, gil), 404, 'COMMAND_NOT_FOUND');
    const listed = await api('GET', `/vehicles/${ALICE_CAR}/commands`, tina);
    expect((listed.body.commands as { id: string }[]).map((c) => c.id)).toEqual([commandId]);

    // The shop's technician holds no location:read, whatever is shared; another shop sees nothing.
    expect((await api('GET', `/telematics/history?vehicleId=${ALICE_CAR}`, tina)).status).toBe(403);
    for (const path of [...telemetryRoutes, `/obd2/diagnostics/${ALICE_CAR}`])
      expectProblem(await api('GET', path, gil), 404, 'VEHICLE_NOT_FOUND');
    expectProblem(await api('GET', `/vehicles/${BOB_CAR}/latest`, alice), 404, 'VEHICLE_NOT_FOUND');

    // Revoked: everything is gone at once.
    expect((await api('DELETE', `/vehicles/${ALICE_CAR}/shares/${shareId}`, alice)).status).toBe(204);
    for (const path of [...telemetryRoutes, `/obd2/diagnostics/${ALICE_CAR}`, `/vehicles/${ALICE_CAR}/commands`])
      expectProblem(await api('GET', path, tina), 404, 'VEHICLE_NOT_FOUND');
    expectProblem(await api('GET', `/commands/${commandId}`, tina), 404, 'COMMAND_NOT_FOUND');
    expectProblem(
      await api('POST', `/vehicles/${ALICE_CAR}/commands`, tina, { type: 'read_dtcs' }),
      404,
      'VEHICLE_NOT_FOUND',
    );
    // The owner still reads their command and their car.
    expect((await api('GET', `/commands/${commandId}`, alice)).status).toBe(200);
    expect((await api('GET', `/vehicles/${ALICE_CAR}/latest`, alice)).status).toBe(200);
  });

  it('a share without telemetry:read shows the trouble codes and no telemetry; it ends at its time', async () => {
    const shareId = await share(OTHER_TENANT, ['vehicles:read', 'dtc:read']);
    const diagnostics = await api('GET', `/obd2/diagnostics/${ALICE_CAR}`, gil);
    expect(diagnostics.status).toBe(200);
    expect(JSON.stringify(diagnostics.body)).toContain('P0301');
    for (const path of telemetryRoutes) expectProblem(await api('GET', path, gil), 404, 'VEHICLE_NOT_FOUND');
    expectProblem(await api('GET', `/vehicles/${ALICE_CAR}/commands`, gil), 404, 'VEHICLE_NOT_FOUND');
    expectProblem(
      await api('POST', `/vehicles/${ALICE_CAR}/commands`, gil, { type: 'read_dtcs' }),
      404,
      'VEHICLE_NOT_FOUND',
    );
    // The share ran out (nobody revoked it): the codes are gone with it.
    await fx.db.query(
      `UPDATE vehicle_shares SET valid_from = now() - interval '2 hours', valid_until = now() - interval '1 second' WHERE id = $1`,
      [shareId],
    );
    expectProblem(await api('GET', `/obd2/diagnostics/${ALICE_CAR}`, gil), 404, 'VEHICLE_NOT_FOUND');
  });

  it("a shop's failed delivery and its read of an overdue command change the owner's rows, announced to the owner", async () => {
    const shareId = await share(TENANT, ['commands:write']);
    downlink.failNext = true;
    const failed = await api('POST', `/vehicles/${ALICE_CAR}/commands`, tina, { type: 'report_status' });
    expectProblem(failed, 502, 'COMMAND_DELIVERY_FAILED');
    const failedId = failed.body.commandId as string;
    const overdue = (
      await fx.db.query<{ id: string }>(
        `INSERT INTO device_commands (tenant_id, device_id, vehicle_id, type, status, expires_at)
         VALUES ('consumers', 'alice-pi', $1, 'read_dtcs', 'sent', now() - interval '1 second') RETURNING id`,
        [ALICE_CAR],
      )
    ).rows[0]!.id;
    expect((await api('GET', `/commands/${overdue}`, tina)).body).toMatchObject({ status: 'timed_out' });
    const events = await fx.db.query<{ id: string; tenant_id: string; status: string }>(
      `SELECT payload->>'commandId' AS id, tenant_id, payload->>'status' AS status FROM outbox_events
        WHERE topic = 'vehicle.command' AND payload->>'commandId' = ANY ($1) ORDER BY seq`,
      [[failedId, overdue]],
    );
    expect(events.rows).toEqual([
      { id: failedId, tenant_id: 'consumers', status: 'failed' },
      { id: overdue, tenant_id: 'consumers', status: 'timed_out' },
    ]);
    expect((await api('DELETE', `/vehicles/${ALICE_CAR}/shares/${shareId}`, alice)).status).toBe(204);
  });

  /** Ends every share of Alice's car, whatever an earlier test left. */
  const revokeAll = () =>
    fx.db.query('UPDATE vehicle_shares SET revoked_at = now() WHERE vehicle_id = $1 AND revoked_at IS NULL', [
      ALICE_CAR,
    ]);

  it('row-level security opens each table for the permission it serves, and only for a live share', async () => {
    await revokeAll();
    const { rows: vehicleTenant } = await fx.db.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM vehicles WHERE id = $1`,
      [ALICE_CAR],
    );
    expect(vehicleTenant).toEqual([{ n: 1 }]);
    const tables: [table: string, permission: string][] = [
      ['samples', 'telemetry:read'],
      ['sample_rollups_1m', 'telemetry:read'],
      ['sample_rollups_1h', 'telemetry:read'],
      ['alerts', 'telemetry:read'],
      ['data_quality_events', 'telemetry:read'],
      ['dtc_events', 'dtc:read'],
      ['dtc_reports', 'dtc:read'],
      ['locations', 'location:read'],
      ['device_commands', 'commands:write'],
    ];
    const visible = async (tenant: string, table: string): Promise<number> =>
      fx.db.withTenant(tenant, async (q) => {
        const { rows } = await q.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${table} WHERE vehicle_id = $1`, [
          ALICE_CAR,
        ]);
        return rows[0]!.n;
      });
    const grant = async (permissions: string[]): Promise<string> =>
      (
        await fx.db.query<{ id: string }>(
          `INSERT INTO vehicle_shares (tenant_id, vehicle_id, grantee_tenant_id, permissions, valid_until, created_by)
           VALUES ('consumers', $1, $2, $3, now() + interval '1 hour', 'test') RETURNING id`,
          [ALICE_CAR, TENANT, permissions],
        )
      ).rows[0]!.id;
    for (const [table, permission] of tables) {
      expect(await visible(TENANT, table), `${table} without a share`).toBe(0);
      const others = await grant([
        'vehicles:read',
        ...['status:read', 'telemetry:read', 'dtc:read', 'location:read', 'commands:write'].filter(
          (p) => p !== permission,
        ),
      ]);
      expect(await visible(TENANT, table), `${table} shared without ${permission}`).toBe(0);
      await fx.db.query('UPDATE vehicle_shares SET revoked_at = now() WHERE id = $1', [others]);
      const exact = await grant([permission]);
      expect(await visible(TENANT, table), `${table} shared for ${permission}`).toBeGreaterThan(0);
      expect(await visible(OTHER_TENANT, table), `${table} for another shop`).toBe(0);
      await fx.db.query('UPDATE vehicle_shares SET revoked_at = now() WHERE id = $1', [exact]);
      expect(await visible(TENANT, table), `${table} after revocation`).toBe(0);
    }
  });

  it('lets a shop write a command only for a vehicle shared for commands:write, to that vehicle’s own device', async () => {
    await revokeAll();
    const insert = (deviceId: string) =>
      fx.db.withTenant(TENANT, (q) =>
        q.query(
          `INSERT INTO device_commands (tenant_id, device_id, vehicle_id, type, expires_at)
           VALUES ('consumers', $1, $2, 'read_dtcs', now() + interval '1 minute')`,
          [deviceId, ALICE_CAR],
        ),
      );
    await expect(insert('alice-pi')).rejects.toThrow(/row-level security/);
    const { rows } = await fx.db.query<{ id: string }>(
      `INSERT INTO vehicle_shares (tenant_id, vehicle_id, grantee_tenant_id, permissions, valid_until, created_by)
       VALUES ('consumers', $1, $2, '{commands:write}', now() + interval '1 hour', 'test') RETURNING id`,
      [ALICE_CAR, TENANT],
    );
    // Bob's device under Alice's shared car: refused.
    await expect(insert('bob-pi')).rejects.toThrow(/row-level security/);
    await insert('alice-pi');
    await fx.db.query('UPDATE vehicle_shares SET revoked_at = now() WHERE id = $1', [rows[0]!.id]);
    await expect(insert('alice-pi')).rejects.toThrow(/row-level security/);
  });
});
