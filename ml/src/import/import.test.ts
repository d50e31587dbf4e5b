import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { detectLogFormat, parseVehicleLog, type ParsedLog } from './index.js';
import { parseDeviceTime, parseGpsTime } from './times.js';
import { parseNumber, splitFields } from './csv.js';

const fixture = (name: string): string => readFileSync(new URL(`./fixtures/${name}`, import.meta.url), 'utf8');
const TORQUE = 'torque-tracklog.csv';
const CAR_SCANNER = '2024-05-12 21-36-00.csv';
const AUTO_DOCTOR = '2019-03-02_obd-auto-doctor.csv';
const CAROBD = 'carobd-drive.csv';

const values = (log: ParsedLog, signal: string): number[] =>
  log.readings.filter((r) => r.signal === signal).map((r) => r.value);
const times = (log: ParsedLog, signal: string): number[] =>
  log.readings.filter((r) => r.signal === signal).map((r) => r.time as number);
const column = (log: ParsedLog, source: string) => log.columns.find((c) => c.source === source);

describe('detectLogFormat', () => {
  it('tells the four formats apart by their header', () => {
    expect(detectLogFormat(fixture(TORQUE))).toBe('torque');
    expect(detectLogFormat(fixture(CAR_SCANNER))).toBe('car-scanner');
    expect(detectLogFormat(fixture(AUTO_DOCTOR))).toBe('obd-auto-doctor');
    expect(detectLogFormat(fixture(CAROBD))).toBe('carobd');
  });

  it('recognises none in a spreadsheet of something else', () => {
    expect(detectLogFormat('Date,Amount,Payee\n2024-01-01,12.50,Bakery\n')).toBeNull();
    expect(detectLogFormat('')).toBeNull();
  });
});

describe('Torque Pro trackLog.csv', () => {
  const log = parseVehicleLog(fixture(TORQUE));

  it('converts the units the user chose into catalogue units', () => {
    // 167 °F = 75 °C; 4.5 mph = 7.242 km/h; 4.75 psi = 32.75 kPa; 86 °F = 30 °C.
    expect(values(log, 'engine.coolant_temp')[0]).toBeCloseTo(75, 6);
    expect(values(log, 'vehicle.speed')[6]).toBeCloseTo(4.5 * 1.609344, 6);
    expect(values(log, 'intake.manifold_pressure')[0]).toBeCloseTo(4.75 * 6.894757, 3);
    expect(values(log, 'intake.air_temp')[0]).toBeCloseTo(30, 6);
    expect(values(log, 'ecu.control_module_voltage')[0]).toBe(14.1);
  });

  it("puts the phone's Device Time on UTC by its offset from GPS Time", () => {
    // Device Time 14:31:07.123 on a phone at UTC+01:00 (GPS Time says so): 13:31:07.123 UTC.
    expect(log.startedAt).toBe(Date.UTC(2016, 5, 18, 13, 31, 7, 123));
    expect(times(log, 'engine.load')[1]! - times(log, 'engine.load')[0]!).toBe(1001);
    expect(log.warnings.join('\n')).not.toMatch(/time zone/);
  });

  it('reads Device Time as UTC when no row has GPS Time, and says so', () => {
    const noFix = fixture(TORQUE).replace(/^Sat Jun 18 [^,]*,/gm, ',');
    const parsed = parseVehicleLog(noFix);
    expect(parsed.startedAt).toBe(Date.UTC(2016, 5, 18, 14, 31, 7, 123));
    expect(parsed.warnings.join('\n')).toMatch(/no time zone and no row has GPS Time: read as UTC/);
  });

  it('skips "-" (no value yet), the repeated header and the garbage row', () => {
    expect(values(log, 'engine.rpm')).toHaveLength(29); // 31 rows, the first two without rpm
    expect(log.rows).toBe(31);
    expect(log.skippedRows).toBe(1);
  });

  it('reports GPS, computed and unknown columns as not imported', () => {
    expect(column(log, 'GPS Speed (Meters/second)')).toMatchObject({ signal: null, note: /GPS/ });
    expect(column(log, 'Turbo Boost & Vacuum Gauge(psi)')?.signal).toBeNull();
    expect(column(log, 'Engine Load(Absolute)(%)')?.signal).toBeNull();
    expect(column(log, 'Longitude')?.signal).toBeNull();
    expect(column(log, 'Speed (OBD)(mph)')).toMatchObject({ signal: 'vehicle.speed', unit: 'mph' });
    expect(column(log, 'Fuel Trim Bank 1 Short Term(%)')?.signal).toBe('fuel.trim.short_term_b1');
  });
});

