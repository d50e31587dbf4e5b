import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { BOOKING_CRONS, LEDGER_CRONS, PAYMENT_CRONS, PAYOUT_CRON, type ApiServer } from '@clutch/api';
import { createInProcessBus } from '@clutch/contracts';
import type { Database } from '@clutch/db';
import { openTestDatabase } from '@clutch/db/testing';
import { datasetsDir } from '@clutch/firmware-profiles';
import { carObdDir, listModels, registerModel, RULES_ONLY_MODEL, sampleFleet } from '@clutch/ml';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig, type PlatformConfig } from '../config/config.js';
import { startPlatformApi } from './api.js';
import { CRONS, startJobs, type RunningJobs } from './jobs.js';

const hasCarObd = existsSync(path.join(carObdDir('.', { CLUTCH_DATASETS_DIR: datasetsDir() }), 'live2.csv'));
const ADMIN = 'admin-token-for-job-tests';
const logger = pino({ level: 'silent' });

describe('durable background work: crons and AI retrains on the job queue', () => {
  let db: Database;
  let modelsDir: string;
  let smallFleet: string | undefined;
  let config: PlatformConfig;
  let jobs: RunningJobs | undefined;
  let api: ApiServer | undefined;
  const call = async (
    method: string,
    url: string,
    body?: unknown,
  ): Promise<{ status: number; body: Record<string, unknown>; location: string | null }> => {
    const res = await fetch(api!.url + url, {
      method,
      headers: { authorization: `Bearer ${ADMIN}`, ...(body ? { 'content-type': 'application/json' } : {}) },
      ...(body ? { body: JSON.stringify(body) } : {}),
    });
    return {
      status: res.status,
      body: (await res.json()) as Record<string, unknown>,
      location: res.headers.get('location'),
    };
  };
  const startApi = async (queue: RunningJobs): Promise<ApiServer> =>
    startPlatformApi(db, createInProcessBus(), config, logger, { jobs: queue.queue, health: async () => ({}) });

  beforeAll(async () => {
    modelsDir = await mkdtemp(path.join(os.tmpdir(), 'clutch-jobs-models-'));
    // A retrain evaluates every car of the data sets folder (minutes on the whole of ../shared/datasets):
    // the job's plumbing is what is tested here, so it gets a folder linking the first drives of each car.
    smallFleet = hasCarObd
      ? await sampleFleet(datasetsDir(), await mkdtemp(path.join(os.tmpdir(), 'clutch-jobs-fleet-')), 10)
      : undefined;
    config = loadConfig(
      ['--port', '0', '--require-auth'],
      {
        CLUTCH_MODELS_DIR: modelsDir,
        CLUTCH_ADMIN_TOKEN: ADMIN,
        ...(smallFleet ? { CLUTCH_DATASETS_DIR: smallFleet } : {}),
      },
      process.cwd(),
    );
    db = await openTestDatabase('pglite');
    jobs = await startJobs(db, config, logger, { workers: true, pollingIntervalSeconds: 0.5 });
  });

  afterAll(async () => {
    await api?.close();
    await jobs?.stop();
    await db?.close();
    await rm(modelsDir, { recursive: true, force: true });
    if (smallFleet) await rm(smallFleet, { recursive: true, force: true });
  });

  it("schedules the platform's crons (purges, bookings, ledger holds, payments, payouts), cluster-wide", async () => {
    const schedules = await jobs!.queue.schedules();
    expect(schedules.map((s) => [s.name, s.cron]).sort()).toEqual(
      [
        [CRONS.idempotencyPurge.queue, CRONS.idempotencyPurge.cron],
        [CRONS.outboxPrune.queue, CRONS.outboxPrune.cron],
        [CRONS.identityPrune.queue, CRONS.identityPrune.cron],
        [BOOKING_CRONS.noShow.queue, BOOKING_CRONS.noShow.cron],
        [BOOKING_CRONS.expireHolds.queue, BOOKING_CRONS.expireHolds.cron],
        [LEDGER_CRONS.expireHolds.queue, LEDGER_CRONS.expireHolds.cron],
        [PAYMENT_CRONS.renewHolds.queue, PAYMENT_CRONS.renewHolds.cron],
        [PAYMENT_CRONS.reconcile.queue, PAYMENT_CRONS.reconcile.cron],
        [PAYMENT_CRONS.verifyPending.queue, PAYMENT_CRONS.verifyPending.cron],
        [PAYOUT_CRON.queue, PAYOUT_CRON.cron],
      ].sort(),
    );
  });

  it.skipIf(!hasCarObd)(
    'runs a retrain requested over HTTP on a job worker; the job outlives the API process',
    async () => {
      const base = await registerModel(
        { model: RULES_ONLY_MODEL, seed: 1, trainingData: { train: [], validation: [], test: [] } },
        modelsDir,
      );
      api = await startApi(jobs!);
      const started = await call('POST', `/api/ai/models/${base.id}/retrain`, { seed: 3, epochs: 1 });
      expect(started.status).toBe(202);
      const jobId = started.body.id as string;
      expect(started.location).toBe(`/api/ai/jobs/${jobId}`);
      expect(started.body).toMatchObject({ kind: 'retrain', subject: base.id, status: 'running', result: null });
      // Stored with its queue job, not in the API's memory.
      expect((await db.query(`SELECT subject FROM ai_jobs WHERE id = $1`, [jobId])).rows).toEqual([
        { subject: base.id },
      ]);
      expect((await call('POST', `/api/ai/models/${base.id}/retrain`)).body).toMatchObject({
        code: 'RETRAIN_RUNNING',
        jobId,
      });

      // A new API process (here: a fresh server and queue handle) still answers for the job.
      await api.close();
      const enqueueOnly = await startJobs(db, config, logger, { workers: false });
      try {
        api = await startApi(enqueueOnly);
        await expect
          .poll(async () => (await call('GET', `/api/ai/jobs/${jobId}`)).body.status, {
            timeout: 60_000,
            interval: 250,
          })
          .not.toBe('running');
        const job = (await call('GET', `/api/ai/jobs/${jobId}`)).body;
        expect(job).toMatchObject({ status: 'succeeded', error: null });
        expect((job.progress as string[]).join('\n')).toMatch(/seed 3/);
        const result = job.result as { modelId: string; version: string };
        expect(result.version).toMatch(new RegExp(`^${base.id}>ae-seed3-`));
        expect((await listModels(modelsDir)).find((m) => m.id === result.modelId)?.live).toBe(false);
      } finally {
        await api.close();
        api = undefined;
        await enqueueOnly.stop();
      }
    },
    90_000,
  );
});
