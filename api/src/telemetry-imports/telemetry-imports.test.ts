import { readFileSync } from 'node:fs';
import { testDatabaseUrl } from '@clutch/db/testing';
import { generateSigningKeys } from '@clutch/identity';
import { importVehicleLog } from '@clutch/ingest';
import { createJobQueue, type JobQueue } from '@clutch/jobs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { JobEnqueuer } from '../ai/retrain-jobs.js';
import { createOwnedVehicle } from '../bookings/test-shop.js';
import { signedInUser, type TestUser } from '../roles/test-users.js';
import { backends, expectProblem, startFixture, type Fixture, type Reply } from '../test-fixtures.js';
import { defineTelemetryImportWorker } from './jobs.js';

/** Hand-written app logs (ml/src/import/fixtures): never a dataset's file. */
const fixture = (name: string): Buffer =>
  readFileSync(new URL(`../../../ml/src/import/fixtures/${name}`, import.meta.url));
const CAR_SCANNER = '2024-05-12 21-36-00.csv';
const TORQUE = 'torque-tracklog.csv';

describe.each(backends('api_telemetry_imports'))('log imports on %s', (_name, open) => {
  const keys = generateSigningKeys();
  let fx: Fixture;
  let queue: JobQueue | undefined;
  let alice: TestUser;
  let bob: TestUser;
  let car = '';
  const jobs: JobEnqueuer = {
    enqueue: (name, data, options) => {
      if (!queue) throw new Error('job queue not started');
      return queue.enqueue(name, data, options);
    },
  };

  beforeAll(async () => {
    fx = await startFixture({
      requireAuth: true,
      identity: { signingKeys: keys },
      rateLimit: { enabled: false },
      jobs,
      ...(open ? { open } : {}),
    });
    queue = createJobQueue({ db: fx.db, url: testDatabaseUrl(fx.db), pollingIntervalSeconds: 0.5 });
    await queue.start();
    // The worker the platform runs: ingest's import with the rule-based checks (no model deployed).
    await defineTelemetryImportWorker(queue, {
      db: fx.db,
      importHistory: (input) => importVehicleLog(fx.db, { ...input, model: null, modelVersion: 'health-checks' }),
    });
    alice = await signedInUser(fx.db, keys, { tenantId: 'consumers', roles: ['owner'], name: 'Alice' });
    bob = await signedInUser(fx.db, keys, { tenantId: 'consumers', roles: ['owner'], name: 'Bob' });
    car = await createOwnedVehicle(fx.db, alice.userId, 'Alice car');
  });
  afterAll(async () => {
    await queue?.stop({ graceful: false, timeoutMs: 1000 });
    await fx?.close();
  });

  const upload = async (as: TestUser, bytes: Uint8Array | string, query = '', vehicle = car): Promise<Reply> => {
    const res = await fetch(`${fx.api.url}/api/vehicles/${vehicle}/imports${query}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${as.token}`, 'x-requested-with': 'test', 'content-type': 'text/csv' },
      body: bytes,
    });
    const text = await res.text();
    return {
      status: res.status,
      type: res.headers.get('content-type'),
      body: text ? JSON.parse(text) : {},
      headers: res.headers,
    };
  };
  const get = async (as: TestUser, path: string): Promise<Reply> => {
    const res = await fetch(`${fx.api.url}/api${path}`, { headers: { authorization: `Bearer ${as.token}` } });
    return {
      status: res.status,
      type: res.headers.get('content-type'),
      body: (await res.json()) as Record<string, unknown>,
      headers: res.headers,
    };
  };
  const settled = async (id: string): Promise<Record<string, unknown>> => {
    for (let i = 0; i < 200; i++) {
      const res = await get(alice, `/vehicles/${car}/imports/${id}`);
      if (res.body.status === 'succeeded' || res.body.status === 'failed') return res.body;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`import ${id} did not finish`);
  };

  it('takes a Car Scanner log, imports it on the job queue, and shows what it did', async () => {
    const res = await upload(alice, fixture(CAR_SCANNER), `?name=${encodeURIComponent(CAR_SCANNER)}`);
    expect(res.status, JSON.stringify(res.body)).toBe(202);
    expect(res.body).toMatchObject({ vehicleId: car, status: 'queued', fileName: CAR_SCANNER, via: 'api' });
    expect(res.headers.get('location')).toBe(`/api/vehicles/${car}/imports/${res.body.id as string}`);
    const done = await settled(res.body.id as string);
    expect(done).toMatchObject({ status: 'succeeded', format: 'car-scanner', error: null });
    const summary = done.summary as Record<string, unknown>;
    expect(summary).toMatchObject({
      format: 'car-scanner',
      from: '2024-05-12T21:36:00.000Z',
      datedByFile: true,
      samplesAlreadyStored: 0,
      calibration: { status: 'calibrating' },
    });
    expect((summary.readingsPerSignal as Record<string, number>)['engine.rpm']).toBe(12);
    expect(summary.skippedColumns).toEqual(
      expect.arrayContaining([expect.objectContaining({ source: 'Speed (GPS) (km/h)' })]),
    );
    const stored = await fx.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM samples WHERE vehicle_id = $1`, [
      car,
    ]);
    expect(stored.rows[0]!.n).toBe(summary.samplesStored);
    // The uploaded text is not kept once imported.
    const row = await fx.db.query<{ content: string | null }>(`SELECT content FROM telemetry_imports WHERE id = $1`, [
      done.id,
    ]);
    expect(row.rows[0]!.content).toBeNull();
    const list = await get(alice, `/vehicles/${car}/imports`);
    expect((list.body.items as { id: string }[]).map((i) => i.id)).toEqual([done.id]);
  });

  it('answers the same file again with its first import, storing nothing twice', async () => {
    const again = await upload(alice, fixture(CAR_SCANNER), `?name=${encodeURIComponent(CAR_SCANNER)}`);
    expect(again.status).toBe(202);
    expect(again.body.status).toBe('succeeded');
    const list = await get(alice, `/vehicles/${car}/imports`);
    expect(list.body.items).toHaveLength(1);
  });

  it('reads a Torque log with the format named, converting the units the user chose', async () => {
    const res = await upload(alice, fixture(TORQUE), '?name=trackLog.csv&format=torque');
    expect(res.status).toBe(202);
    const done = await settled(res.body.id as string);
    const summary = done.summary as { readingsPerSignal: Record<string, number>; from: string };
    expect(done.status).toBe('succeeded');
    expect(summary.from).toBe('2016-06-18T13:31:07.123Z');
    const coolant = await fx.db.query<{ value: number }>(
      `SELECT value FROM samples WHERE vehicle_id = $1 AND time = '2016-06-18T13:31:07.123Z' AND signal_id = (SELECT id FROM signals WHERE key = 'engine.coolant_temp')`,
      [car],
    );
    expect(coolant.rows[0]!.value).toBeCloseTo(75, 6); // 167 °F
  });

  it('refuses what it cannot import: an unknown format, an empty file, a file over 20 MB', async () => {
    expectProblem(await upload(alice, 'Date,Amount\n2024-01-01,3\n'), 422, 'IMPORT_FORMAT_UNKNOWN');
    expectProblem(await upload(alice, '  \n'), 422, 'IMPORT_EMPTY');
    expectProblem(await upload(alice, Buffer.alloc(20 * 1024 * 1024 + 1, 0x20)), 413, 'PAYLOAD_TOO_LARGE');
  });

  it("keeps another owner's car out of reach: 404 to upload, list or read", async () => {
    expectProblem(await upload(bob, fixture(CAR_SCANNER)), 404, 'VEHICLE_NOT_FOUND');
    expectProblem(await get(bob, `/vehicles/${car}/imports`), 404, 'VEHICLE_NOT_FOUND');
    const mine = await get(alice, `/vehicles/${car}/imports`);
    const id = (mine.body.items as { id: string }[])[0]!.id;
    expectProblem(await get(bob, `/vehicles/${car}/imports/${id}`), 404, 'VEHICLE_NOT_FOUND');
    const bobsCar = await createOwnedVehicle(fx.db, bob.userId, 'Bob car');
    expectProblem(await get(bob, `/vehicles/${bobsCar}/imports/${id}`), 404, 'IMPORT_NOT_FOUND');
  });
});
