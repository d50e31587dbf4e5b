import { SIGNAL_COUNT, FEATURE_SIGNALS, formatValue, signalDefinition } from '../signals.js';
import type { Frame } from '../features/frames.js';
import type { CheckInput, Finding } from './types.js';
import { STALE_MS } from '../features/context.js';

/** Steps beyond the limit this many times in 30 s is noise, not one glitch. */
const NOISY_STEPS = 3;

/**
 * Sensor plausibility: a sensor frozen on one value while the engine runs, or jumping faster than
 * the physics allows. Limits come from the calibration (learned on healthy drives).
 */
export function checkSensors({ window, context, calibration }: CheckInput): Finding[] {
  if (window.regime === 'off') return [];
  const findings: Finding[] = [];
  for (let i = 0; i < SIGNAL_COUNT; i++) {
    const limit = calibration.flatLimitMs[i];
    const since = context.flatSince[i] as number;
    if (limit == null || !Number.isFinite(since)) continue;
    // Only evidence counts: the run ends at the last time the signal was actually reported, and a
    // signal that went quiet is stale (a polling gap), not stuck.
    const lastSeen = context.lastSeenAt[i] as number;
    if (!(context.now - lastSeen <= STALE_MS)) continue;
    const flatMs = lastSeen - since;
    if (flatMs > limit) {
      const def = signalDefinition(i);
      const value = context.flatValue[i] as number;
      findings.push({
        condition: `sensor.stuck.${def.key}`,
        kind: 'sensor',
        severity: 'warning',
        title: `${def.name} reading frozen`,
        explanation:
          `${def.name} has read exactly ${formatValue(i, value)} for ${Math.round(flatMs / 1000)} s with the engine ` +
          `running; on healthy drives it never holds one value longer than ` +
          `${Math.round((calibration.observedFlatMs[i] ?? 0) / 1000)} s. The sensor or its signal wire is ` +
          'likely stuck. Check: connector and wiring, sensor reference voltage, live data while revving.',
        signals: [def.key],
        observed: flatMs / 1000,
        expected: { max: limit / 1000 },
        unit: 's',
      });
    }
  }
  for (let i = 0; i < SIGNAL_COUNT; i++) {
    const limit = calibration.stepLimit[i];
    if (limit == null) continue;
    const { jumps, largest } = countJumps(window.frames, i, limit);
    if (jumps >= NOISY_STEPS) {
      const def = signalDefinition(i);
      findings.push({
        condition: `sensor.noisy.${def.key}`,
        kind: 'sensor',
        severity: 'warning',
        title: `${def.name} signal erratic`,
        explanation:
          `${def.name} jumped by more than ${formatValue(i, limit)} between consecutive samples ${jumps} times in ` +
          `30 s (largest ${formatValue(i, largest)}); the real temperature cannot change that fast (healthy ` +
          `drives never step more than ${formatValue(i, calibration.observedStep[i] ?? 0)}). Check: loose ` +
          'connector, chafed wiring, corroded sensor terminals, poor ground.',
        signals: [FEATURE_SIGNALS[i] as string],
        observed: largest,
        expected: { max: limit },
        unit: signalDefinition(i).unit,
      });
    }
  }
  return findings;
}

function countJumps(frames: readonly Frame[], index: number, limit: number): { jumps: number; largest: number } {
  let jumps = 0;
  let largest = 0;
  let prev = NaN;
  for (const f of frames) {
    if (f.seen !== undefined && (f.seen & (1 << index)) === 0) continue;
    const v = f.v[index] as number;
    const step = Math.abs(v - prev);
    if (step > limit) jumps++;
    if (step > largest) largest = step;
    prev = v;
  }
  return { jumps, largest };
}
