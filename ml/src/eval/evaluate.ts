import { discoverCars, loadCarDrives, type Car, type LoadedDrive, type LogImporter } from '../dataset/cars.js';
import { splitByHash, type DriveSplit } from '../dataset/split.js';
import { regimeOf } from '../features/frames.js';
import { trainFleetModel, type TrainedModel } from '../models/fleet-anomaly.js';
import { RULES_ONLY_MODEL, type ClutchModel } from '../models/model.js';
import { learnNormalFromFrames } from '../normal/learn-offline.js';
import { calibrationStatus, type CalibrationStatus } from '../normal/readiness.js';
import { createVehicleNormal, type VehicleNormal } from '../normal/vehicle-normal.js';
import { FEATURE_SIGNALS } from '../signals.js';
import { faultApplicability, signalPresence, type Applicability } from './inject.js';
import {
  baselineDetector,
  durationHours,
  modelDetector,
  scoreDetector,
  type DetectorReport,
  type Episodes,
} from './score.js';

export { scoreDetector, modelDetector, baselineDetector, type DetectorReport, type FaultMetrics } from './score.js';

/** Whether the model behind a detector saw this car's drives in training. */
export type Exposure = 'not trained on' | 'trained on' | 'no training';

export interface CarDetectorReport extends DetectorReport {
  exposure: Exposure;
  /** Whether this row is the production scoring path (health checks + model) or the baseline. */
  kind: 'model' | 'baseline';
  /** The vehicle normal's state after the calibration drives, for this model (model rows only). */
  calibration?: CalibrationStatus;
}

export interface CarReport {
  car: string;
  drives: number;
  hours: number;
  /** Catalogue keys the car reports on most running frames. */
  signals: string[];
  applicability: Applicability[];
  calibration: {
    drives: number;
    hours: number;
    runningHours: number;
    trips: number;
    calibrated: boolean;
    hoursNeeded: number;
    tripsNeeded: number;
  };
  trainPool: { drives: number; hours: number };
  test: { drives: number; hours: number; faultable: number };
  detectors: CarDetectorReport[];
}

export interface EvaluationReport {
  seed: number;
  copiesPerDrive: number;
  /** 'fleet' when the fleet model trained; 'rules-only' when it did not (why in `notes`). */
  modelKind: 'fleet' | 'rules-only' | 'given';
  notes: string[];
  cars: CarReport[];
  /** The cars the last line is computed over and why. */
  summary: { basis: Exposure | 'all cars'; cars: string[]; minF1: number; falseAlarmsPer100h: number };
  /** The model trained on every car (what --register registers). */
  model: ClutchModel;
  training: Omit<TrainedModel, 'model'> | null;
  /** Files (car/file) the registered model saw, and the test files. */
  split: DriveSplit;
  seconds: number;
}

export interface EvaluateOptions {
  /** A data sets folder: one subfolder per car. */
  datasetsDir: string;
  seed?: number;
  /** Faulty copies per test drive and fault type (different onsets and magnitudes). */
  copiesPerDrive?: number;
  epochs?: number;
  /** Test drives shorter than this cannot show a fault and its detection. */
  minDriveMinutes?: number;
  /** Share of each car's post-calibration drives held out for testing. */
  testShare?: number;
  /** Only these cars (folder names). */
  cars?: readonly string[];
  /** At most this many drives per car, the first in name order (smoke runs). */
  maxDrivesPerCar?: number;
  /** Health checks only: do not train the fleet model. */
  rulesOnly?: boolean;
  /** Evaluate this model instead of training one (every car then counts as not trained on). */
  model?: ClutchModel;
  /** Reads app logs that are not in carOBD layout (default: the Torque / Car Scanner / OBD Auto Doctor importer; null: carOBD layout only). */
  importer?: LogImporter | null;
  /** Trains the fleet model (tests pass a fake; default H3's trainFleetModel). */
  train?: typeof trainFleetModel;
  log?: (line: string) => void;
}

interface PreparedCar {
  car: Car;
  drives: LoadedDrive[];
  present: Set<number>;
  applicability: Applicability[];
  calibration: LoadedDrive[];
  status: CalibrationStatus;
  pool: LoadedDrive[];
  test: LoadedDrive[];
}

const hoursOf = (drives: readonly LoadedDrive[]): number => drives.reduce((h, d) => h + durationHours(d.frames), 0);

/**
 * Learns the car's normal from its drives in order until it reports calibrated, as production
 * does with a new vehicle; never more than half the drives, so there is always something to test.
 */
