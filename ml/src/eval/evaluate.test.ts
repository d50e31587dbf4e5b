import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { CAROBD_COLUMNS as CAROBD_OBDB_COLUMNS, datasetsDir as defaultDatasetsDir } from '@clutch/firmware-profiles';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { discoverCars, loadCarDrives } from '../dataset/cars.js';
import { appLogImporter } from '../dataset/importer.js';
import { createRng } from '../dataset/rng.js';
import { RULES_ONLY_MODEL } from '../models/model.js';
import { parseCarObdCsv, rowsToFrames } from '../dataset/carobd.js';
import { S } from '../signals.js';
import { judgeEpisode, namesFault } from './attribution.js';
import { faultApplicability, injectFault, signalPresence } from './inject.js';
import { scoreDetector, type Detector, type Episodes } from './score.js';
import { runEvaluation, type EvaluationReport } from './evaluate.js';
import { formatReport, lastLine } from './report.js';
import { existsSync } from 'node:fs';

/** carOBD column order as OBDb ids; the header is what the real files carry (SOURCE.md). */
const HEADER_NAMES: Record<string, string> = {
  RUNTM: 'ENGINE_RUN_TINE ()',
  RPM: 'ENGINE_RPM ()',
  VSS: 'VEHICLE_SPEED ()',
};
const header = CAROBD_OBDB_COLUMNS.map((id) => HEADER_NAMES[id] ?? `${id} ()`).join(',');

/**
 * A plausible healthy drive in carOBD layout, 500 ms per row: a cold start warming up, idle, then
 * driving with throttle, load and MAP moving together. `withVoltage: false` leaves the module
 * voltage column empty, as a logger that does not poll it would.
 */
function carObdDrive(seed: number, minutes: number, withVoltage = true): string {
  const rng = createRng(seed);
  const rows = [header];
  const n = minutes * 120;
  let coolant = 25 + rng.uniform(0, 10);
  for (let i = 0; i < n; i++) {
    const t = i / 2;
    const idle = t < 60 || t > minutes * 60 - 45;
    const throttle = idle ? 0 : 12 + 10 * (1 + Math.sin(t / 40)) + rng.uniform(0, 3);
    const rpm = idle ? 780 + rng.uniform(-20, 20) : 1200 + throttle * 45 + rng.uniform(-40, 40);
    const speed = idle ? 0 : Math.round(20 + throttle * 2);
    const load = idle ? 22 : 25 + throttle;
    coolant = Math.min(90, coolant + 0.06);
    const values: Record<string, number> = {
      RUNTM: Math.floor(t),
      RPM: Math.round(rpm),
      VSS: speed,
      TP: Math.round(throttle + 15),
      LOAD_PCT: Math.round(load),
      ECT: Math.round(coolant),
      LONGFT1: 1.6,
      SHRTFT1: Math.round(rng.uniform(-3, 3) * 10) / 10,
      MAP: Math.round(28 + load * 0.6),
      BARO: 100,
      IAT: 30 + Math.round(rng.uniform(0, 1)),
      CATEMP11: Math.round(300 + Math.min(400, t * 2)),
      VPWR: Math.round((14.1 + rng.uniform(-0.05, 0.05)) * 100) / 100,
    };
    if (!withVoltage) delete values.VPWR;
    rows.push(CAROBD_OBDB_COLUMNS.map((id) => (values[id] === undefined ? '' : String(values[id]))).join(','));
  }
  return rows.join('\n') + '\n';
}

/** A Torque Pro trackLog.csv written by hand: phone clock, °F, mph, '-' where a PID had no value. */
function torqueLog(startIso: string, seconds: number): string {
  const lines = ['GPS Time, Device Time, Engine RPM(rpm), Speed (OBD)(mph), Engine Coolant Temperature(°F)'];
  const start = Date.parse(startIso);
  for (let s = 0; s < seconds; s++) {
    const d = new Date(start + s * 1000);
    const device = `${String(d.getUTCDate()).padStart(2, '0')}-Jun-2016 ${d.toISOString().slice(11, 23)}`;
    lines.push(`-,${device},${800 + (s % 7) * 10},${s < 30 ? 0 : 25},${Math.min(194, 100 + s)}`);
  }
  return lines.join('\n') + '\n';
}

