import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { deployModel, getLiveModel, listModels, modelPerformance, registerModel } from './registry.js';
import { RULES_ONLY_MODEL } from '../models/model.js';

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
