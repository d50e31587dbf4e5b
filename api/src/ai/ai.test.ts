import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import {
  carObdDir,
  FEATURE_SIGNALS,
  injectFault,
  loadDrive,
  registerModel,
  RULES_ONLY_MODEL,
  sampleFleet,
  trainModel,
  type Drive,
} from '@clutch/ml';
import type { Database } from '@clutch/db';
import { createApiKey } from '@clutch/identity';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultDatasetsDir } from '../diagnostics/dtc-descriptions.js';
import {
  backends,
  call,
  OTHER_TENANT,
  startFixture,
  TENANT,
  VEHICLE_B,
  VEHICLE_G,
  type Fixture,
  type Reply,
} from '../test-fixtures.js';

const ADMIN = 'admin-token-for-ai-tests';
const datasetsDir = defaultDatasetsDir();
const carObd = carObdDir('.', { CLUTCH_DATASETS_DIR: datasetsDir });
const hasCarObd = existsSync(path.join(carObd, 'live2.csv'));
/** A vehicle whose stored samples are a real drive that loses its charging half-way. */
const CAR = 'a1c0ffee-0000-4000-8000-00000000000a';

const split = { train: ['live2.csv', 'idle10.csv'], validation: ['drive3.csv'], test: [] };

/** Stores a drive's frames as samples, the way ingest stores readings, ending a minute before `end`. */
async function storeDrive(db: Database, drive: Pick<Drive, 'frames'>, vehicleId: string, end: number): Promise<number> {
  const last = drive.frames.at(-1)?.t ?? 0;
  const start = end - 60_000 - last;
  const times: Date[] = [];
  const keys: string[] = [];
  const values: number[] = [];
  for (const frame of drive.frames) {
    frame.v.forEach((value, i) => {
      if (!Number.isFinite(value)) return;
      times.push(new Date(start + frame.t));
      keys.push(FEATURE_SIGNALS[i]!);
      values.push(value);
    });
  }
  await db.query(
    `INSERT INTO samples (time, tenant_id, vehicle_id, signal_id, value)
     SELECT x.t, $2, $3, sg.id, x.v FROM unnest($1::timestamptz[], $4::text[], $5::float8[]) AS x(t, k, v) JOIN signals sg ON sg.key = x.k`,
    [times, TENANT, vehicleId, keys, values],
  );
  return start;
}

