import { FEATURE_NAMES } from '../features/windows.js';
import { featureValue } from '../features/vehicle-features.js';
import { featureSignal, type AnomalyScore } from '../models/autoencoder.js';
import { FEATURE_SIGNALS, formatValue, signalDefinition } from '../signals.js';
import type { Finding } from './types.js';

const DESCRIBE: Record<string, string> = {
  mean: 'average',
  std: 'spread',
  jitter: 'sample-to-sample jitter',
};

export interface AnomalyEvidence {
  /** The window's features in transformed units (log scale for spreads and jitters). */
  x: Float64Array;
  /** The vehicle's robust centre and scale the errors were taken in. */
  centre: readonly number[];
  scale: readonly number[];
  result: AnomalyScore;
  /** Per feature: squared error over this vehicle's limit for it (above 1 = out of line). */
  ratio: Float64Array;
  /** This vehicle's limit per feature (NaN: not judged). */
  limits: readonly number[];
  /** The signal to name first (the one whose removal explains the window best); -1: the largest error. */
  lead: number;
  confirmWindows: number;
}

/** Signals ordered by their worst feature's error relative to the vehicle's own limit. */
export function blamedSignals(ratio: Float64Array): number[] {
  const worst = new Map<number, number>();
  ratio.forEach((r, k) => {
    const sig = featureSignal(k);
    if (sig >= 0 && r > 0) worst.set(sig, Math.max(worst.get(sig) ?? 0, r));
  });
  return [...worst.entries()].sort((a, b) => b[1] - a[1]).map(([sig]) => sig);
}

/**
 * Autoencoder finding: the fleet model learned how the signals move together on healthy cars, each
 * car in its own units; a window where one reading is further from what the others imply than this
 * vehicle's own healthy windows ever put it is unusual for this vehicle. The explanation names the
 * features most out of line, with the value the model expected, so a mechanic sees which reading
 * disagrees with the others.
 */
export function anomalyFinding(e: AnomalyEvidence): Finding {
  const { reconstruction } = e.result;
  const expectedAt = (k: number): number =>
    featureValue(k, (reconstruction[k] as number) * (e.scale[k] as number) + (e.centre[k] as number));
  const ranked = [...e.ratio.keys()]
    .filter((k) => featureSignal(k) >= 0 && (e.ratio[k] as number) > 0)
    .sort((a, b) => (e.ratio[b] as number) - (e.ratio[a] as number));
  const leadFeature = ranked.find((k) => featureSignal(k) === e.lead) ?? ranked[0] ?? 0;
  const lead = Math.max(0, featureSignal(leadFeature));
  const shown = [leadFeature, ...ranked.filter((k) => k !== leadFeature)].slice(0, 3);
  const parts = shown.map((k) => {
    const sig = featureSignal(k);
    const [stat] = (FEATURE_NAMES[k] ?? '').split('.');
    const name = signalDefinition(sig).name.toLowerCase();
    return `${name} ${DESCRIBE[stat ?? ''] ?? stat} ${formatValue(sig, featureValue(k, e.x[k] as number))} (expected about ${formatValue(sig, expectedAt(k))})`;
  });
  const signals = [...new Set([lead, ...blamedSignals(e.ratio).slice(0, 3)])].map((s) => FEATURE_SIGNALS[s] as string);
  const expected = expectedAt(leadFeature);
  const error = e.result.contributions[leadFeature] as number;
  return {
    condition: 'anomaly.autoencoder',
    kind: 'anomaly',
    severity: 'warning',
    title: `Readings inconsistent: ${signalDefinition(lead).name}`,
    explanation:
      `Over the last 30 s the readings do not fit together the way they do on this vehicle's healthy drives ` +
      `(error ${error.toFixed(1)}, this vehicle's limit ${(e.limits[leadFeature] as number).toFixed(1)}): ${parts.join('; ')}. ` +
      'Check the first-named sensor and its wiring against a known-good gauge.',
    signals,
    observed: featureValue(leadFeature, e.x[leadFeature] as number),
    expected: { min: expected, max: expected },
    unit: signalDefinition(lead).unit,
    confirmWindows: e.confirmWindows,
  };
}