let root: string;
beforeAll(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), 'clutch-eval-'));
  // Car A: carOBD layout in a subfolder, dated names out of order on disk.
  await mkdir(path.join(root, 'car-a', 'drives'), { recursive: true });
  await writeFile(path.join(root, 'car-a', 'drives', '2020-05-02_b.csv'), carObdDrive(2, 1));
  await writeFile(path.join(root, 'car-a', 'drives', '2020-05-01_a.csv'), carObdDrive(1, 1));
  await writeFile(path.join(root, 'car-a', 'SOURCE.md'), '# not a log\n');
  // Car B: Torque Pro exports straight in its folder.
  await mkdir(path.join(root, 'car-b'));
  await writeFile(path.join(root, 'car-b', 'trackLog-1.csv'), torqueLog('2016-06-18T14:00:00Z', 90));
  await writeFile(path.join(root, 'car-b', 'trackLog-2.csv'), torqueLog('2016-06-17T09:00:00Z', 60));
  // Not cars: a table of DTC codes, signal sets as JSON.
  await mkdir(path.join(root, 'dtc-codes'));
  await writeFile(path.join(root, 'dtc-codes', 'dtc_definitions.csv'), 'code,description\nP0300,"Random misfire"\n');
  await mkdir(path.join(root, 'signalsets', 'Toyota'), { recursive: true });
  await writeFile(path.join(root, 'signalsets', 'Toyota', 'default.json'), '{}');
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('discoverCars', () => {
  it('finds one car per folder with drive logs, in carOBD layout or an app format, and skips the rest', async () => {
    const cars = await discoverCars(root, appLogImporter);
    expect(cars.map((c) => c.name)).toEqual(['car-a', 'car-b']);
    const [a, b] = cars;
    expect(a?.files).toEqual([path.join('drives', '2020-05-01_a.csv'), path.join('drives', '2020-05-02_b.csv')]);
    expect(Object.values(a?.formats ?? {})).toEqual(['carobd', 'carobd']);
    expect(Object.values(b?.formats ?? {})).toEqual(['torque', 'torque']);
  });

  it('without the importer finds only carOBD-layout cars', async () => {
    expect((await discoverCars(root, null)).map((c) => c.name)).toEqual(['car-a']);
  });

  it('loads drives in date order on one clock: carOBD rows 500 ms apart, app logs on their own clock', async () => {
    const [a, b] = await discoverCars(root, appLogImporter);
    const drivesA = await loadCarDrives(a!, null);
    expect(drivesA.map((d) => d.file)).toEqual(a?.files);
    const first = drivesA[0]!.frames;
    expect(first[1]!.t - first[0]!.t).toBe(500);
    expect(first.length).toBe(120);
    expect(drivesA[1]!.frames[0]!.t).toBeGreaterThan(first.at(-1)!.t);
    const drivesB = await loadCarDrives(b!, appLogImporter);
    // Undated names: the dates inside the logs decide (trackLog-2 is the earlier day).
    expect(drivesB.map((d) => d.file)).toEqual(['trackLog-2.csv', 'trackLog-1.csv']);
    expect(drivesB[0]!.frames[0]!.t).toBe(Date.parse('2016-06-17T09:00:00Z'));
    // Coolant in °F converted to °C; voltage never reported stays NaN.
    const last = drivesB[0]!.frames.at(-1)!;
    expect(last.v[3]).toBeCloseTo((159 - 32) / 1.8, 0);
    expect(Number.isNaN(last.v[10])).toBe(true);
  });
});