describe('model registry over HTTP', () => {
  let fx: Fixture;
  let modelsDir: string;
  let emptyDatasets: string;
  let smallFleet: string;
  let partner: string;
  const admin = (method: string, url: string, body?: unknown): Promise<Reply> =>
    call(fx.api.url, method, url, { token: ADMIN, body });
  const ids: Record<string, string> = {};

  beforeAll(async () => {
    modelsDir = await mkdtemp(path.join(os.tmpdir(), 'clutch-api-models-'));
    emptyDatasets = await mkdtemp(path.join(os.tmpdir(), 'clutch-api-no-datasets-'));
    // A retrain trains and evaluates on every car of the folder (minutes); a few drives per car keep it short.
    smallFleet = hasCarObd
      ? await sampleFleet(datasetsDir, await mkdtemp(path.join(os.tmpdir(), 'clutch-api-fleet-')), 10)
      : datasetsDir;
    fx = await startFixture({ requireAuth: true, adminToken: ADMIN, modelsDir, datasetsDir: smallFleet });
    partner = (await createApiKey(fx.db, { tenantId: TENANT, name: 'app', scopes: ['telemetry:read'] })).token;
    const metrics = {
      minF1: 0.98,
      falseAlarmsPer100h: 0,
      perFault: [{ fault: 'overheating', precision: 1, recall: 1, f1: 1, medianDelayS: 82 }],
      evaluatedAt: '2025-05-01T00:00:00.000Z',
      seed: 7,
    };
    // A tiny real model (autoencoder 21-8-4-8-21, 4 epochs) when the data set is here; else rule limits only.
    const model = hasCarObd
      ? (await trainModel(carObd, split, { seed: 42, epochs: 4, hidden: [8, 4, 8], version: 'tiny-ae' })).model
      : { ...RULES_ONLY_MODEL, version: 'tiny-ae' };
    ids.rules = (await registerModel({ model: RULES_ONLY_MODEL, seed: 1, trainingData: split }, modelsDir)).id;
    ids.tiny = (await registerModel({ model, seed: 42, trainingData: split, metrics }, modelsDir)).id;
  });

  afterAll(async () => {
    await fx?.close();
    await rm(modelsDir, { recursive: true, force: true });
    await rm(emptyDatasets, { recursive: true, force: true });
    if (smallFleet !== datasetsDir) await rm(smallFleet, { recursive: true, force: true });
  });

  it('lists, deploys and reports the performance of registered models', async () => {
    const listed = await call(fx.api.url, 'GET', '/api/ai/models', { token: partner });
    expect(listed.status).toBe(200);
    expect(
      (listed.body.models as { id: string; version: string; live: boolean }[]).map((m) => [m.id, m.version, m.live]),
    ).toEqual([
      [ids.rules, 'rules-only', false],
      [ids.tiny, 'tiny-ae', false],
    ]);
    const deployed = await admin('POST', '/api/ai/models/deploy', { id: ids.tiny });
    expect(deployed.status).toBe(200);
    expect(deployed.body).toMatchObject({ id: ids.tiny, live: true, trainingData: split });
    const after = (await admin('GET', '/api/ai/models')).body.models as { id: string; live: boolean }[];
    expect(after.filter((m) => m.live).map((m) => m.id)).toEqual([ids.tiny]);
    const perf = await call(fx.api.url, 'GET', `/api/ai/models/${ids.tiny}/performance`, { token: partner });
    expect(perf.body).toMatchObject({
      id: ids.tiny,
      version: 'tiny-ae',
      metrics: { minF1: 0.98, falseAlarmsPer100h: 0 },
    });
    expect((await admin('GET', `/api/ai/models/${ids.rules}/performance`)).body.metrics).toBeNull();
    // Predictions run on the live model from now on.
    const predicted = await call(fx.api.url, 'POST', '/api/ai/maintenance/predict', {
      token: partner,
      body: { readings: [{ signal: 'engine.rpm', time: 0, value: 800 }] },
    });
    expect(predicted.body).toMatchObject({ modelId: ids.tiny, modelVersion: 'tiny-ae' });
  });

  it('answers MODEL_NOT_FOUND for an unknown model and keeps deploy and retrain for administrators', async () => {
    for (const res of [
      await admin('POST', '/api/ai/models/deploy', { id: 'm9999-nope' }),
      await admin('GET', '/api/ai/models/m9999-nope/performance'),
      await admin('POST', '/api/ai/models/m9999-nope/retrain'),
    ]) {
      expect(res.status).toBe(404);
      expect(res.type).toContain('application/problem+json');
      expect(res.body).toMatchObject({ code: 'MODEL_NOT_FOUND', modelId: 'm9999-nope' });
    }
    expect(
      (await call(fx.api.url, 'POST', '/api/ai/models/deploy', { token: partner, body: { id: ids.rules } })).body.code,
    ).toBe('FORBIDDEN');
    expect((await call(fx.api.url, 'POST', `/api/ai/models/${ids.rules}/retrain`, { token: partner })).status).toBe(
      403,
    );
    expect((await call(fx.api.url, 'GET', '/api/ai/models')).status).toBe(401);
    expect((await admin('GET', '/api/ai/jobs/99999999-9999-4999-8999-999999999999')).body.code).toBe('JOB_NOT_FOUND');
    expect((await admin('POST', '/api/ai/models/deploy', { id: '../registry' })).body.code).toBe('VALIDATION_FAILED');
  });

  it("refuses to retrain without any car's drive logs", async () => {
    const bare = await startFixture({ requireAuth: true, adminToken: ADMIN, modelsDir, datasetsDir: emptyDatasets });
    try {
      const res = await call(bare.api.url, 'POST', `/api/ai/models/${ids.tiny}/retrain`, { token: ADMIN, body: {} });
      expect(res.status).toBe(409);
      expect(res.body).toMatchObject({ code: 'DATASET_UNAVAILABLE', dataset: 'cars' });
    } finally {
      await bare.close();
    }
  });

  it.skipIf(!hasCarObd)(
    'retrains in the background: 202, progress, then a new evaluated model that is not live',
    async () => {
      const started = await admin('POST', `/api/ai/models/${ids.tiny}/retrain`, { seed: 3, epochs: 2 });
      expect(started.status).toBe(202);
      const jobId = started.body.id as string;
      expect(started.headers.get('location')).toBe(`/api/ai/jobs/${jobId}`);
      expect(started.body).toMatchObject({ kind: 'retrain', subject: ids.tiny, status: 'running', result: null });
      expect((await admin('POST', `/api/ai/models/${ids.tiny}/retrain`)).body).toMatchObject({
        code: 'RETRAIN_RUNNING',
        jobId,
      });
      let job: Reply;
      do {
        await new Promise((r) => setTimeout(r, 250));
        job = await admin('GET', `/api/ai/jobs/${jobId}`);
      } while (job.body.status === 'running');
      expect(job.body).toMatchObject({ status: 'succeeded', error: null });
      expect((job.body.progress as string[]).join('\n')).toMatch(/split by drive file \(seed 3\)/);
      const result = job.body.result as {
        modelId: string;
        version: string;
        metrics: { minF1: number; perFault: unknown[] };
      };
      expect(result.version).toMatch(new RegExp(`^${ids.tiny}>ae-seed3-`));
      // A few drives per car: too little for good figures, enough to show the evaluation ran per car.
      expect(result.metrics.minF1).toBeGreaterThanOrEqual(0);
      expect(result.metrics.perFault.length).toBeGreaterThan(0);
      const models = (await admin('GET', '/api/ai/models')).body.models as { id: string; live: boolean }[];
      expect(models.map((m) => m.id)).toContain(result.modelId);
      expect(models.find((m) => m.id === result.modelId)?.live).toBe(false);
    },
    60_000,
  );
});

