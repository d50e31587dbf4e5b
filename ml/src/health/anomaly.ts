import { FEATURE_NAMES, windowFeatures } from '../features/windows.js';
import { anomalyScore, featureSignal, type AutoencoderArtifact } from '../models/autoencoder.js';
import { FEATURE_SIGNALS, formatValue, signalDefinition } from '../signals.js';
import type { Finding } from './types.js';
import type { FeatureWindow } from '../features/windows.js';

const DESCRIBE: Record<string, string> = {
  mean: 'average',
  std: 'spread',
  jitter: 'sample-to-sample jitter',
};

/**
 * Autoencoder check: the model learned how the signals move together on healthy drives; a window
 * it cannot reconstruct is unusual. The explanation names the features it got most wrong, with the
 * value it expected, so a mechanic sees which reading disagrees with the others.
 */
export function checkAnomaly(window: FeatureWindow, artifact: AutoencoderArtifact): Finding[] {
  const features = windowFeatures(window);
  if (!features) return [];
  const { score, contributions, expected } = anomalyScore(artifact, features);
  if (!(score > artifact.threshold)) return [];
  const ranked = [...contributions.keys()].sort((a, b) => (contributions[b] as number) - (contributions[a] as number));
  const top = ranked.slice(0, 3).filter((k) => featureSignal(k) >= 0);
  const parts = top.map((k) => {
    const sig = featureSignal(k);
    const [stat] = (FEATURE_NAMES[k] ?? '').split('.');
    const name = signalDefinition(sig).name.toLowerCase();
    return `${name} ${DESCRIBE[stat ?? ''] ?? stat} ${formatValue(sig, features[k] as number)} (expected about ${formatValue(sig, expected[k] as number)})`;
  });
  const signals = [...new Set(top.map((k) => FEATURE_SIGNALS[featureSignal(k)] as string))];
  const lead = top[0] ?? 0;
  return [
    {
      condition: 'anomaly.autoencoder',
      kind: 'anomaly',
      severity: 'warning',
      title: `Readings inconsistent: ${signalDefinition(Math.max(0, featureSignal(lead))).name}`,
      explanation:
        `Over the last 30 s the readings do not fit together the way they do on healthy drives ` +
        `(anomaly score ${score.toFixed(2)}, limit ${artifact.threshold.toFixed(2)}): ${parts.join('; ')}. ` +
        'Check the first-named sensor and its wiring against a known-good gauge.',
      signals,
      observed: features[lead] as number,
      expected: { min: expected[lead] as number, max: expected[lead] as number },
      unit: signalDefinition(Math.max(0, featureSignal(lead))).unit,
      confirmWindows: artifact.confirmWindows,
    },
  ];
}
