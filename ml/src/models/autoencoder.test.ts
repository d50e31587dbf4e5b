import { describe, expect, it } from 'vitest';
import { anomalyScore, trainAutoencoder } from './autoencoder.js';
import { driveFeatures } from './train.js';
import { NO_CAROBD, onRealDrives, realDrive } from '../test-helpers.js';
import { S } from '../signals.js';

describe.skipIf(NO_CAROBD)(onRealDrives('autoencoder trained on real drives'), () => {
  it('trains deterministically under a seed and scores an odd window above healthy ones', async () => {
    const train = driveFeatures([await realDrive('live2.csv'), await realDrive('idle10.csv')]);
    const validation = driveFeatures([await realDrive('drive3.csv')]);
    const options = { seed: 42, epochs: 4, hidden: [8, 4, 8] };
    const a = await trainAutoencoder(train, validation, options);
    const b = await trainAutoencoder(train, validation, options);
    expect(a.lossHistory).toEqual(b.lossHistory);
    expect(a.artifact.layers.map((l) => l.kernel)).toEqual(b.artifact.layers.map((l) => l.kernel));
    expect(a.artifact.threshold).toBe(b.artifact.threshold);
    expect(a.lossHistory.at(-1)!).toBeLessThan(a.lossHistory[0]!);
    const c = await trainAutoencoder(train, validation, { ...options, seed: 43 });
    expect(c.artifact.layers[0]!.kernel).not.toEqual(a.artifact.layers[0]!.kernel);

    const healthy = validation[0]!;
    const odd = Float64Array.from(healthy);
    odd[S.coolant] = 130;
    odd[S.voltage] = 9;
    expect(anomalyScore(a.artifact, odd).score).toBeGreaterThan(anomalyScore(a.artifact, healthy).score * 5);
  });
});
