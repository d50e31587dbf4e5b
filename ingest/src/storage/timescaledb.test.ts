// TimescaleDB storage (migration 007) end to end. Needs a PostgreSQL server with TimescaleDB
// preloaded, which Debian does not package: set CLUTCH_TEST_TIMESCALEDB_URL to its superuser URL
// (for example `docker compose up -d timescaledb` and
// postgres://postgres:clutch@localhost:5432/postgres with the port published), or run the suite on a
// server that has it. Without one this file is reported as skipped, with the reason in its title;
// everything else runs on native partitioning. See docs/storage.md.
import { createInProcessBus, signalCatalogue, type TelemetryBatch } from '@clutch/contracts';
import { migrate, openPostgres, storageMode, syncSignals, type Database } from '@clutch/db';
import { dropTestDatabases, findTimescaleServer } from '@clutch/db/testing';
import { createTestDatabase } from '@clutch/test-support';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createIngestHandler } from '../pipeline.js';
import type { QueuedMessage } from '../queue/work-queue.js';
import { maintainStorage } from './maintenance.js';

const timescale = await findTimescaleServer(inject('pgAdminUrl'));
const adminUrl = timescale.adminUrl;
const RPM = signalCatalogue.find((s) => s.key === 'engine.rpm')!;

const TITLE = `TimescaleDB storage (${adminUrl ? `on ${timescale.reason}` : `skipped: ${timescale.reason}`})`;

