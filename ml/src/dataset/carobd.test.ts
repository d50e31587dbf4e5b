import { describe, expect, it } from 'vitest';
import { CAROBD_COLUMNS, driveMode, parseCarObdCsv, rowsToFrames } from './carobd.js';
import { NO_CAROBD, onRealDrives, realDrive } from '../test-helpers.js';
import { S } from '../signals.js';

const header = CAROBD_COLUMNS.map((c) => `${c.toUpperCase()} ()`).join(',');
const row27 = (rpm: number): string[] =>
  [
    0,
    rpm,
    0,
    17.6,
    30,
    85,
    -1.5,
    0.8,
    30,
    60,
    49,
    16,
    31,
    19,
    0,
    100,
    0,
    33,
    5,
    400,
    300,
    13.9,
    0,
    0,
    6000,
    0,
    200,
  ].map(String);

describe('parseCarObdCsv', () => {
  it('reads rows with a trailing comma and rows without one alike', () => {
    const text = `${header}\n${row27(800).join(', ')},\n${row27(900).join(',')}\n`;
    const { rows } = parseCarObdCsv(text);
    expect(rows).toHaveLength(2);
    expect(rows[0]?.[1]).toBe(800);
    expect(rows[1]?.[1]).toBe(900);
    expect(rows[0]?.[26]).toBe(200);
  });

  it('skips blank lines and drops rows cut short before the feature columns', () => {
    const text = `${header}\n\n${row27(800).join(',')},\n${row27(810).slice(0, 10).join(',')}\n\r\n`;
    const parsed = parseCarObdCsv(text);
    expect(parsed.rows).toHaveLength(1);
    expect(parsed.dropped).toBe(1);
  });

  it('keeps 24-column rows (live6.csv) with the missing counters as NaN', () => {
    const text = `${header}\n${row27(750).slice(0, 24).join(',')}\n`;
    const { rows } = parseCarObdCsv(text);
    expect(rows).toHaveLength(1);
    expect(rows[0]?.[21]).toBe(13.9);
    expect(Number.isNaN(rows[0]?.[26])).toBe(true);
  });

  it('places rows half a second apart and maps columns to catalogue signals', () => {
    const { rows } = parseCarObdCsv(`${header}\n${row27(800).join(',')}\n${row27(820).join(',')}\n`);
    const frames = rowsToFrames(rows);
    expect(frames.map((f) => f.t)).toEqual([0, 500]);
    expect(frames[1]?.v[S.rpm]).toBe(820);
    expect(frames[0]?.v[S.voltage]).toBe(13.9);
    expect(frames[0]?.v[S.stft]).toBe(0.8);
    expect(frames[0]?.v[S.ltft]).toBe(-1.5);
  });

  it('names the columns with the catalogue keys of the 27 PIDs SOURCE.md lists, in file order', () => {
    expect(CAROBD_COLUMNS).toEqual([
      'engine.run_time',
      'engine.rpm',
      'vehicle.speed',
      'throttle.position',
      'engine.load',
      'engine.coolant_temp',
      'fuel.trim.long_term_b1',
      'fuel.trim.short_term_b1',
      'intake.manifold_pressure',
      'fuel.level',
      'throttle.position_b',
      'pedal.position_d',
      'pedal.position_e',
      'throttle.commanded_actuator',
      'fuel.commanded_equivalence_ratio',
      'ambient.barometric_pressure',
      'throttle.relative_position',
      'intake.air_temp',
      'engine.timing_advance',
      'catalyst.temp_b1s1',
      'catalyst.temp_b1s2',
      'ecu.control_module_voltage',
      'evap.commanded_purge',
      'mil.run_time',
      'dtc.time_since_cleared',
      'mil.distance',
      'dtc.warm_ups_since_cleared',
    ]);
  });

  it('derives the driving mode from the file name', () => {
    expect(driveMode('ufpe12.csv')).toBe('ufpe');
    expect(() => driveMode('notes.csv')).toThrow();
  });
});

describe.skipIf(NO_CAROBD)(onRealDrives('the carOBD files'), () => {
  it('loads the real files, including the 24-column live6.csv and integer-only live5.csv', async () => {
    for (const file of ['live6.csv', 'live5.csv', 'drive1.csv']) {
      const drive = await realDrive(file);
      expect(drive.frames.length).toBeGreaterThan(500);
      const running = drive.frames.filter((f) => (f.v[S.rpm] as number) > 300);
      expect(running.length).toBeGreaterThan(100);
      expect(running.every((f) => Number.isFinite(f.v[S.voltage]))).toBe(true);
    }
  });
});