describe.each(backends('api_ai'))('maintenance prediction and driving analysis on %s', (_name, open) => {
  let fx: Fixture;
  let modelsDir: string;
  let reader: string;
  let noScope: string;
  let globex: string;
  let driveStart: number;
  const post = (url: string, body: unknown, token: string = reader): Promise<Reply> =>
    call(fx.api.url, 'POST', url, { token, body });

  beforeAll(async () => {
    modelsDir = await mkdtemp(path.join(os.tmpdir(), 'clutch-api-models-'));
    fx = await startFixture({
      requireAuth: true,
      adminToken: ADMIN,
      modelsDir,
      datasetsDir,
      ...(open ? { open } : {}),
    });
    await fx.db.query(`INSERT INTO vehicles (id, tenant_id, name, make) VALUES ($1, $2, 'Etios', 'Toyota')`, [
      CAR,
      TENANT,
    ]);
    if (hasCarObd)
      driveStart = await storeDrive(
        fx.db,
        injectFault(await loadDrive(carObd, 'live2.csv'), 'weak_battery', { seed: 5 }),
        CAR,
        fx.now.getTime(),
      );
    reader = (await createApiKey(fx.db, { tenantId: TENANT, name: 'reader', scopes: ['telemetry:read'] })).token;
    noScope = (await createApiKey(fx.db, { tenantId: TENANT, name: 'dtc only', scopes: ['dtc:read'] })).token;
    globex = (await createApiKey(fx.db, { tenantId: OTHER_TENANT, name: 'fleet', scopes: ['telemetry:read'] })).token;
  });

  afterAll(async () => {
    await fx?.close();
    await rm(modelsDir, { recursive: true, force: true });
  });

  it.skipIf(!hasCarObd)('predicts maintenance from the stored samples and explains the weak battery', async () => {
    const res = await post('/api/ai/maintenance/predict', { vehicleId: CAR });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ vehicleId: CAR, modelId: null, modelVersion: 'rules-only', truncated: false });
    expect(res.body.readings as number).toBeGreaterThan(20_000);
    expect(res.body.hoursAnalysed as number).toBeGreaterThan(0.3);
    const systems = res.body.systems as Record<
      string,
      {
        status: string;
        summary: string;
        alerts: { title: string; explanation: string; signals: string[]; at: string }[];
      }
    >;
    expect(systems.battery!.status).toBe('attention');
    expect(systems.battery!.alerts[0]!.explanation).toMatch(/alternator/);
    expect(systems.battery!.alerts[0]!.signals).toContain('ecu.control_module_voltage');
    expect(Date.parse(systems.battery!.alerts[0]!.at)).toBeGreaterThan(driveStart);
    expect(systems.cooling).toMatchObject({ status: 'ok', alerts: [] });
    expect(systems.cooling!.summary).toMatch(/^No fault found: coolant peaked at \d+ °C/);

    // A range before the drive holds nothing: every system says so rather than "ok".
    const empty = await post('/api/ai/maintenance/predict', {
      vehicleId: CAR,
      to: new Date(driveStart - 3600_000).toISOString(),
    });
    expect(empty.body.readings).toBe(0);
    expect(Object.values(empty.body.systems as Record<string, { status: string }>).map((s) => s.status)).toEqual(
      Array(6).fill('no_data'),
    );
  });

  it.skipIf(!hasCarObd)('scores the stored drive', async () => {
    const res = await post('/api/ai/driving/analyze', {
      vehicleId: CAR,
      from: new Date(driveStart - 1000).toISOString(),
    });
    expect(res.status).toBe(200);
    expect(res.body.vehicleId).toBe(CAR);
    expect(res.body.score as number).toBeGreaterThanOrEqual(0);
    expect(res.body.score as number).toBeLessThanOrEqual(100);
    expect(res.body.explanation).toMatch(/Score \d+\/100/);
    expect(res.body.durationHours as number).toBeGreaterThan(0.3);
  });

  it('analyses readings sent in the request', async () => {
    const t0 = Date.parse('2025-03-01T08:00:00Z');
    // 20 s at idle, then a hard launch: +30 km/h in 2 s.
    const readings = Array.from({ length: 40 }, (_, i) => {
      const speed = i < 20 ? 0 : Math.min(60, (i - 20) * 15);
      return [
        { signal: 'engine.rpm', time: new Date(t0 + i * 1000).toISOString(), value: i < 20 ? 800 : 3500 },
        { signal: 'vehicle.speed', time: t0 + i * 1000, value: speed },
      ];
    }).flat();
    const res = await post('/api/ai/driving/analyze', { readings });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ vehicleId: null, readings: 80 });
    expect(res.body.harshAccelerations as number).toBeGreaterThanOrEqual(1);
    expect((res.body.events as { kind: string; at: string }[])[0]).toMatchObject({ kind: 'harsh_acceleration' });
    const predicted = await post('/api/ai/maintenance/predict', { readings });
    expect(predicted.status).toBe(200);
    expect(predicted.body.modelVersion).toBe('rules-only');
  });

  it('keeps predictions to callers with telemetry:read on their own tenant', async () => {
    expect((await post('/api/ai/maintenance/predict', { vehicleId: VEHICLE_B }, noScope)).body).toMatchObject({
      status: 403,
      code: 'FORBIDDEN',
      requiredScope: 'telemetry:read',
    });
    expect((await post('/api/ai/driving/analyze', { vehicleId: VEHICLE_B }, noScope)).status).toBe(403);
    expect((await post('/api/ai/maintenance/predict', { vehicleId: VEHICLE_B }, globex)).body.code).toBe(
      'VEHICLE_NOT_FOUND',
    );
    expect((await post('/api/ai/driving/analyze', { vehicleId: VEHICLE_G }, reader)).body.code).toBe(
      'VEHICLE_NOT_FOUND',
    );
    expect((await post('/api/ai/maintenance/predict', { vehicleId: VEHICLE_G }, globex)).status).toBe(200);
    expect((await post('/api/ai/maintenance/predict', { vehicleId: VEHICLE_B }, ADMIN)).status).toBe(200);
    expect(
      (await call(fx.api.url, 'POST', '/api/ai/maintenance/predict', { body: { vehicleId: VEHICLE_B } })).status,
    ).toBe(401);
  });

  it('validates the request', async () => {
    expect((await post('/api/ai/maintenance/predict', {})).body.code).toBe('VALIDATION_FAILED');
    expect((await post('/api/ai/maintenance/predict', { readings: [] })).body.code).toBe('VALIDATION_FAILED');
    const wide = await post('/api/ai/maintenance/predict', {
      vehicleId: CAR,
      from: '2025-01-01T00:00:00Z',
      to: '2025-02-01T00:00:00Z',
    });
    expect(wide.body.code).toBe('TIME_RANGE_INVALID');
  });
});
