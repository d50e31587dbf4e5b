import { describe, expect, it } from 'vitest';
import { FEATURE_NAMES } from '../features/windows.js';
import { DEFAULT_SCALE_FLOOR, FEATURE_COUNT } from '../features/vehicle-features.js';
import {
  anomalyScore,
  ARTIFACT_FORMAT,
  artifactId,
  isCurrentArtifact,
  type AutoencoderArtifact,
} from './autoencoder.js';
import { DEFAULT_THRESHOLD_POLICY } from './fleet-anomaly.js';

/** A hand-made artifact: the first layer copies z through, so the reconstruction is easy to predict. */
function passThrough(): AutoencoderArtifact {
  const width = FEATURE_COUNT;
  const kernel = new Array<number>(2 * width * width).fill(0);
  // Row i (input i) → column i (output i), for the z half of the input only, scaled by 0.5.
  for (let i = 0; i < width; i++) kernel[i * width + i] = 0.5;
  const layers = [
    {
      inputs: 2 * width,
      outputs: width,
      kernel,
      bias: new Array<number>(width).fill(0),
      activation: 'linear' as const,
    },
  ];
  const scored = FEATURE_NAMES.map(() => true);
  const trained = FEATURE_NAMES.map((n) => n !== 'mean.catalyst');
  return {
    format: ARTIFACT_FORMAT,
    id: artifactId(layers, FEATURE_NAMES, DEFAULT_SCALE_FLOOR, scored, trained),
    featureNames: [...FEATURE_NAMES],
    scaleFloor: [...DEFAULT_SCALE_FLOOR],
    scored,
    trained,
    layers,
    threshold: DEFAULT_THRESHOLD_POLICY,
    confirmWindows: 4,
    trainedOn: [],
  };
}

describe('masked autoencoder scoring', () => {
  it('scores only the features present and trained, and names the signal most wrong', () => {
    const artifact = passThrough();
    const z = new Float64Array(FEATURE_COUNT).fill(1);
    const mask = new Float64Array(FEATURE_COUNT).fill(1);
    const coolant = FEATURE_NAMES.indexOf('jitter.coolant');
    z[coolant] = 6;
    const all = anomalyScore(artifact, z, mask);
    // Reconstruction is z / 2: error (z/2)²; the catalyst was never trained, so it is not scored.
    expect(all.contributions[FEATURE_NAMES.indexOf('mean.rpm')]).toBeCloseTo(0.25);
    expect(all.contributions[FEATURE_NAMES.indexOf('mean.catalyst')]).toBe(0);
    expect(all.contributions[coolant]).toBeCloseTo(9);
    expect([...all.perSignal.keys()].sort((a, b) => all.perSignal[b]! - all.perSignal[a]!)[0]).toBe(3); // coolant
    // A masked feature neither feeds the model nor counts, whatever its value.
    const masked = Float64Array.from(mask);
    masked[coolant] = 0;
    const without = anomalyScore(artifact, z, masked);
    z[coolant] = -1000;
    expect(anomalyScore(artifact, z, masked).contributions).toEqual(without.contributions);
    expect(without.contributions[coolant]).toBe(0);
  });

  it('tells the current artifact format from the one-car v1 and from junk', () => {
    const artifact = passThrough();
    expect(isCurrentArtifact(JSON.parse(JSON.stringify(artifact)))).toBe(true);
    expect(isCurrentArtifact({ featureNames: [...FEATURE_NAMES], mean: [], std: [], layers: [], threshold: 1 })).toBe(
      false,
    );
    expect(isCurrentArtifact({ ...artifact, layers: [{ ...artifact.layers[0]!, inputs: FEATURE_COUNT }] })).toBe(false);
    expect(isCurrentArtifact({ ...artifact, featureNames: FEATURE_NAMES.slice(1) })).toBe(false);
    expect(isCurrentArtifact(null)).toBe(false);
  });
});