describe.skipIf(!adminUrl)(TITLE, () => {
  let db: Database;
  const created: string[] = [];
  let acmeVehicle: string;
  const now = Date.now();
  const minuteStart = now - (now % 60_000) - 10 * 60_000; // ten whole minutes ago

  beforeAll(async () => {
    // Native first, with data: the path of a running platform whose server gains TimescaleDB.
    // Made the long way, not copied from a migrated template: nothing of this file stays on that server.
    const url = await createTestDatabase(adminUrl!, 'tsdb');
    created.push(url);
    db = await openPostgres(url);
    await migrate(db, undefined, { features: { timescaledb: false } });
    await syncSignals(db, signalCatalogue);
    await db.query(`INSERT INTO tenants (id, name) VALUES ('acme', 'Acme'), ('globex', 'Globex')`);
    acmeVehicle = (
      await db.query<{ id: string }>(`INSERT INTO vehicles (tenant_id, name) VALUES ('acme', 'Etios') RETURNING id`)
    ).rows[0]!.id;
    await db.query(`INSERT INTO devices (tenant_id, id, vehicle_id) VALUES ('acme', 'pi-1', $1)`, [acmeVehicle]);
    await db.query(
      `INSERT INTO samples (time, tenant_id, vehicle_id, signal_id, value) VALUES ($1, 'acme', $2, $3, 700), ($4, 'acme', $2, $3, 900)`,
      [
        new Date(now - 3 * 86_400_000).toISOString(),
        acmeVehicle,
        RPM.id,
        new Date(now - 3 * 86_400_000 + 1000).toISOString(),
      ],
    );
    expect(await migrate(db)).toEqual(['007_timescaledb.sql']);
  });
  // Its databases go with it, whatever happened (a failed conversion included).
  afterAll(async () => {
    await db?.close().catch(() => {});
    if (created.length > 0) await dropTestDatabases(adminUrl!, created);
  });

  const count = async (): Promise<number> =>
    (await db.query<{ n: number }>('SELECT count(*)::int AS n FROM samples')).rows[0]!.n;

  it('converts samples into a compressed hypertable, keeping the rows already stored', async () => {
    expect(await storageMode(db)).toBe('timescaledb');
    expect(await count()).toBe(2);
    const hyper = await db.query<{ compression_enabled: boolean }>(
      `SELECT compression_enabled FROM timescaledb_information.hypertables WHERE hypertable_name = 'samples'`,
    );
    expect(hyper.rows).toEqual([{ compression_enabled: true }]);
    const jobs = await db.query<{ proc_name: string; relation: string }>(
      `SELECT j.proc_name, coalesce(c.view_name, j.hypertable_name) AS relation
         FROM timescaledb_information.jobs j
         LEFT JOIN timescaledb_information.continuous_aggregates c ON c.materialization_hypertable_name = j.hypertable_name
        WHERE j.proc_name IN ('policy_compression', 'policy_refresh_continuous_aggregate')
        ORDER BY coalesce(c.view_name, j.hypertable_name) COLLATE "C"`,
    );
    expect(jobs.rows).toEqual([
      { proc_name: 'policy_refresh_continuous_aggregate', relation: 'sample_rollups_1h' },
      { proc_name: 'policy_refresh_continuous_aggregate', relation: 'sample_rollups_1m' },
      { proc_name: 'policy_compression', relation: 'samples' },
    ]);
  });

  it('ingests through the chain once per sample, and serves rollups from the continuous aggregates at once', async () => {
    const handler = createIngestHandler({ db, bus: createInProcessBus(), rollups: 'database' });
    // 60 batches x 20 readings = 1,200 rows: the COPY path; delivering them again takes the fallback.
    const messages: QueuedMessage[] = Array.from({ length: 60 }, (_, i) => {
      const batch: TelemetryBatch = {
        v: 1,
        seq: 100 + i,
        t0: minuteStart + i * 1000,
        samples: Array.from({ length: 20 }, (_, k) => [k * 40, 'engine.rpm', 800 + k]),
      };
      return {
        topic: 'clutch/v1/acme/pi-1/telemetry',
        payload: Buffer.from(JSON.stringify(batch)),
        receivedAt: Date.now(),
      };
    });
    await handler.handle(messages);
    await handler.handle(messages);
    expect(await count()).toBe(2 + 1200);

    // Real-time aggregation: nothing is materialized yet, the minute is already there.
    const minute = await db.withTenant('acme', (tx) =>
      tx.query<{ n: number; avg: number; min: number; max: number }>(
        `SELECT n, sum / n AS avg, min, max FROM sample_rollups_1m WHERE vehicle_id = $1 AND signal_id = $2 AND bucket = $3`,
        [acmeVehicle, RPM.id, new Date(minuteStart).toISOString()],
      ),
    );
    expect(minute.rows).toEqual([{ n: 1200, avg: 809.5, min: 800, max: 819 }]);
    const hour = await db.withTenant('acme', (tx) =>
      tx.query<{ n: number }>(
        `SELECT sum(n)::int AS n FROM sample_rollups_1h WHERE vehicle_id = $1 AND signal_id = $2`,
        [acmeVehicle, RPM.id],
      ),
    );
    expect(hour.rows).toEqual([{ n: 1202 }]);
  });

  it('keeps tenants apart through the tenant views, and gives the application role no way around them', async () => {
    const seen = async (tenant: string, sql: string): Promise<number> =>
      (await db.withTenant(tenant, (tx) => tx.query<{ n: number }>(sql))).rows[0]!.n;
    expect(await seen('acme', 'SELECT count(*)::int AS n FROM samples')).toBe(1202);
    expect(await seen('globex', 'SELECT count(*)::int AS n FROM samples')).toBe(0);
    expect(await seen('globex', 'SELECT count(*)::int AS n FROM sample_rollups_1m')).toBe(0);
    await expect(db.withTenant('globex', (tx) => tx.query('SELECT count(*) FROM public.samples'))).rejects.toThrow(
      /permission denied/,
    );
    await expect(
      db.withTenant('globex', (tx) => tx.query('SELECT count(*) FROM public.sample_rollups_1m')),
    ).rejects.toThrow(/permission denied/);
    const chunk = (await db.query<{ chunk: string }>(`SELECT show_chunks('samples')::text AS chunk LIMIT 1`)).rows[0]!
      .chunk;
    await expect(db.withTenant('globex', (tx) => tx.query(`SELECT count(*) FROM ${chunk}`))).rejects.toThrow(
      /permission denied/,
    );
  });

  it('drops chunks past every retention and deletes rows past a shorter tenant retention', async () => {
    await db.query(`UPDATE tenants SET sample_retention_days = 2 WHERE id = 'acme'`);
    await db.query(
      `INSERT INTO samples (time, tenant_id, vehicle_id, signal_id, value) VALUES ($1, 'acme', $2, $3, 650)`,
      [new Date(now - 500 * 86_400_000).toISOString(), acmeVehicle, RPM.id],
    );
    const report = await maintainStorage(
      db,
      { defaultSampleDays: 400, rollupFactor: 10, monthsAhead: 3 },
      new Date(now),
    );
    expect(report.partitionsDropped.length).toBeGreaterThanOrEqual(1); // the 500-day-old chunk
    expect(report.samplesDeleted).toBe(2); // acme's two 3-day-old rows, past its 2 days
    expect(await count()).toBe(1200);
  });
});