describe('attribution', () => {
  const onset = 100_000;
  const stuckMap = { fault: 'stuck_sensor' as const, signal: 'intake.manifold_pressure' };

  it('counts only an alert that names the injected fault after onset as a detection', () => {
    const named = { at: onset + 30_000, condition: 'sensor.stuck.intake.manifold_pressure', signals: [] };
    expect(judgeEpisode([named], onset, stuckMap)).toMatchObject({ detected: true, delayS: 30, falsePositive: false });
  });

  it('treats an unrelated alert after onset as a false positive, not a detection', () => {
    const unrelated = { at: onset + 15_000, condition: 'cooling.overheat', signals: ['engine.coolant_temp'] };
    const otherSignal = { at: onset + 15_000, condition: 'sensor.stuck.engine.rpm', signals: [] };
    const outcome = judgeEpisode([unrelated, otherSignal], onset, stuckMap);
    expect(outcome).toMatchObject({ detected: false, falsePositive: true });
    expect(outcome.wrong).toEqual(['cooling.overheat', 'sensor.stuck.engine.rpm']);
  });

  it('charges an alert before onset even when the fault is named later', () => {
    const before = { at: onset - 1, condition: 'sensor.stuck.intake.manifold_pressure', signals: [] };
    const after = { at: onset + 1, condition: 'sensor.stuck.intake.manifold_pressure', signals: [] };
    expect(judgeEpisode([before, after], onset, stuckMap)).toMatchObject({ detected: true, falsePositive: true });
  });

  it('accepts for drift the MAP check, an anomaly blaming the faulty reading first, and for the baseline the fault signal', () => {
    const drift = { fault: 'sensor_drift' as const, signal: 'intake.manifold_pressure' };
    expect(namesFault({ at: 0, condition: 'sensor.map_mismatch', signals: [] }, drift)).toBe(true);
    const anomaly = (signals: string[]) => ({ at: 0, condition: 'anomaly.autoencoder', signals });
    expect(namesFault(anomaly(['intake.manifold_pressure', 'engine.rpm']), drift)).toBe(true);
    expect(namesFault(anomaly(['engine.rpm', 'intake.manifold_pressure']), drift)).toBe(false);
    const lean = { fault: 'lean_trims' as const, signal: 'fuel.trim.short_term_b1' };
    expect(namesFault({ at: 0, condition: 'zscore.fuel.trim.long_term_b1', signals: [] }, lean)).toBe(true);
    expect(namesFault({ at: 0, condition: 'zscore.engine.load', signals: [] }, lean)).toBe(false);
    expect(namesFault({ at: 0, condition: 'fuel_trim.rich', signals: [] }, lean)).toBe(false);
    // The fleet model names a reading: it counts when that is the faulty one, for any fault.
    const noisyIat = { fault: 'noisy_signal' as const, signal: 'intake.air_temp' };
    expect(namesFault(anomaly(['intake.air_temp']), noisyIat)).toBe(true);
    expect(namesFault(anomaly(['fuel.trim.long_term_b1', 'intake.air_temp']), noisyIat)).toBe(false);
    expect(namesFault(anomaly(['fuel.trim.long_term_b1']), lean)).toBe(true);
  });
});

