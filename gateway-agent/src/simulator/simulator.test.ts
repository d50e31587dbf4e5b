import { afterEach, describe, expect, it } from 'vitest';
import { sae1979Signalset } from '@clutch/firmware-profiles';
import { Elm327Driver } from '../elm327/driver.js';
import { initialiseAdapter } from '../agent/session.js';
import { decodeMode01Multi } from '../obd/decoder.js';
import { parseFrames } from '../obd/frames.js';
import { carObdDriveFromText, listCarObdDrives, loadCarObdDrive, type DriveSource } from './drive.js';
import { syntheticDrive } from './synthetic-drive.js';
import { startSimulator, type RunningSimulator } from './start.js';
import { createLinkedStreams } from './streams.js';

const drives = listCarObdDrives();
const set = sae1979Signalset();
let running: RunningSimulator | undefined;
let driver: Elm327Driver | undefined;

afterEach(async () => {
  driver?.close();
  await running?.close();
  running = undefined;
});

async function connect(drive: DriveSource, startRow = 0) {
  const [host, adapter] = createLinkedStreams();
  // A huge row interval pins the replay to one row, so the test knows which values to expect.
  running = await startSimulator({ stream: adapter, drive, vin: '1HGCM82633A004352', rowIntervalMs: 1e9, startRow });
  driver = new Elm327Driver(host);
  return driver;
}

/** The value the simulator can represent: the drive value after the OBDb encoding round trip. */
function quantised(value: number, step: number) {
  return Math.round(value / step) * step;
}

async function readPids(d: Elm327Driver, pids: string[], suffix = '') {
  const reply = await d.send(`01${pids.join('')}${suffix}`);
  expect(reply.ok).toBe(true);
  return Object.assign(
    {},
    ...parseFrames(reply.lines)
      .flatMap((m) => decodeMode01Multi(set, m, pids))
      .map((p) => p.values),
  ) as Record<string, number>;
}

describe('ELM327 simulator over an in-process stream', () => {
  it('initialises like a real adapter: banner, protocol, supported PIDs, VIN and voltage', async () => {
    const drive = syntheticDrive(1);
    const info = await initialiseAdapter(await connect(drive, 100));
    expect(info.banner).toBe('ELM327 v1.5');
    expect(info.protocol).toBe('A6');
    expect(info.isCan).toBe(true);
    expect(info.vin).toBe('1HGCM82633A004352');
    expect(info.batteryVoltage).toBeCloseTo(drive.row(100)['VPWR']!, 1);
    // the 27 carOBD PIDs, plus the range markers 20 and 40
    expect([...info.supportedPids].sort((a, b) => a - b)).toEqual([
      0x04, 0x05, 0x06, 0x07, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f, 0x11, 0x1f, 0x20, 0x21, 0x2e, 0x2f, 0x30, 0x33, 0x3c, 0x3e,
      0x40, 0x42, 0x44, 0x45, 0x47, 0x49, 0x4a, 0x4c, 0x4d, 0x4e,
    ]);
  });

  it('answers multi-PID requests with the response-count digit, formatted per ATH/ATS/ATE', async () => {
    const drive = syntheticDrive(2);
    const d = await connect(drive, 300);
    const row = drive.row(300);
    expect((await d.send('ATE1')).ok).toBe(true);
    const echoed = await d.send('010C');
    expect(echoed.lines).toHaveLength(1); // echo stripped, data left
    await d.send('ATE0');
    await d.send('ATH1');
    await d.send('ATS0');
    const raw = await d.send('010C0D05');
    expect(raw.lines[0]).toMatch(/^7E810/); // 8 payload bytes: ISO-TP first frame
    const values = await readPids(d, ['0C', '0D', '05', '11', '2F', '42'], '3');
    expect(values['RPM']).toBe(quantised(row['RPM']!, 0.25));
    expect(values['VSS']).toBe(Math.round(row['VSS']!));
    expect(values['ECT']).toBe(Math.round(row['ECT']!));
    expect(values['VPWR']).toBeCloseTo(row['VPWR']!, 3);
    expect((await d.send('01')).ok).toBe(false);
    const tooMany = await d.send('010C0D05111F2F33');
    expect(tooMany.ok ? 'ok' : tooMany.error).toBe('?');
    const unsupported = await d.send('0110');
    expect(unsupported.ok ? 'ok' : unsupported.error).toBe('NO DATA');
  });

  it('skips the short rows and trailing commas of carOBD files', () => {
    const drive = carObdDriveFromText('A (),B (),C (),\n1,800,0,\n\n2,900,\n3,1000,5,\n', 'quirks');
    expect(drive.signals).toEqual(['RUNTM', 'RPM', 'VSS']);
    expect(drive.length).toBe(2);
    expect(drive.row(1)).toEqual({ RUNTM: 3, RPM: 1000, VSS: 5 });
    expect(drive.row(2)).toEqual(drive.row(0)); // loops
  });

  it('produces the same synthetic drive for the same seed, with warm-up and motion', () => {
    const a = syntheticDrive(9);
    const b = syntheticDrive(9);
    expect(a.row(500)).toEqual(b.row(500));
    expect(syntheticDrive(10).row(500)).not.toEqual(a.row(500));
    const speeds = Array.from({ length: a.length }, (_, i) => a.row(i)['VSS']!);
    expect(Math.max(...speeds)).toBeGreaterThan(30);
    expect(a.row(a.length - 1)['ECT']!).toBeGreaterThan(a.row(0)['ECT']! + 20);
  });

  it.skipIf(drives.length === 0)(
    'replays a carOBD drive: decoded RPM equals the CSV row within scaling precision',
    async () => {
      const drive = loadCarObdDrive(drives.find((p) => p.endsWith('drive1.csv')) ?? drives[0]!);
      const rowIndex = Math.min(drive.length - 1, 400);
      const d = await connect(drive, rowIndex);
      await initialiseAdapter(d);
      const values = await readPids(d, ['0C', '0D', '1F', '3C', '44']);
      const row = drive.row(rowIndex);
      expect(Math.abs(values['RPM']! - row['RPM']!)).toBeLessThanOrEqual(0.125);
      expect(values['VSS']).toBe(Math.round(row['VSS']!));
      expect(values['RUNTM']).toBe(Math.round(row['RUNTM']!));
      expect(Math.abs(values['CATEMP11']! - row['CATEMP11']!)).toBeLessThanOrEqual(0.05);
      expect(Math.abs(values['EQ_RAT']! - row['EQ_RAT']!)).toBeLessThanOrEqual(2 / 65535);
    },
  );

  it.skipIf(!drives.some((p) => p.endsWith('live6.csv')))(
    'reports only the 24 PIDs of a 24-column file as supported',
    async () => {
      const drive = loadCarObdDrive(drives.find((p) => p.endsWith('live6.csv'))!);
      expect(drive.signals).toHaveLength(24);
      const info = await initialiseAdapter(await connect(drive));
      expect(info.supportedPids.has(0x4e)).toBe(false); // CLR_TIME is column 25
      expect(info.supportedPids.has(0x2e)).toBe(true); // EVAP_PCT is column 23
    },
  );
});