function calibrate(drives: readonly LoadedDrive[]): { used: number; status: CalibrationStatus } {
  const normal = createVehicleNormal();
  const cap = Math.max(1, Math.floor(drives.length / 2));
  let used = 0;
  let status = calibrationStatus(normal);
  while (used < cap && status.status !== 'calibrated') {
    learnNormalFromFrames(normal, (drives[used] as LoadedDrive).frames);
    used++;
    status = calibrationStatus(normal);
  }
  return { used, status };
}

function learnedNormal(drives: readonly LoadedDrive[], model: ClutchModel): VehicleNormal {
  const normal = createVehicleNormal();
  for (const d of drives) learnNormalFromFrames(normal, d.frames, { model });
  return normal;
}

async function prepareCar(car: Car, options: EvaluateOptions, seed: number): Promise<PreparedCar> {
  const max = options.maxDrivesPerCar;
  const drives = await loadCarDrives(
    max === undefined ? car : { ...car, files: car.files.slice(0, max) },
    options.importer,
  );
  const present = signalPresence(drives);
  const { used, status } = calibrate(drives);
  const calibration = drives.slice(0, used);
  const { train, test } = splitByHash(drives.slice(used), seed, options.testShare ?? 0.5);
  return { car, drives, present, applicability: faultApplicability(present), calibration, status, pool: train, test };
}

const prefixed = (p: PreparedCar, drives: readonly LoadedDrive[]): string[] =>
  drives.map((d) => `${p.car.name}/${d.file}`);

/** Frames of every calibration and training-pool drive of the given cars (what a fleet model may see). */
function trainingCars(cars: readonly PreparedCar[]): { name: string; drives: LoadedDrive['frames'][] }[] {
  return cars.map((p) => ({ name: p.car.name, drives: [...p.calibration, ...p.pool].map((d) => d.frames) }));
}

interface ModelUnderTest {
  name: string;
  model: ClutchModel;
  exposure: Exposure;
}

/**
 * Per car: calibrate its normal on its first drives, split the rest into a fleet-model training
 * pool and a test set, then score the test set (clean, and faulty copies of drives ≥ 8 min) with
 * the fleet model not trained on that car, the one trained on every car, and the z-score baseline.
 */