describe('scoreDetector', () => {
  const drives = [1, 2].map((k) => ({
    file: `drive${k}.csv`,
    mode: 'drive' as const,
    frames: rowsToFrames(parseCarObdCsv(carObdDrive(k, 9)).rows),
  }));
  const episodes: Episodes = {
    clean: drives,
    faultable: drives,
    applicability: faultApplicability(signalPresence(drives)),
    copies: 2,
    seed: 1,
    present: signalPresence(drives),
  };
  /** A stand-in detector that raises `condition` once the coolant passes 100 °C. */
  const hotCoolant =
    (condition: string): Detector =>
    (frames) => {
      const hot = frames.find((f) => (f.v[S.coolant] as number) > 100);
      return { alerts: hot ? [{ at: hot.t, condition, signals: ['engine.coolant_temp'] }] : [], dataQuality: {} };
    };

  it('scores an alert naming the fault after onset as a detection with its delay', () => {
    const overheat = scoreDetector('t', hotCoolant('cooling.overheat'), episodes).perFault.find(
      (m) => m.fault === 'overheating',
    )!;
    expect(overheat).toMatchObject({
      episodes: 4,
      truePositives: 4,
      falsePositives: 0,
      precision: 1,
      recall: 1,
      f1: 1,
    });
    expect(overheat.medianDelayS).toBeGreaterThan(0);
  });

  it('scores the same alert under another name as a false positive, not a detection', () => {
    const report = scoreDetector('t', hotCoolant('battery.charging'), episodes);
    const overheat = report.perFault.find((m) => m.fault === 'overheating')!;
    expect(overheat).toMatchObject({ truePositives: 0, falsePositives: 4, recall: 0, f1: 0 });
    expect(overheat.wrongAlerts).toEqual({ 'battery.charging': 4 });
    expect(report.cleanAlerts).toBe(0);
  });

  it('charges a clean drive with an alert to every fault type', () => {
    const always: Detector = (frames) => ({
      alerts: [{ at: frames[10]!.t, condition: 'catalyst.hot', signals: [] }],
      dataQuality: {},
    });
    const report = scoreDetector('t', always, episodes);
    expect(report.cleanAlerts).toBe(2);
    expect(report.falseAlarmsPer100h).toBeCloseTo((2 / report.cleanHours) * 100, 6);
    // 4 copies each alerting before onset + 2 clean drives with an alert.
    for (const m of report.perFault) expect(m.falsePositives).toBe(6);
  });
});

describe('applicability', () => {
  const drive = (withVoltage: boolean) => ({
    file: 'drive1.csv',
    mode: 'drive' as const,
    frames: rowsToFrames(parseCarObdCsv(carObdDrive(5, 10, withVoltage)).rows),
  });

  it('injects only faults whose signals the car reports, stuck and noisy among its own signals', () => {
    const noVoltage = drive(false);
    const present = signalPresence([noVoltage]);
    expect(present.has(S.voltage)).toBe(false);
    expect(faultApplicability(present).filter((a) => !a.applicable)).toEqual([
      { fault: 'weak_battery', applicable: false, reason: 'no ecu.control_module_voltage' },
    ]);
    const stuck = new Set(
      [1, 2, 3, 4, 5, 6, 7, 8].map((seed) => injectFault(noVoltage, 'stuck_sensor', { seed, present }).signal),
    );
    expect(stuck.has('ecu.control_module_voltage')).toBe(false);
    expect(stuck.size).toBeGreaterThan(1);
    expect(faultApplicability(signalPresence([drive(true)])).every((a) => a.applicable)).toBe(true);
  });
});

