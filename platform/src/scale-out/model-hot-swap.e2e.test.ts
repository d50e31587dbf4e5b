import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { deployModel, registerModel, RULES_ONLY_MODEL } from '@clutch/ml';
import { createTestDatabase, startRedisServer, type RedisServer } from '@clutch/test-support';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { loadConfig } from '../config/config.js';
import { startRole, type RunningRole } from './roles.js';

// Issue 13 item 5: a model deployed into the shared registry (by the API or the ml CLI, in another
// process) takes over scoring on a running ingest worker, without a restart.
describe('--role ingest picks up a newly deployed model', () => {
  let redis: RedisServer;
  let modelsDir: string;
  let ingest: RunningRole | undefined;
  const split = { train: ['drive1.csv'], validation: ['idle1.csv'], test: [] };

  beforeAll(async () => {
    redis = await startRedisServer();
    modelsDir = await mkdtemp(path.join(os.tmpdir(), 'clutch-hot-swap-'));
  });

  afterAll(async () => {
    await ingest?.stop();
    await redis?.stop();
    await rm(modelsDir, { recursive: true, force: true });
  });

  it('scores with the deployed model within the watch interval, and with the next one after it', async () => {
    const env = {
      DATABASE_URL: await createTestDatabase(inject('pgAdminUrl'), 'hot_swap'),
      REDIS_URL: redis.url,
      CLUTCH_MODELS_DIR: modelsDir,
      CLUTCH_MODEL_WATCH_MS: '200',
    };
    ingest = await startRole('ingest', loadConfig([], env, process.cwd()), pino({ level: 'silent' }));
    expect(ingest.scoring?.modelVersion()).toBe('health-checks');

    // Registered and deployed the way `npm run ml -- ... --register` and POST /api/ai/models/deploy do.
    const first = await registerModel(
      { model: { ...RULES_ONLY_MODEL, version: 'hot-v1' }, seed: 1, trainingData: split },
      modelsDir,
    );
    await deployModel(first.id, modelsDir);
    await expect.poll(() => ingest!.scoring?.modelVersion(), { timeout: 3000, interval: 50 }).toBe('hot-v1');

    const second = await registerModel(
      { model: { ...RULES_ONLY_MODEL, version: 'hot-v2' }, seed: 2, trainingData: split },
      modelsDir,
    );
    await deployModel(second.id, modelsDir);
    await expect.poll(() => ingest!.scoring?.modelVersion(), { timeout: 3000, interval: 50 }).toBe('hot-v2');
    // The slot ingest reads per batch is the one that changed (no copy was handed to ingest).
    expect(ingest.scoring?.modelVersion()).toBe('hot-v2');
  });
});
