import { SIGNAL_COUNT, S } from '../signals.js';
import { regimeOf, type Frame } from '../features/frames.js';
import { DEFAULT_VIRTUAL_MAP, type VirtualMapModel } from './virtual-map.js';

/**
 * Per-signal limits learned from normal drives, used by the sensor-plausibility check. Stored with
 * the model so the numbers quoted in an explanation are the ones the model was trained with.
 */
export interface Calibration {
  /** Longest a running engine's sensor may read exactly the same value (ms); null = not checked. */
  flatLimitMs: (number | null)[];
  /** Largest believable change between consecutive samples; null = not checked. */
  stepLimit: (number | null)[];
  /** Longest flat run and largest step seen in training, quoted in explanations. */
  observedFlatMs: number[];
  observedStep: number[];
  /** MAP expected from load/rpm/throttle; absent = check off. */
  virtualMap?: VirtualMapModel;
}

/** A sensor that held still for 10 minutes on a healthy car can legitimately hold still. */
const FLAT_UNCHECKED_MS = 10 * 60_000;
const FLAT_MARGIN = 1.5;
const MIN_FLAT_LIMIT_MS = 20_000;
/** Only slow, physically damped signals get a step limit: the fast ones jump legitimately. */
const STEP_CHECKED: readonly number[] = [S.coolant, S.iat];
const STEP_MARGIN = 1.5;

export function calibrate(drives: readonly (readonly Frame[])[]): Calibration {
  const observedFlatMs = new Array<number>(SIGNAL_COUNT).fill(0);
  const observedStep = new Array<number>(SIGNAL_COUNT).fill(0);
  for (const frames of drives) {
    const since = new Array<number>(SIGNAL_COUNT).fill(NaN);
    for (let k = 0; k < frames.length; k++) {
      const f = frames[k] as Frame;
      const prev = frames[k - 1];
      const running = regimeOf(f.v) !== 'off' && prev !== undefined && regimeOf(prev.v) !== 'off';
      for (let i = 0; i < SIGNAL_COUNT; i++) {
        if (!running || !prev || f.v[i] !== prev.v[i]) since[i] = f.t;
        else observedFlatMs[i] = Math.max(observedFlatMs[i] as number, f.t - (since[i] as number));
        if (running && prev) {
          const step = Math.abs((f.v[i] as number) - (prev.v[i] as number));
          if (Number.isFinite(step)) observedStep[i] = Math.max(observedStep[i] as number, step);
        }
      }
    }
  }
  return {
    flatLimitMs: observedFlatMs.map((ms) =>
      ms >= FLAT_UNCHECKED_MS ? null : Math.max(MIN_FLAT_LIMIT_MS, Math.round(ms * FLAT_MARGIN)),
    ),
    stepLimit: observedStep.map((step, i) => (STEP_CHECKED.includes(i) ? Math.max(1, step * STEP_MARGIN) : null)),
    observedFlatMs,
    observedStep,
  };
}

/**
 * Limits measured by `calibrate` on all 129 carOBD files, used when no trained model is supplied
 * (a fresh install): e.g. rpm never holds one value longer than 7 s, MAP 44 s, voltage 111 s.
 */
export const DEFAULT_CALIBRATION: Calibration = {
  flatLimitMs: [20_000, null, 357_750, 594_750, 369_000, 96_000, null, 66_000, null, null, 165_750],
  stepLimit: [null, null, null, 4.5, 3, null, null, null, null, null, null],
  observedFlatMs: [7_000, 1_404_000, 238_500, 396_500, 246_000, 64_000, 1_191_500, 44_000, 739_500, 679_000, 110_500],
  observedStep: [1428.75, 28, 82.35, 3, 2, 18.75, 12.5, 83, 56.86, 528.6, 4.121],
  virtualMap: DEFAULT_VIRTUAL_MAP,
};