describe('Car Scanner CSV', () => {
  const log = parseVehicleLog(fixture(CAR_SCANNER), { fileName: `/home/me/logs/${CAR_SCANNER}` });

  it('reads the long layout with BOM, CRLF, quotes and trailing semicolons', () => {
    expect(values(log, 'engine.rpm')).toEqual([820, 930, 1040, 1150, 1260, 1370, 1480, 1590, 1700, 1810, 1920, 2030]);
    expect(values(log, 'engine.coolant_temp')[3]).toBe(73); // ℃
    expect(values(log, 'fuel.trim.short_term_b1')).toEqual([2.3]);
  });

  it('converts bar to kPa and reads a decimal comma', () => {
    expect(values(log, 'intake.manifold_pressure')[0]).toBeCloseTo(35, 6);
    expect(values(log, 'ecu.control_module_voltage')[2]).toBeCloseTo(13.94, 6);
  });

  it('starts at the file name time and keeps the SECONDS differences', () => {
    const start = Date.UTC(2024, 4, 12, 21, 36, 0);
    expect(log.startedAt).toBe(start);
    expect(times(log, 'engine.rpm').slice(0, 2)).toEqual([start, start + 1000]);
    expect(times(log, 'vehicle.speed')[0]).toBe(start + 120);
  });

  it('drops out-of-range values, keeps GPS and other ECUs out, counts the garbage line', () => {
    expect(values(log, 'engine.rpm')).not.toContain(99999);
    expect(log.warnings.join('\n')).toMatch(/1 value\(s\) of engine\.rpm outside/);
    expect(column(log, 'Speed (GPS) (km/h)')).toMatchObject({ signal: null, note: /GPS/ });
    expect(column(log, '[ABS] Front left wheel speed (km/h)')?.signal).toBeNull();
    expect(log.skippedRows).toBe(1);
  });

  it('without a dated file name, times are ms from the first line', () => {
    const relative = parseVehicleLog(fixture(CAR_SCANNER), { fileName: 'export.csv' });
    expect(relative.startedAt).toBeNull();
    expect(times(relative, 'engine.rpm')[0]).toBe(0);
    expect(times(relative, 'engine.rpm')[11]).toBe(11_000);
  });
});

describe('OBD Auto Doctor CSV', () => {
  const log = parseVehicleLog(fixture(AUTO_DOCTOR), { fileName: AUTO_DOCTOR });

  it('maps the SAE names with [unit] and leaves the oxygen sensor out', () => {
    expect(column(log, 'Engine RPM [RPM]')?.signal).toBe('engine.rpm');
    expect(column(log, 'Vehicle Speed Sensor [km/h]')?.signal).toBe('vehicle.speed');
    expect(column(log, 'Air Flow Rate from Mass Flow Sensor [g/s]')?.signal).toBe('intake.maf_rate');
    expect(column(log, 'Accelerator Pedal Position D [%]')?.signal).toBe('pedal.position_d');
    expect(column(log, 'Oxygen Sensor 1 Bank 1 [V]')?.signal).toBeNull();
  });

  it('dates the clock from the file name and carries it past midnight', () => {
    expect(log.startedAt).toBe(Date.UTC(2019, 2, 2, 23, 59, 58));
    const t = times(log, 'engine.coolant_temp');
    expect(t.at(-1)).toBe(Date.UTC(2019, 2, 3, 0, 0, 1, 900)); // the 40th row, 3.9 s later, the next day
  });

  it('keeps one reading per signal per half second of the repeated rows', () => {
    // 40 rows over 3.9 s: coolant is in every row, one reading per 500 ms bucket = 8.
    expect(values(log, 'engine.coolant_temp')).toHaveLength(8);
    expect(values(log, 'engine.rpm')).toContain(910);
  });

  it('reads the Latin-1 mojibake of °C and a file without a date', () => {
    const text = 'Time,Engine Coolant Temperature [Â°F],Engine RPM [RPM]\n07:16:30.444,212,800\n07:16:31.444,212,810\n';
    const parsed = parseVehicleLog(text);
    expect(values(parsed, 'engine.coolant_temp')).toEqual([100, 100]);
    expect(times(parsed, 'engine.rpm')).toEqual([0, 1000]);
    expect(parsed.startedAt).toBeNull();
  });
});

