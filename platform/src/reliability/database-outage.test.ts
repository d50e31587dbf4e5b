import { startBroker, tenantPolicy, type RunningBroker } from '@clutch/broker';
import { createInProcessBus, type TelemetryBatch } from '@clutch/contracts';
import type { Database } from '@clutch/db';
import { openTestDatabase } from '@clutch/db/testing';
import { handoffSource, startIngest, type RunningIngest } from '@clutch/ingest';
import { startPostgresServer, type PostgresServer } from '@clutch/test-support';
import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureDevice } from '../fleet/provision.js';

// DESIGN.md §7: "When the database is down, ingest stops acking and the backlog waits; nothing is lost."
describe('PostgreSQL outage while cars keep publishing', () => {
  let server: PostgresServer;
  let db: Database;
  let broker: RunningBroker;
  let ingest: RunningIngest;
  let login: { username: string; password: string };
  let vehicleId: string;

  beforeAll(async () => {
    server = await startPostgresServer();
    db = await openTestDatabase('postgres', { adminUrl: server.adminUrl, name: 'outage', max: 4 });
    const device = await ensureDevice(db, {
      tenantId: 'fleet',
      tenantName: 'Fleet',
      deviceId: 'van-1',
      vehicle: { name: 'Van' },
    });
    login = device.login;
    vehicleId = device.vehicleId;
    const source = handoffSource();
    broker = await startBroker({ mqttPort: 0, policy: tenantPolicy({ db }), durableHandoff: source });
    ingest = await startIngest({
      db,
      bus: createInProcessBus(),
      source,
      rollupIntervalMs: 0,
      maintenanceIntervalMs: 0,
    });
  }, 60_000);
  afterAll(async () => {
    await ingest?.stop();
    await broker?.close();
    await db?.close();
    server?.destroy();
  });

  it('stores every sample exactly once after the database stops and comes back mid-stream', async () => {
    const car = await mqtt.connectAsync(broker.mqttUrl, { clientId: login.username, ...login });
    const t0 = Date.now() - 120_000;
    let sent = 0;
    const publish = async (seq: number): Promise<void> => {
      const samples: TelemetryBatch['samples'] = [];
      for (let i = 0; i < 20; i++)
        samples.push([i * 50, 'engine.rpm', 800 + seq], [i * 50, 'vehicle.speed', seq % 120]);
      await car.publishAsync(
        'clutch/v1/fleet/van-1/telemetry',
        JSON.stringify({ v: 1, seq, t0: t0 + seq * 1000, samples }),
        { qos: 1 },
      );
      sent += samples.length;
    };
    for (let seq = 0; seq < 20; seq++) await publish(seq);
    server.stop(); // fast shutdown: every connection of the pool breaks
    // The device keeps sending while the database is gone. Nothing is acknowledged until it is
    // stored (finding 12.7): the batches wait in ingest's queue and the device still holds them.
    let acked = 0;
    const outage = Array.from({ length: 40 }, (_, i) => publish(20 + i).then(() => acked++));
    await expect.poll(() => ingest.stats().queueDepth, { timeout: 5000 }).toBeGreaterThan(0);
    await new Promise((r) => setTimeout(r, 500));
    expect(acked).toBe(0);
    server.start();
    await Promise.all(outage);
    for (let seq = 60; seq < 80; seq++) await publish(seq);
    await expect
      .poll(
        async () =>
          Number(
            (await db.query<{ n: string }>('SELECT count(*) AS n FROM samples WHERE vehicle_id = $1', [vehicleId]))
              .rows[0]!.n,
          ),
        {
          timeout: 30_000,
          interval: 250,
        },
      )
      .toBe(sent);
    const distinct = await db.query<{ n: string }>(
      'SELECT count(DISTINCT (signal_id, time)) AS n FROM samples WHERE vehicle_id = $1',
      [vehicleId],
    );
    expect(Number(distinct.rows[0]!.n)).toBe(sent);
    await car.endAsync();
  });
});
