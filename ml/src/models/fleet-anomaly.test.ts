import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { datasetsDir } from '@clutch/firmware-profiles';
import { parseCarObdCsv, rowsToFrames } from '../dataset/carobd.js';
import type { Frame } from '../features/frames.js';
import { slidingWindows, type FeatureWindow } from '../features/windows.js';
import { FEATURE_NAMES } from '../features/windows.js';
import { NO_CAROBD, realDrive } from '../test-helpers.js';
import { S } from '../signals.js';
import { isCurrentArtifact, type AutoencoderArtifact } from './autoencoder.js';
import { RULES_ONLY_MODEL } from './model.js';
import { createOnlineScorer, type Alert } from '../online/scorer.js';
import { createVehicleNormal } from '../normal/vehicle-normal.js';
import {
  anomalyReady,
  checkAnomaly,
  createAnomalyState,
  learnAnomaly,
  trainFleetModel,
  type AnomalyState,
} from './fleet-anomaly.js';

/** The KIT Seat Leon (a second, turbo car with another logger), read in place like the carOBD drives. */
const repoRoot = path.resolve(import.meta.dirname, '..', '..', '..');
const seatDir = path.join(datasetsDir(process.env, repoRoot), 'kit-seat-leon-2017', 'drives');
const NO_DATA = NO_CAROBD || !existsSync(seatDir);
const title = (t: string): string => (NO_DATA ? `${t} [skipped: carOBD or KIT Seat Leon drives not found]` : t);

async function seatDrive(file: string): Promise<Frame[]> {
  return rowsToFrames(parseCarObdCsv(await readFile(path.join(seatDir, file), 'utf8')).rows);
}

const ETIOS_TRAIN = ['drive1.csv', 'drive2.csv', 'live2.csv', 'long1.csv', 'idle10.csv'];
const SEAT_CALIBRATE = [
  '2017-07-05_Seat_Leon_RT_S_Stau.csv',
  '2017-07-05_Seat_Leon_S_KA_Normal.csv',
  '2017-07-06_Seat_Leon_KA_KA_Normal.csv',
];
const ETIOS_CALIBRATE = ['long2.csv', 'long7.csv', 'long4.csv'];
const SEAT_HELD_OUT = ['2017-07-06_Seat_Leon_KA_RT_Normal.csv', '2017-07-07_Seat_Leon_RT_S_Normal.csv'];
/** A shorter calibration (1.5 h) so the test runs in seconds (production: 1 h + 2 h of running windows). */
const POLICY = { normWindows: 120, scoreWindows: 240 };

const etiosCalibration = async (): Promise<Frame[][]> =>
  Promise.all(ETIOS_CALIBRATE.map(async (f) => (await realDrive(f)).frames));

/** Alerts the way the scorer raises them: a finding on `confirm` consecutive windows, once until it clears. */
function confirmedAlerts(
  state: AnomalyState,
  artifact: AutoencoderArtifact,
  windows: readonly FeatureWindow[],
): string[][] {
  const raised: string[][] = [];
  let streak = 0;
  for (const w of windows) {
    const found = checkAnomaly(state, artifact, w);
    streak = found.length > 0 ? streak + 1 : 0;
    if (streak === artifact.confirmWindows) raised.push(found[0]!.signals);
  }
  return raised;
}

function calibrated(artifact: AutoencoderArtifact, drives: readonly Frame[][]): AnomalyState {
  const state = createAnomalyState();
  for (const frames of drives) for (const w of slidingWindows(frames)) learnAnomaly(state, artifact, w);
  return state;
}

/** Frames with `signal` made noisy from the start (a loose connector): deterministic ±amplitude. */
function noisy(frames: readonly Frame[], signal: number, amplitude: number): Frame[] {
  return frames.map((f, i) => {
    const v = Float64Array.from(f.v);
    v[signal] = (v[signal] as number) + (i % 2 === 0 ? amplitude : -amplitude);
    return { t: f.t, v };
  });
}