describe('runEvaluation on hand-made cars', () => {
  let fleet: string;
  let report: EvaluationReport;
  const trainedOn: string[][] = [];

  beforeAll(async () => {
    fleet = await mkdtemp(path.join(os.tmpdir(), 'clutch-eval-fleet-'));
    for (const [car, withVoltage] of [
      ['etios-like', true],
      ['no-voltage', false],
    ] as const) {
      await mkdir(path.join(fleet, car));
      for (let k = 1; k <= 10; k++)
        await writeFile(
          path.join(fleet, car, `drive${k}.csv`),
          carObdDrive(k * 31 + (withVoltage ? 0 : 7), 9, withVoltage),
        );
    }
    report = await runEvaluation({
      datasetsDir: fleet,
      seed: 3,
      copiesPerDrive: 1,
      // A stand-in for the fleet model: records which cars each model saw, adds no autoencoder.
      train: (cars) => {
        trainedOn.push(cars.map((c) => c.name));
        return Promise.resolve({
          model: { ...RULES_ONLY_MODEL, version: `fake-${cars.map((c) => c.name).join('+')}` },
          trainingWindows: 0,
          validationWindows: 0,
          lossHistory: [],
          validationScore: NaN,
          backend: 'none',
        });
      },
    });
  });
  afterAll(async () => {
    await rm(fleet, { recursive: true, force: true });
  });

  it('trains one model on every car and one without each car, and scores each car with both', () => {
    expect(trainedOn).toEqual([['etios-like', 'no-voltage'], ['no-voltage'], ['etios-like']]);
    for (const car of report.cars)
      expect(car.detectors.map((d) => `${d.kind}:${d.exposure}`)).toEqual([
        'model:not trained on',
        'model:trained on',
        'baseline:no training',
      ]);
    expect(report.summary.basis).toBe('not trained on');
    expect(report.summary.cars).toEqual(['etios-like', 'no-voltage']);
  });

  it('prints n/a for a fault whose signal the car lacks and leaves it out of min F1', () => {
    const noVoltage = report.cars.find((c) => c.car === 'no-voltage')!;
    const row = noVoltage.detectors[0]!.perFault.find((m) => m.fault === 'weak_battery')!;
    expect(row).toMatchObject({ applicable: false, episodes: 0, reason: 'no ecu.control_module_voltage' });
    const applicable = noVoltage.detectors[0]!.perFault.filter((m) => m.applicable).map((m) => m.f1);
    expect(noVoltage.detectors[0]!.minF1).toBe(Math.min(...applicable));
    const text = formatReport(report);
    expect(text).toMatch(/^weak_battery {3}n\/a \(no ecu\.control_module_voltage\)$/m);
    const etios = report.cars.find((c) => c.car === 'etios-like')!;
    expect(etios.detectors[0]!.perFault.every((m) => m.applicable)).toBe(true);
  });

  it('ends with the min F1 / false alarms line over the cars not trained on', () => {
    const lines = formatReport(report).split('\n');
    expect(lines.at(-1)).toMatch(/^min F1: \d\.\d{3}, false alarms\/100h: \d+\.\d{2}$/);
    const notTrained = report.cars.map((c) => c.detectors.find((d) => d.exposure === 'not trained on')!);
    expect(lines.at(-1)).toBe(
      lastLine(Math.min(...notTrained.map((d) => d.minF1)), Math.max(...notTrained.map((d) => d.falseAlarmsPer100h))),
    );
    expect(lastLine(NaN, NaN)).toBe('min F1: n/a, false alarms/100h: n/a');
  });
});

const realDatasets = defaultDatasetsDir();
const hasReal = ['carobd-toyota-etios-2014', 'kit-seat-leon-2017'].every((d) => existsSync(path.join(realDatasets, d)));

describe.skipIf(!hasReal)(
  hasReal
    ? 'evaluation smoke run on real drives'
    : `evaluation smoke run [skipped: no Etios and Seat Leon in ${realDatasets}]`,
  () => {
    it('finds both cars, skips the non-car folders and marks the Seat Leon faults it cannot carry n/a', async () => {
      const report = await runEvaluation({
        datasetsDir: realDatasets,
        seed: 7,
        copiesPerDrive: 1,
        maxDrivesPerCar: 4,
        rulesOnly: true,
      });
      expect(report.cars.map((c) => c.car)).toEqual(['carobd-toyota-etios-2014', 'kit-seat-leon-2017']);
      const leon = report.cars[1]!;
      expect(leon.signals).not.toContain('ecu.control_module_voltage');
      const na = leon.detectors[0]!.perFault.filter((m) => !m.applicable).map((m) => m.fault);
      expect(na).toEqual(['lean_trims', 'weak_battery']);
      expect(report.cars[0]!.detectors[0]!.perFault.every((m) => m.applicable)).toBe(true);
      expect(formatReport(report).split('\n').at(-1)).toMatch(/^min F1: \d\.\d{3}, false alarms\/100h: \d+\.\d{2}$/);
    });
  },
);