describe('carOBD layout', () => {
  const log = parseVehicleLog(fixture(CAROBD));

  it('places row i at i × 500 ms and takes every column in SAE units', () => {
    expect(times(log, 'engine.rpm').slice(0, 3)).toEqual([0, 500, 1000]);
    expect(values(log, 'catalyst.temp_b1s1')[1]).toBe(423);
    expect(values(log, 'ecu.control_module_voltage')[0]).toBe(14.2);
    expect(log.rows).toBe(24);
    expect(log.skippedRows).toBe(1); // the line cut off at the end
  });
});

describe('errors', () => {
  it('ML_IMPORT_FORMAT_UNKNOWN names the header it did not recognise', () => {
    expect(() => parseVehicleLog('Date,Amount\n2024-01-01,3\n')).toThrow(
      expect.objectContaining({ code: 'ML_IMPORT_FORMAT_UNKNOWN', message: expect.stringMatching(/Date, Amount/) }),
    );
  });

  it('ML_IMPORT_EMPTY for a header without rows and for rows without any catalogue signal', () => {
    expect(() => parseVehicleLog('"SECONDS";"PID";"VALUE";"UNITS";\r\n')).toThrow(
      expect.objectContaining({ code: 'ML_IMPORT_EMPTY' }),
    );
    expect(() => parseVehicleLog('Time,Oxygen Sensor 1 Bank 1 [V]\n07:00:00,0.4\n')).toThrow(
      expect.objectContaining({ code: 'ML_IMPORT_EMPTY', message: expect.stringMatching(/Oxygen Sensor/) }),
    );
  });

  it('a unit that cannot become the catalogue unit is reported, not guessed', () => {
    const parsed = parseVehicleLog('Time,Engine RPM [RPM],Engine Coolant Temperature [km/h]\n0,800,3\n1,900,3\n');
    expect(column(parsed, 'Engine Coolant Temperature [km/h]')).toMatchObject({
      signal: null,
      note: /cannot be converted/,
    });
  });
});

describe('building blocks', () => {
  it('parses numbers as apps write them', () => {
    expect(parseNumber('12,5')).toBe(12.5);
    expect(parseNumber('-')).toBeNull();
    expect(parseNumber('NaN')).toBeNull();
    expect(parseNumber('1e3')).toBe(1000);
    expect(parseNumber('abc')).toBeNull();
  });

  it('splits quoted fields with escaped quotes and delimiters inside', () => {
    expect(splitFields('"a;b";"say ""hi""";3;', ';')).toEqual(['a;b', 'say "hi"', '3']);
  });

  it('reads Torque clocks in several locales', () => {
    expect(parseDeviceTime('08-9-2012 11:02:36.5')).toBe(Date.UTC(2012, 8, 8, 11, 2, 36, 500));
    expect(parseDeviceTime('03-Okt-2019 07:00:00.000')).toBe(Date.UTC(2019, 9, 3, 7));
    expect(parseGpsTime('Mon Sep 22 10:30:00 +0300 2019')).toBe(Date.UTC(2019, 8, 22, 7, 30));
  });
});