describe.skipIf(NO_DATA)(title('fleet anomaly model on two real cars'), () => {
  let etiosModel: Promise<AutoencoderArtifact> | undefined;
  const trainOnEtios = (): Promise<AutoencoderArtifact> =>
    (etiosModel ??= (async () => {
      const drives = await Promise.all(ETIOS_TRAIN.map(async (f) => (await realDrive(f)).frames));
      const trained = await trainFleetModel([{ name: 'etios', drives }], { seed: 42, epochs: 6, threshold: POLICY });
      return trained.model.autoencoder!;
    })());

  it('trains deterministically under a seed, and a different seed gives different weights', async () => {
    const drives = [(await realDrive('drive1.csv')).frames, (await realDrive('idle10.csv')).frames];
    const seat = [await seatDrive(SEAT_CALIBRATE[0]!)];
    const cars = [
      { name: 'etios', drives },
      { name: 'seat', drives: seat },
    ];
    const a = await trainFleetModel(cars, { seed: 42, epochs: 3, hidden: [8, 4, 8] });
    const b = await trainFleetModel(cars, { seed: 42, epochs: 3, hidden: [8, 4, 8] });
    expect(a.lossHistory).toEqual(b.lossHistory);
    expect(a.model.autoencoder!.layers).toEqual(b.model.autoencoder!.layers);
    expect(a.model.autoencoder!.id).toBe(b.model.autoencoder!.id);
    expect(a.lossHistory.at(-1)!).toBeLessThan(a.lossHistory[0]!);
    expect(isCurrentArtifact(JSON.parse(JSON.stringify(a.model.autoencoder)))).toBe(true);
    const c = await trainFleetModel(cars, { seed: 43, epochs: 3, hidden: [8, 4, 8] });
    expect(c.model.autoencoder!.id).not.toBe(a.model.autoencoder!.id);
  });

  it("a model trained on the Etios stays below the Seat Leon's own threshold on its healthy drives", async () => {
    const artifact = await trainOnEtios();
    const calibration = await Promise.all(SEAT_CALIBRATE.map(seatDrive));
    const state = calibrated(artifact, calibration);
    expect(anomalyReady(state, artifact)).toBe(true);
    // The Seat reports no engine load, trims, catalyst or module voltage: masked, not guessed.
    const absent = FEATURE_NAMES.filter((_, k) => state.centre![k] === null);
    expect(absent).toEqual(
      expect.arrayContaining(['mean.load', 'mean.stft', 'mean.ltft', 'mean.catalyst', 'mean.voltage', 'std.load']),
    );
    expect(absent).not.toContain('mean.map');
    const heldOut = (await Promise.all(SEAT_HELD_OUT.map(seatDrive))).flatMap((f) => slidingWindows(f));
    expect(heldOut.length).toBeGreaterThan(300);
    expect(confirmedAlerts(state, artifact, heldOut)).toEqual([]);
    // Compact and JSON: what H5 stores per vehicle.
    expect(JSON.stringify(state).length).toBeLessThan(5000);
  });

  it('flags a noisy sensor on the car it was not trained on and names that sensor', async () => {
    const artifact = await trainOnEtios();
    const state = calibrated(artifact, await Promise.all(SEAT_CALIBRATE.map(seatDrive)));
    const faulty = noisy(await seatDrive(SEAT_HELD_OUT[0]!), S.coolant, 3);
    const alerts = confirmedAlerts(state, artifact, slidingWindows(faulty));
    expect(alerts.length).toBeGreaterThan(0);
    expect(alerts[0]![0]).toBe('engine.coolant_temp');
  });

  it('flags a noisy voltage on the training car and names it, and a healthy drive raises nothing', async () => {
    const artifact = await trainOnEtios();
    const state = calibrated(artifact, await etiosCalibration());
    expect(anomalyReady(state, artifact)).toBe(true);
    const clean = (await realDrive('drive4.csv')).frames;
    expect(confirmedAlerts(state, artifact, slidingWindows(clean))).toEqual([]);
    const alerts = confirmedAlerts(state, artifact, slidingWindows(noisy(clean, S.voltage, 0.8)));
    expect(alerts.length).toBeGreaterThan(0);
    expect(alerts[0]![0]).toBe('ecu.control_module_voltage');
    // What a mechanic reads: which reading, how it differs, what it should have been.
    const window = slidingWindows(noisy(clean, S.voltage, 0.8)).find(
      (w) => checkAnomaly(state, artifact, w).length > 0,
    )!;
    const [finding] = checkAnomaly(state, artifact, window);
    expect(finding).toMatchObject({ condition: 'anomaly.autoencoder', kind: 'anomaly', unit: 'V' });
    expect(finding!.title).toMatch(/^Readings inconsistent: .*voltage/i);
    expect(finding!.explanation).toMatch(/voltage sample-to-sample jitter \d+\.\d\d V \(expected about \d+\.\d\d V\)/i);
    expect(finding!.explanation).toMatch(/this vehicle's limit/);
  });

  it('masks what no training car reported, and starts a vehicle over for another artifact', async () => {
    const seatOnly = await trainFleetModel(
      [{ name: 'seat', drives: await Promise.all(SEAT_CALIBRATE.map(seatDrive)) }],
      {
        seed: 1,
        epochs: 2,
        threshold: POLICY,
      },
    );
    const art = seatOnly.model.autoencoder!;
    expect(FEATURE_NAMES.filter((_, k) => !art.trained[k])).toEqual(
      expect.arrayContaining(['mean.load', 'mean.voltage', 'jitter.voltage']),
    );
    // An Etios vehicle scored by the Seat-only model: voltage noise cannot be judged (never learned).
    const state = calibrated(art, await etiosCalibration());
    expect(anomalyReady(state, art)).toBe(true);
    const alerts = confirmedAlerts(
      state,
      art,
      slidingWindows(noisy((await realDrive('drive4.csv')).frames, S.voltage, 0.8)),
    );
    expect(alerts.flat()).not.toContain('ecu.control_module_voltage');

    const other = await trainOnEtios();
    expect(anomalyReady(state, other)).toBe(false);
    learnAnomaly(state, other, slidingWindows((await realDrive('drive4.csv')).frames)[10]!);
    expect(state.artifactId).toBe(other.id);
    expect(state.thresholds).toBeNull();
    expect(state.normWindows).toBeLessThanOrEqual(1);
  });

  it('stays quiet in the scorer while a readable check already explains what is wrong with the car', async () => {
    const artifact = await trainOnEtios();
    const model = { version: 'etios-test', calibration: RULES_ONLY_MODEL.calibration, autoencoder: artifact };
    const state = calibrated(artifact, await etiosCalibration());
    const clean = (await realDrive('drive4.csv')).frames;
    const score = (frames: readonly Frame[]): Alert[] => {
      const scorer = createOnlineScorer({ model, now: () => 0 });
      const normal = createVehicleNormal();
      normal.anomaly = structuredClone(state);
      scorer.seedNormal('car', normal);
      return scorer.pushFrames('car', frames);
    };
    // Alone, the noisy voltage is the autoencoder's to find (no readable check judges voltage jitter).
    const noisyVoltage = noisy(clean, S.voltage, 0.8);
    expect(score(noisyVoltage).map((a) => [a.condition, a.signals[0]])).toContainEqual([
      'anomaly.autoencoder',
      'ecu.control_module_voltage',
    ]);
    // With the coolant past the limit no car regulates at, the overheating alert explains the car's state;
    // the autoencoder adds no second, vaguer alert about the same drive.
    const overheating = noisyVoltage.map((f) => {
      const v = Float64Array.from(f.v);
      v[S.coolant] = 126;
      return { t: f.t, v };
    });
    const alerts = score(overheating).map((a) => a.condition);
    expect(alerts).toContain('cooling.overheat');
    expect(alerts).not.toContain('anomaly.autoencoder');
  });
});
