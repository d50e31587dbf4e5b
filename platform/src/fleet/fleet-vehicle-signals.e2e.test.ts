// `npm start`'s simulated fleet, end to end for vehicle-specific signals: a fleet car whose OBDb profile
// reaches ECUs by 29-bit CAN ids (ATTP to the 29-bit twin protocol, ATCP, ATSH, ATCRA, forced flow
// control) -> its agent polls them -> broker -> ingest -> database -> GET /api/vehicles/:id/signals.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { signalsForProfile } from '@clutch/contracts';
import { datasetAvailable } from '@clutch/firmware-profiles';
import { simulatedVehicle } from '@clutch/gateway-agent';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../config/config.js';
import { startPlatform, type RunningPlatform } from '../platform.js';

interface VehicleSignalsBody {
  vehicleId: string;
  signals: { signal: string; profile?: string }[];
}

/** Catalogue keys of a profile's signals whose command goes to a 29-bit id (OBDb `hdr` of 4 digits). */
function twentyNineBitKeys(profile: string): Set<string> {
  return new Set(
    signalsForProfile(profile)
      .filter((s) => s.header !== undefined && /^[0-9A-F]{4}$/i.test(s.header))
      .map((s) => s.key),
  );
}

/** The first fleet car (1-based, as `npm start` numbers them) whose profile has 29-bit-header signals. */
function firstTwentyNineBitCar(): { index: number; profile: string } | undefined {
  for (let i = 1; i <= 16; i++) {
    const profile = simulatedVehicle(i).replay?.vehicle;
    if (profile && twentyNineBitKeys(profile).size > 0) return { index: i, profile };
  }
  return undefined;
}

describe.skipIf(!datasetAvailable('obdb-signalsets'))('the simulated fleet publishes 29-bit vehicle signals', () => {
  const target = firstTwentyNineBitCar();
  let platform: RunningPlatform;
  let dir: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'clutch-fleet-vs-'));
    const config = loadConfig(
      [
        '--vehicles',
        String(target!.index),
        '--port',
        '0',
        '--mqtt-port',
        '0',
        '--mqtt-ws-port',
        '0',
        '--row-ms',
        '100',
      ],
      { CLUTCH_DATA_DIR: dir },
      process.cwd(),
    );
    platform = await startPlatform(config, pino({ level: 'silent' }));
  }, 90_000);

  afterAll(async () => {
    await platform?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('stores them and serves them with their profile on GET /api/vehicles/:id/signals', async () => {
    expect(target).toBeDefined();
    const { index, profile } = target!;
    const wanted = twentyNineBitKeys(profile);
    const device = platform.fleet.devices[index - 1]!;
    const served = async () => {
      const res = await fetch(`${platform.api.url}/api/vehicles/${device.vehicleId}/signals`);
      expect(res.status).toBe(200);
      return ((await res.json()) as VehicleSignalsBody).signals;
    };
    await expect
      .poll(async () => (await served()).filter((s) => wanted.has(s.signal)).length, { timeout: 30_000, interval: 500 })
      .toBeGreaterThanOrEqual(3);
    const signals = await served();
    for (const s of signals.filter((x) => wanted.has(x.signal))) expect(s.profile).toBe(profile);
    // Beside the SAE signals of the same car.
    expect(signals.map((s) => s.signal)).toContain('vehicle.speed');

    // Stored as samples, with values: the latest reading of each is there.
    const latest = (await (await fetch(`${platform.api.url}/api/vehicles/${device.vehicleId}/latest`)).json()) as {
      readings: { signal: string; value: number }[];
    };
    const stored = latest.readings.filter((r) => wanted.has(r.signal));
    expect(stored.length).toBeGreaterThanOrEqual(3);
    for (const r of stored) expect(Number.isFinite(r.value)).toBe(true);
  }, 60_000);
});
