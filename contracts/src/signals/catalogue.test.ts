import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parseTelemetryBatch } from '../payloads/telemetry.js';
import {
  isPlausible,
  isVehicleSignal,
  saeSignals,
  signalById,
  signalByKey,
  signalByObdbId,
  signalCatalogue,
  signalProfiles,
  signalsForProfile,
  vehicleSignals,
} from './catalogue.js';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const generator = `${root}firmware-profiles/scripts/generate-vehicle-signals.mjs`;
const assigned = (
  JSON.parse(readFileSync(`${root}contracts/vehicle-signal-ids.json`, 'utf8')) as { ids: Record<string, number> }
).ids;

describe('signal catalogue', () => {
  it('gives every signal its own id and its own key', () => {
    expect(new Set(signalCatalogue.map((s) => s.id)).size).toBe(signalCatalogue.length);
    expect(new Set(signalCatalogue.map((s) => s.key)).size).toBe(signalCatalogue.length);
    for (const s of signalCatalogue) expect(s.key, s.key).toMatch(/^[a-z0-9_]+(\.[a-z0-9_]+)+$/);
  });

  it('keeps the SAE signals below 10000 and the vehicle-specific ones in 10000..32767 (a smallint)', () => {
    expect(saeSignals.length).toBeGreaterThan(30);
    for (const s of saeSignals) expect(s.id, s.key).toBeLessThan(10000);
    expect(vehicleSignals.length).toBeGreaterThan(1000);
    for (const s of vehicleSignals) {
      expect(s.id, s.key).toBeGreaterThanOrEqual(10000);
      expect(s.id, s.key).toBeLessThanOrEqual(32767);
    }
    expect(signalCatalogue).toEqual([...saeSignals, ...vehicleSignals]);
  });

  it('takes every vehicle-specific id from the append-only assignment file', () => {
    for (const s of vehicleSignals) expect(s.id, s.key).toBe(assigned[s.obdb!]);
    const ids = Object.values(assigned);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('holds exactly what the generator makes of the vehicle profiles today', () => {
    // --json regenerates in memory (writes nothing) and fails when a profile signal has no id yet.
    const regenerated: unknown = JSON.parse(
      execFileSync(process.execPath, [generator, '--json'], { encoding: 'utf8' }),
    );
    expect(JSON.parse(JSON.stringify(vehicleSignals))).toEqual(regenerated);
  });

  it('describes a vehicle-specific signal from its OBDb profile', () => {
    const volts = signalByObdbId('CAMRY_12V_V')!;
    expect(volts).toMatchObject({
      key: 'vehicle.camry_12v_v',
      name: 'Battery voltage',
      source: 'obd',
      service: '22',
      pid: '1002',
      header: '700',
      profile: 'Toyota-Camry',
      unit: 'V',
      min: 0,
      max: 79,
      pollSeconds: 1,
    });
    expect(signalByKey('vehicle.camry_12v_v')).toBe(volts);
    expect(signalById(volts.id)).toBe(volts);
    expect(isVehicleSignal(volts)).toBe(true);
    expect(isVehicleSignal(signalByKey('engine.rpm')!)).toBe(false);
    expect(signalsForProfile('Toyota-Camry')).toContain(volts);
    expect(signalsForProfile('Toyota-Camry').every((s) => s.profile === 'Toyota-Camry')).toBe(true);
    expect(signalsForProfile('Lada-Niva')).toEqual([]);
    expect(signalProfiles()).toContain('Nissan-Leaf');
  });

  it('ranges an enumeration over its codes and a two-state signal over 0..1', () => {
    const gear = signalByObdbId('LEAF_GEAR')!;
    expect(gear.values).toMatchObject({ '1': 'Park', '2': 'Reverse' });
    expect([gear.min, gear.unit]).toEqual([1, '']);
    const lockUp = signalByObdbId('CAMRY_AT_LOCK_UP_STATE')!;
    expect(lockUp).toMatchObject({ states: 'offon', unit: '', min: 0, max: 1 });
  });

  it('ranges a value as the decoder clamps it, else over everything its field encodes', () => {
    // fmt { len: 16, max: 5, div: 1024, sign: true }: a max above the default min 0, so the decoder clamps to [0, 5]
    expect(signalByObdbId('F150_CAT_SENS_V')).toMatchObject({ min: 0, max: 5 });
    // fmt { len: 16, max: 0, div: 16 }: max not above min, so no clamp: 0 .. 65535 / 16
    expect(signalByObdbId('F150_VCT_INT_ACT')).toMatchObject({ min: 0, max: 65535 / 16 });
  });

  it('lets a telemetry batch carry vehicle-specific keys, and still refuses unknown ones', () => {
    const batch = { v: 1, seq: 1, t0: Date.parse('2026-01-01T00:00:00Z'), samples: [[0, 'vehicle.camry_12v_v', 12.6]] };
    expect(parseTelemetryBatch(JSON.stringify(batch)).ok).toBe(true);
    const unknown = { ...batch, samples: [[0, 'vehicle.camry_warp_drive', 1]] };
    expect(parseTelemetryBatch(JSON.stringify(unknown))).toMatchObject({
      ok: false,
      reason: expect.stringContaining('unknown signal key'),
    });
    expect(isPlausible(signalByKey('vehicle.camry_12v_v')!, 80)).toBe(false);
  });
});
