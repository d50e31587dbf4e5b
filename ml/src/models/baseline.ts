import { SIGNAL_COUNT, FEATURE_SIGNALS } from '../signals.js';
import { regimeOf, type Frame } from '../features/frames.js';

export interface BaselineOptions {
  /** Rolling history per signal (frames; 600 = 5 min at 2 Hz). */
  history?: number;
  zLimit?: number;
  /** Consecutive out-of-band frames before alerting. */
  persist?: number;
  /** Spread floor per signal so a flat signal does not turn every change into infinity. */
  minStd?: number;
}

export interface BaselineAlert {
  vehicleId: string;
  signal: string;
  z: number;
  at: number;
}

/**
 * The statistical baseline the models are compared with: per-signal rolling z-score over the last
 * five minutes of running frames; alert when |z| stays above the limit for `persist` frames.
 */
export function createZScoreBaseline(options: BaselineOptions = {}) {
  const history = options.history ?? 600;
  const zLimit = options.zLimit ?? 4;
  const persist = options.persist ?? 10;
  const minStd = options.minStd ?? 0.5;
  interface State {
    buf: Float64Array[];
    pos: number;
    n: number;
    sum: Float64Array;
    sumSq: Float64Array;
    over: Int32Array;
    active: Uint8Array;
  }
  const states = new Map<string, State>();
  return {
    pushFrames(vehicleId: string, frames: readonly Frame[]): BaselineAlert[] {
      let s = states.get(vehicleId);
      if (!s) {
        s = {
          buf: Array.from({ length: SIGNAL_COUNT }, () => new Float64Array(history)),
          pos: 0,
          n: 0,
          sum: new Float64Array(SIGNAL_COUNT),
          sumSq: new Float64Array(SIGNAL_COUNT),
          over: new Int32Array(SIGNAL_COUNT),
          active: new Uint8Array(SIGNAL_COUNT),
        };
        states.set(vehicleId, s);
      }
      const alerts: BaselineAlert[] = [];
      for (const f of frames) {
        if (regimeOf(f.v) === 'off') continue;
        const full = s.n >= history;
        for (let i = 0; i < SIGNAL_COUNT; i++) {
          const x = f.v[i] as number;
          if (!Number.isFinite(x)) continue;
          if (s.n >= 60) {
            const m = (s.sum[i] as number) / s.n;
            const sd = Math.max(minStd, Math.sqrt(Math.max(0, (s.sumSq[i] as number) / s.n - m * m)));
            const z = (x - m) / sd;
            if (Math.abs(z) > zLimit) {
              s.over[i] = (s.over[i] as number) + 1;
              if (s.over[i] === persist && !s.active[i]) {
                s.active[i] = 1;
                alerts.push({ vehicleId, signal: FEATURE_SIGNALS[i] as string, z, at: f.t });
              }
            } else {
              s.over[i] = 0;
              s.active[i] = 0;
            }
          }
          const buf = s.buf[i] as Float64Array;
          if (full) {
            const old = buf[s.pos] as number;
            s.sum[i] = (s.sum[i] as number) - old;
            s.sumSq[i] = (s.sumSq[i] as number) - old * old;
          }
          buf[s.pos] = x;
          s.sum[i] = (s.sum[i] as number) + x;
          s.sumSq[i] = (s.sumSq[i] as number) + x * x;
        }
        s.pos = (s.pos + 1) % history;
        if (!full) s.n++;
      }
      return alerts;
    },
  };
}
