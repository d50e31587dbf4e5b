import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { deployModel, getLiveModel, listModels, loadModel, modelPerformance, registerModel } from './registry.js';
import { RULES_ONLY_MODEL, type ClutchModel } from '../models/model.js';
import { ARTIFACT_FORMAT, artifactId, type AutoencoderArtifact } from '../models/autoencoder.js';
import { FEATURE_NAMES } from '../features/windows.js';
import { DEFAULT_SCALE_FLOOR, FEATURE_COUNT } from '../features/vehicle-features.js';
import { DEFAULT_THRESHOLD_POLICY } from '../models/fleet-anomaly.js';
import { createOnlineScorer } from '../online/scorer.js';
import { FRAME_MS } from '../features/frames.js';
import { SIGNAL_COUNT } from '../signals.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'clutch-ml-registry-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const split = { train: ['drive1.csv'], validation: ['idle1.csv'], test: ['live1.csv'] };

describe('model registry', () => {
  it('lists registered models, deploys one and serves it as live', async () => {
    expect(await listModels(dir)).toEqual([]);
    expect(await getLiveModel(dir)).toBeNull();
    const a = await registerModel({ model: { ...RULES_ONLY_MODEL, version: 'a' }, seed: 1, trainingData: split }, dir);
    const metrics = { minF1: 0.95, falseAlarmsPer100h: 0, perFault: [], evaluatedAt: '2025-01-01T00:00:00Z', seed: 2 };
    const b = await registerModel(
      { model: { ...RULES_ONLY_MODEL, version: 'b' }, seed: 2, trainingData: split, metrics },
      dir,
    );
    expect((await listModels(dir)).map((m) => [m.version, m.live])).toEqual([
      ['a', false],
      ['b', false],
    ]);
    await deployModel(b.id, dir);
    expect((await getLiveModel(dir))?.model.version).toBe('b');
    await deployModel(a.id, dir);
    const listed = await listModels(dir);
    expect(listed.filter((m) => m.live).map((m) => m.id)).toEqual([a.id]);
    expect(listed[0]?.trainingData).toEqual(split);
    expect((await modelPerformance(b.id, dir)).metrics?.minF1).toBe(0.95);
  });

  it('refuses an unknown id with a stable error code', async () => {
    await expect(deployModel('nope', dir)).rejects.toMatchObject({ code: 'ML_MODEL_NOT_FOUND' });
    await expect(modelPerformance('nope', dir)).rejects.toMatchObject({ code: 'ML_MODEL_NOT_FOUND' });
  });
});

/** A format-2 artifact with zero weights (reconstructs every vehicle's centre): enough for storage tests. */
function tinyArtifact(): AutoencoderArtifact {
  const layers = [
    {
      inputs: 2 * FEATURE_COUNT,
      outputs: 3,
      kernel: new Array<number>(6 * FEATURE_COUNT).fill(0),
      bias: [0, 0, 0],
      activation: 'tanh' as const,
    },
    {
      inputs: 3,
      outputs: FEATURE_COUNT,
      kernel: new Array<number>(3 * FEATURE_COUNT).fill(0),
      bias: new Array<number>(FEATURE_COUNT).fill(0),
      activation: 'linear' as const,
    },
  ];
  const scored = FEATURE_NAMES.map(() => true);
  const trained = FEATURE_NAMES.map(() => true);
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
    trainedOn: [{ name: 'test', windows: 0 }],
  };
}

/** What the one-car registry of earlier releases stored: absolute means, one global threshold. */
const V1_AUTOENCODER = {
  featureNames: [...FEATURE_NAMES],
  mean: new Array<number>(FEATURE_COUNT).fill(1),
  std: new Array<number>(FEATURE_COUNT).fill(1),
  layers: [
    {
      kernel: new Array<number>(FEATURE_COUNT * FEATURE_COUNT).fill(0),
      inputs: FEATURE_COUNT,
      outputs: FEATURE_COUNT,
      bias: new Array<number>(FEATURE_COUNT).fill(0),
      activation: 'linear',
    },
  ],
  threshold: 'Infinity',
  confirmWindows: 2,
};

describe('model artifacts across formats', () => {
  it('serves a model with an old-format autoencoder as rules only, and scoring runs on it', async () => {
    const old = { ...RULES_ONLY_MODEL, version: 'ae-seed7-v1', autoencoder: V1_AUTOENCODER } as unknown as ClutchModel;
    const entry = await registerModel({ model: old, seed: 7, trainingData: split }, dir);
    await deployModel(entry.id, dir);
    const live = await getLiveModel(dir);
    expect(live?.model.version).toBe('ae-seed7-v1');
    expect(live?.model.autoencoder).toBeUndefined();
    expect(live?.model.calibration).toEqual(RULES_ONLY_MODEL.calibration);
    // Ingest builds its scorer from the live model: a running engine's frames must score, not throw.
    const scorer = createOnlineScorer({ model: live!.model });
    const frames = Array.from({ length: 400 }, (_, i) => {
      const v = new Float64Array(SIGNAL_COUNT).fill(NaN);
      v[0] = 800;
      v[1] = 0;
      return { t: i * FRAME_MS, v };
    });
    expect(() => scorer.pushFrames('v1', frames)).not.toThrow();
  });

  it('keeps a current-format autoencoder through a save and load', async () => {
    const artifact = tinyArtifact();
    const entry = await registerModel(
      { model: { ...RULES_ONLY_MODEL, version: 'fleet', autoencoder: artifact }, seed: 1, trainingData: split },
      dir,
    );
    const loaded = await loadModel(entry.id, dir);
    expect(loaded.autoencoder).toEqual(artifact);
  });
});
