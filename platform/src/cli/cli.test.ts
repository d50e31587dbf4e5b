import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Database } from '@clutch/db';
import { openTestDatabase, testDatabaseUrl } from '@clutch/db/testing';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { clutchCli } from './cli.js';

/** Hand-written app logs (ml/src/import/fixtures). */
const fixture = (name: string): string =>
  fileURLToPath(new URL(`../../../ml/src/import/fixtures/${name}`, import.meta.url));
const CAR_SCANNER = fixture('2024-05-12 21-36-00.csv');
const TORQUE = fixture('torque-tracklog.csv');

interface Run {
  code: number;
  out: string[];
  err: string[];
}

async function run(argv: string[]): Promise<Run> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await clutchCli(argv, {}, tmpdir(), { out: (l) => out.push(l), err: (l) => err.push(l) });
  return { code, out, err };
}

describe('clutch import', () => {
  it('--dry-run reads a log without a database and says what it would import', async () => {
    const result = await run(['import', TORQUE, '--dry-run']);
    expect(result.err).toEqual([]);
    expect(result.code).toBe(0);
    expect(result.out).toEqual(
      expect.arrayContaining([
        'format: torque',
        'rows: 31 read, 1 skipped',
        '  engine.rpm: 29',
        '  GPS Speed (Meters/second): not an OBD reading (GPS, phone or computed value)',
        'dry run: nothing stored',
      ]),
    );
  });

  it('refuses bad usage with the usage text', async () => {
    const noVehicle = await run(['import', TORQUE]);
    expect(noVehicle.code).toBe(2);
    expect(noVehicle.err.join('\n')).toMatch(/give --vehicle[\s\S]*usage: clutch import FILE/);
    expect((await run(['import', TORQUE, '--vehicle', 'car-1'])).code).toBe(2);
    expect((await run(['import', TORQUE, '--dry-run', '--format', 'excel'])).code).toBe(2);
  });
});

describe('clutch import on PostgreSQL', () => {
  let db: Database;
  let url: string;
  let car = '';

  beforeAll(async () => {
    db = await openTestDatabase('postgres', { adminUrl: inject('pgAdminUrl'), name: 'clutch_import_cli' });
    url = testDatabaseUrl(db)!;
    await db.query(`INSERT INTO tenants (id, name) VALUES ('acme', 'Acme')`);
    car = (
      await db.query<{ id: string }>(
        `INSERT INTO vehicles (tenant_id, name) VALUES ('acme', 'Golf') RETURNING id::text AS id`,
      )
    ).rows[0]!.id;
  });
  afterAll(async () => {
    await db?.close();
  });

  const samples = async (): Promise<number> =>
    (await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM samples WHERE vehicle_id = $1`, [car])).rows[0]!.n;

  it("stores a Car Scanner log as the vehicle's history and prints the summary", async () => {
    const result = await run(['import', CAR_SCANNER, '--vehicle', car, '--database-url', url]);
    expect(result.err).toEqual([]);
    expect(result.code).toBe(0);
    const text = result.out.join('\n');
    expect(text).toMatch(/^imported 2024-05-12 21-36-00\.csv into vehicle /);
    expect(text).toContain('format: car-scanner');
    expect(text).toContain('time: 2024-05-12T21:36:00.000Z .. ');
    expect(text).toContain('  engine.rpm: 12');
    expect(text).toMatch(/samples: \d+ stored, 0 already stored/);
    expect(text).toMatch(/alerts raised: \d+/);
    expect(text).toMatch(/calibration: calibrating \(0\.0 of \d+ h/);
    const stored = Number(/samples: (\d+) stored/.exec(text)![1]);
    expect(await samples()).toBe(stored);
    const rows = await db.query<{ via: string; status: string }>(
      `SELECT via, status FROM telemetry_imports WHERE vehicle_id = $1`,
      [car],
    );
    expect(rows.rows).toEqual([{ via: 'cli', status: 'succeeded' }]);
  });

  it('imports the same file again without storing anything twice', async () => {
    const before = await samples();
    const again = await run(['import', CAR_SCANNER, '--vehicle', car, '--database-url', url]);
    expect(again.code).toBe(0);
    expect(again.out[0]).toMatch(/^already imported .*nothing stored again$/);
    expect(await samples()).toBe(before);
  });

  it('fails a file it cannot read (exit 1) and a vehicle that does not exist (exit 2)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'clutch-import-'));
    const bank = join(dir, 'bank.csv');
    writeFileSync(bank, 'Date,Amount,Payee\n2024-01-01,12.50,Bakery\n');
    const failed = await run(['import', bank, '--vehicle', car, '--database-url', url]);
    expect(failed.code).toBe(1);
    expect(failed.err.join('\n')).toMatch(/import failed: ML_IMPORT_FORMAT_UNKNOWN/);
    const missing = await run([
      'import',
      TORQUE,
      '--vehicle',
      '99999999-9999-4999-8999-999999999999',
      '--database-url',
      url,
    ]);
    expect(missing.code).toBe(2);
    expect(missing.err).toEqual(['no vehicle 99999999-9999-4999-8999-999999999999']);
  });
});
