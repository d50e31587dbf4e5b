import { createInProcessBus } from '@clutch/contracts';
import type { Database } from '@clutch/db';
import { openTestDatabase } from '@clutch/db/testing';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createIngestHandler } from '../pipeline.js';
import { createRollupPartials } from './partials.js';
import { refreshRollups } from './refresh.js';
import { beat, fenceOtherWorkers, registerWorker, retireWorker } from './workers.js';

// Rollups right within seconds of a worker's death (issue 12 finding 7), still exactly once.
describe('ingest worker heartbeat and fencing', () => {
  let db: Database;
  let vehicleId: string;
  const minute = Math.floor(Date.now() / 60_000) * 60_000 - 2 * 60_000;
  const message = (seq: number, value: number) => ({
    topic: 'clutch/v1/acme/pi-1/telemetry',
    payload: Buffer.from(JSON.stringify({ v: 1, seq, t0: minute + seq * 1000, samples: [[0, 'engine.rpm', value]] })),
    receivedAt: Date.now(),
  });
  const rollup = async (): Promise<unknown[]> =>
    (
      await db.query(`SELECT n, sum FROM sample_rollups_1m WHERE vehicle_id = $1 AND bucket = $2`, [
        vehicleId,
        new Date(minute).toISOString(),
      ])
    ).rows;

  beforeAll(async () => {
    db = await openTestDatabase('pglite');
    await db.query(`INSERT INTO tenants (id, name) VALUES ('acme', 'Acme')`);
    const { rows } = await db.query<{ id: string }>(
      `INSERT INTO vehicles (tenant_id, name) VALUES ('acme', 'Etios') RETURNING id`,
    );
    vehicleId = rows[0]!.id;
    await db.query(`INSERT INTO devices (tenant_id, id, vehicle_id) VALUES ('acme', 'pi-1', $1)`, [vehicleId]);
  });
  afterAll(async () => {
    await db?.close();
  });
  beforeEach(async () => {
    for (const table of ['samples', 'sample_rollups_1m', 'rollup_dirty', 'ingest_workers'])
      await db.query(`DELETE FROM ${table}`);
  });

  it('recomputes the minutes of a worker whose heartbeat stopped, without waiting for the orphan age', async () => {
    const dead = createRollupPartials({ worker: 'w-killed' });
    await registerWorker(db, 'w-killed');
    await createIngestHandler({ db, bus: createInProcessBus(), rollupPartials: dead }).handle([
      message(1, 700),
      message(2, 900),
    ]);
    expect(await refreshRollups(db, { graceMs: 0, workerDeadAfterMs: 60_000 })).toBe(0); // still alive
    expect(await refreshRollups(db, { graceMs: 0, workerDeadAfterMs: 0 })).toBe(1); // silent: fenced and recomputed
    expect(await rollup()).toEqual([{ n: 2, sum: 1600 }]);
    // It was only slow: fenced, its flush adds nothing, and its heartbeat tells it so.
    await dead.flush(db, { all: true });
    expect(await rollup()).toEqual([{ n: 2, sum: 1600 }]);
    expect(await beat(db, 'w-killed')).toBe(false);
  });

  it("counts a fenced worker's later samples once: its flush leaves every mark for the recompute", async () => {
    const slow = createRollupPartials({ worker: 'w-slow' });
    await registerWorker(db, 'w-slow');
    const handler = createIngestHandler({ db, bus: createInProcessBus(), rollupPartials: slow });
    await handler.handle([message(1, 700)]);
    expect(await refreshRollups(db, { graceMs: 0, workerDeadAfterMs: 0 })).toBe(1);
    await handler.handle([message(2, 900)]); // a late sample of the same minute, marked by the fenced worker
    await slow.flush(db, { all: true }); // holds 700 and 900: adding them would count 700 twice
    expect(await rollup()).toEqual([{ n: 1, sum: 700 }]);
    expect(await refreshRollups(db, { graceMs: 0, workerDeadAfterMs: 0 })).toBe(1);
    expect(await rollup()).toEqual([{ n: 2, sum: 1600 }]);
  });

  it('lets the sole worker of a restarted embedded platform fence the previous run at once', async () => {
    const previous = createRollupPartials({ worker: 'w-previous' });
    await registerWorker(db, 'w-previous');
    await registerWorker(db, 'w-retired');
    await retireWorker(db, 'w-retired');
    await createIngestHandler({ db, bus: createInProcessBus(), rollupPartials: previous }).handle([message(1, 700)]);
    await registerWorker(db, 'w-now');
    expect(await fenceOtherWorkers(db, 'w-now')).toEqual(['w-previous']); // the retired one stopped cleanly
    expect(await refreshRollups(db, { graceMs: 0, self: 'w-now' })).toBe(1);
    expect(await rollup()).toEqual([{ n: 1, sum: 700 }]);
  });

  it("keeps a live registered worker's flush exact", async () => {
    const live = createRollupPartials({ worker: 'w-live' });
    await registerWorker(db, 'w-live');
    await createIngestHandler({ db, bus: createInProcessBus(), rollupPartials: live }).handle([
      message(1, 700),
      message(2, 900),
    ]);
    expect(await beat(db, 'w-live')).toBe(true);
    expect(await live.flush(db, { all: true })).toBe(1);
    expect(await rollup()).toEqual([{ n: 2, sum: 1600 }]);
    expect(await refreshRollups(db, { graceMs: 0, workerDeadAfterMs: 60_000 })).toBe(0);
  });
});
