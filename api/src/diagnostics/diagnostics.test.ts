import { describe, expect, it } from 'vitest';
import { backends, CAR, useDriveFixture, TENANT } from '../test-fixtures.js';

describe.each(backends('api_diagnostics'))('diagnostics API on %s', (_name, open) => {
  const d = useDriveFixture(open);
  const { api } = d;
  const iso = (ms: number): string => new Date(ms).toISOString();

  it('GET diagnostics: current codes from the latest report, descriptions, MIL kinds, history', async () => {
    const res = await api('GET', `/api/obd2/diagnostics/${CAR}`);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({
      vehicleId: CAR,
      reportedAt: iso(d.fx.now.getTime() - 3600_000),
      clearedAt: null,
      milOn: true,
    });
    const current = res.body.current as Record<string, unknown>[];
    expect(current.map((c) => [c.code, c.kind, c.milRelevant, c.system])).toEqual([
      ['P0301', 'stored', true, 'powertrain'],
      ['P0420', 'permanent', true, 'powertrain'],
    ]);
    expect(current[0]!.firstSeen).toBe(iso(d.fx.now.getTime() - 24 * 3600_000));
    // Descriptions come from the shared data set when it is checked out beside the repository.
    expect([null, 'Cylinder 1 Misfire Detected']).toContain(current[0]!.description);
    expect((res.body.codes as { code: string }[]).map((c) => c.code).sort()).toEqual(['P0171', 'P0301', 'P0420']);
    const history = res.body.history as { time: string; codes: { code: string; kind: string }[] }[];
    expect(history.map((h) => h.codes.map((c) => `${c.code}/${c.kind}`))).toEqual([
      ['P0301/stored', 'P0420/permanent'],
      ['P0171/pending', 'P0301/stored'],
    ]);
    expect(((await api('GET', `/api/obd2/diagnostics/${CAR}?history=1`)).body.history as unknown[]).length).toBe(1);
  });

  it('links to the interpretation of the current codes, and the link works as given', async () => {
    const res = await api('GET', `/api/obd2/diagnostics/${CAR}`);
    const link = (res.body.links as { interpret: { method: string; href: string; body: unknown } }).interpret;
    expect(link).toEqual({
      method: 'POST',
      href: '/api/obd2/error-codes',
      body: { codes: ['P0301', 'P0420'], vehicleId: CAR },
    });
    const interpreted = await api(link.method, link.href, { body: link.body });
    expect(interpreted.status, JSON.stringify(interpreted.body)).toBe(200);
    expect(
      (interpreted.body.codes as { code: string; severity: string; onVehicle: unknown }[]).map((c) => [
        c.code,
        c.severity,
        c.onVehicle !== null,
      ]),
    ).toEqual([
      ['P0301', 'high', true],
      ['P0420', 'medium', true],
    ]);
  });

  it('a newer report without codes (repaired, or cleared at the car) empties the current codes but keeps the history', async () => {
    const before = await api('GET', `/api/obd2/diagnostics/${CAR}`);
    expect((before.body.current as unknown[]).length).toBeGreaterThan(0);
    await d.fx.db.query(`INSERT INTO dtc_reports (vehicle_id, time, tenant_id, code_count) VALUES ($1, now(), $2, 0)`, [
      CAR,
      TENANT,
    ]);
    const res = await api('GET', `/api/obd2/diagnostics/${CAR}`);
    expect(res.body).toMatchObject({ milOn: false, current: [] });
    expect((res.body.codes as unknown[]).length).toBe((before.body.codes as unknown[]).length);
    // Without current codes the link interprets every code seen.
    expect((res.body.links as { interpret: { body: { codes: string[] } } }).interpret.body.codes.sort()).toEqual([
      'P0171',
      'P0301',
      'P0420',
    ]);
    await d.fx.db.query(`DELETE FROM dtc_reports WHERE vehicle_id = $1`, [CAR]);
  });

  it('a succeeded clear_dtcs after the latest report empties the current codes', async () => {
    await d.fx.db.query(
      `INSERT INTO device_commands (tenant_id, device_id, vehicle_id, type, status, expires_at, completed_at) VALUES ($1, 'car-1', $2, 'clear_dtcs', 'succeeded', now(), now())`,
      [TENANT, CAR],
    );
    const res = await api('GET', `/api/obd2/diagnostics/${CAR}`);
    expect(res.body).toMatchObject({ milOn: false, current: [] });
    expect(typeof res.body.clearedAt).toBe('string');
    expect((await api('GET', `/api/vehicles/${CAR}/health`)).body.activeDtcs).toEqual([]);
  });

  it("keeps diagnostics inside the caller's tenant (another tenant's vehicle is 404)", async () => {
    const res = await api('GET', `/api/obd2/diagnostics/${CAR}`, { token: d.globex });
    expect(res.status).toBe(404);
    expect(res.body.code).toBe('VEHICLE_NOT_FOUND');
  });
});