export async function runEvaluation(options: EvaluateOptions): Promise<EvaluationReport> {
  const started = Date.now();
  const seed = options.seed ?? 7;
  const log = options.log ?? (() => undefined);
  const copies = options.copiesPerDrive ?? 2;
  const minMs = (options.minDriveMinutes ?? 8) * 60_000;
  const notes: string[] = [];

  let found = await discoverCars(options.datasetsDir, options.importer);
  if (options.cars) found = found.filter((c) => options.cars?.includes(c.name));
  if (found.length === 0) throw new Error(`no car with drive logs in ${options.datasetsDir}`);
  const prepared: PreparedCar[] = [];
  for (const car of found) {
    const p = await prepareCar(car, options, seed);
    prepared.push(p);
    log(
      `${car.name}: ${p.drives.length} drives (${hoursOf(p.drives).toFixed(1)} h); calibrated on the first ` +
        `${p.calibration.length} (${p.status.runningHours.toFixed(1)} running h, ${p.status.trips} trips, ${p.status.status}); ` +
        `split by drive file (seed ${seed}): ${p.pool.length} train, ${p.test.length} test`,
    );
  }

  let modelKind: EvaluationReport['modelKind'] = 'fleet';
  let all: TrainedModel | null = null;
  const notTrainedOn = new Map<string, ClutchModel>();
  if (options.model) {
    modelKind = 'given';
    notes.push(`model ${options.model.version} given: every car counts as not trained on`);
  } else if (options.rulesOnly) {
    modelKind = 'rules-only';
    notes.push('rules only (--rules-only): health checks and per-vehicle normal, no fleet model');
  } else {
    const train = options.train ?? trainFleetModel;
    try {
      all = await train(trainingCars(prepared), { seed, epochs: options.epochs, log });
      log(`fleet model trained on all ${prepared.length} cars: ${all.trainingWindows} windows (${all.backend})`);
      if (prepared.length > 1) {
        for (const p of prepared) {
          const others = prepared.filter((o) => o !== p);
          const m = await train(trainingCars(others), { seed, epochs: options.epochs, log });
          notTrainedOn.set(p.car.name, m.model);
          log(`fleet model without ${p.car.name}: ${m.trainingWindows} windows`);
        }
      } else notes.push(`one car only (${prepared[0]?.car.name}): nothing is "not trained on"; reporting "trained on"`);
    } catch (err) {
      modelKind = 'rules-only';
      all = null;
      notTrainedOn.clear();
      notes.push(
        `fleet model not trained (${err instanceof Error ? err.message : String(err)}): rules only, health checks and per-vehicle normal`,
      );
      log(notes[notes.length - 1] as string);
    }
  }

  const cars: CarReport[] = [];
  for (const p of prepared) {
    const models: ModelUnderTest[] = [];
    if (options.model)
      models.push({ name: `model ${options.model.version}`, model: options.model, exposure: 'not trained on' });
    else if (modelKind === 'rules-only')
      models.push({ name: 'health checks (rules only)', model: RULES_ONLY_MODEL, exposure: 'no training' });
    else {
      const loo = notTrainedOn.get(p.car.name);
      if (loo) models.push({ name: 'fleet model + health checks', model: loo, exposure: 'not trained on' });
      if (all) models.push({ name: 'fleet model + health checks', model: all.model, exposure: 'trained on' });
    }
    const faultable = p.test.filter(
      (d) => durationHours(d.frames) * 3_600_000 >= minMs && d.frames.some((f) => regimeOf(f.v) !== 'off'),
    );
    const episodes: Episodes = {
      clean: p.test,
      faultable,
      applicability: p.applicability,
      copies,
      seed,
      present: p.present,
    };
    const detectors: CarDetectorReport[] = [];
    for (const m of models) {
      const t0 = Date.now();
      const normal = learnedNormal(p.calibration, m.model);
      const report = scoreDetector(m.name, modelDetector(m.model, normal), episodes);
      detectors.push({ ...report, exposure: m.exposure, kind: 'model', calibration: calibrationStatus(normal) });
      log(`${p.car.name}: ${m.name} (${m.exposure}) scored in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    }
    const t0 = Date.now();
    detectors.push({
      ...scoreDetector('baseline: rolling z-score', baselineDetector(), episodes),
      exposure: 'no training',
      kind: 'baseline',
    });
    log(`${p.car.name}: baseline scored in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    cars.push({
      car: p.car.name,
      drives: p.drives.length,
      hours: hoursOf(p.drives),
      signals: [...p.present].sort((a, b) => a - b).map((i) => FEATURE_SIGNALS[i] as string),
      applicability: p.applicability,
      calibration: {
        drives: p.calibration.length,
        hours: hoursOf(p.calibration),
        runningHours: p.status.runningHours,
        trips: p.status.trips,
        calibrated: p.status.status === 'calibrated',
        hoursNeeded: p.status.hoursNeeded,
        tripsNeeded: p.status.tripsNeeded,
      },
      trainPool: { drives: p.pool.length, hours: hoursOf(p.pool) },
      test: { drives: p.test.length, hours: hoursOf(p.test), faultable: faultable.length },
      detectors,
    });
  }

  const { model, ...training } = all ?? { model: options.model ?? RULES_ONLY_MODEL };
  return {
    seed,
    copiesPerDrive: copies,
    modelKind,
    notes,
    cars,
    summary: summarise(cars),
    model,
    training: all ? (training as Omit<TrainedModel, 'model'>) : null,
    split: {
      train: prepared.flatMap((p) => prefixed(p, [...p.calibration, ...p.pool])),
      validation: [],
      test: prepared.flatMap((p) => prefixed(p, p.test)),
    },
    seconds: (Date.now() - started) / 1000,
  };
}

/**
 * The figures of the last line: over the cars the model was not trained on (min F1 over their
 * applicable faults; false alarms = the worst such car's rate). Without any (one car, rules only),
 * over the rows there are, and the basis says which.
 */
export function summarise(cars: readonly CarReport[]): EvaluationReport['summary'] {
  const modelRows = (exposure: Exposure): { car: string; row: CarDetectorReport }[] =>
    cars.flatMap((c) =>
      c.detectors.filter((d) => d.kind === 'model' && d.exposure === exposure).map((row) => ({ car: c.car, row })),
    );
  let basis: EvaluationReport['summary']['basis'] = 'not trained on';
  let rows = modelRows('not trained on');
  if (rows.length === 0) {
    rows = modelRows('no training');
    basis = 'all cars';
  }
  if (rows.length === 0) {
    rows = modelRows('trained on');
    basis = 'trained on';
  }
  const f1s = rows.map((r) => r.row.minF1).filter((x) => Number.isFinite(x));
  const fas = rows.map((r) => r.row.falseAlarmsPer100h).filter((x) => Number.isFinite(x));
  return {
    basis,
    cars: rows.map((r) => r.car),
    minF1: f1s.length === 0 ? NaN : Math.min(...f1s),
    falseAlarmsPer100h: fas.length === 0 ? NaN : Math.max(...fas),
  };
}

export { formatReport } from './report.js';
