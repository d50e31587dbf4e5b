import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildTopic, type StoredReading } from '@clutch/contracts';
import { listCarObdDrives, loadCarObdDrive, startSimulator, syntheticDrive } from '@clutch/gateway-agent';
import { provisionDevice } from '@clutch/identity';
import { createTestDatabase, startPtyPair, type PtyPair } from '@clutch/test-support';
import mqtt from 'mqtt';
import { pino } from 'pino';
import { io as connectSocket } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { loadConfig } from './config/config.js';
import { startPlatform, type RunningPlatform } from './platform.js';

interface LatestBody {
  readings: { signal: string; value: number; time: string }[];
}

const databases: [string, () => Promise<{ env: Record<string, string>; cleanup: () => void }>][] = [
  [
    'PGlite',
    async () => {
      const dir = mkdtempSync(join(tmpdir(), 'clutch-e2e-'));
      return { env: { CLUTCH_DATA_DIR: dir }, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
    },
  ],
  [
    'PostgreSQL',
    async () => ({ env: { DATABASE_URL: await createTestDatabase(inject('pgAdminUrl'), 'e2e') }, cleanup: () => {} }),
  ],
];

// The whole path of DESIGN.md §2: ELM327 simulator on a real PTY -> gateway agent (serialport)
// -> broker -> ingest -> database -> REST API and Socket.io.
describe.each(databases)('simulated car to live client, on %s', (_name, prepare) => {
  let pty: PtyPair;
  let simulator: { close(): Promise<void> };
  let platform: RunningPlatform;
  let cleanup: () => void;
  let vehicleId: string;

  beforeAll(async () => {
    const prepared = await prepare();
    cleanup = prepared.cleanup;
    pty = await startPtyPair();
    const drives = listCarObdDrives().filter((f) => f.endsWith('drive1.csv'));
    simulator = await startSimulator({
      path: pty.a,
      baudRate: 38400,
      drive: drives[0] ? loadCarObdDrive(drives[0]) : syntheticDrive(1),
      rowIntervalMs: 200,
    });
    const config = loadConfig(
      ['--vehicles', '0', '--port', '0', '--mqtt-port', '0', '--mqtt-ws-port', '0', '--elm327', pty.b],
      prepared.env,
      process.cwd(),
    );
    platform = await startPlatform(config, pino({ level: 'silent' }));
    vehicleId = platform.fleet.devices[0]!.vehicleId;
  }, 60_000);

  afterAll(async () => {
    await platform?.stop();
    await simulator?.close();
    await pty?.close();
    cleanup?.();
  });

  it('stores the car readings and serves them over the API', async () => {
    await expect
      .poll(
        async () => {
          const res = await fetch(`${platform.api.url}/api/vehicles/${vehicleId}/latest`);
          const body = (await res.json()) as LatestBody;
          return body.readings.map((r) => r.signal);
        },
        { timeout: 20_000, interval: 250 },
      )
      .toEqual(expect.arrayContaining(['engine.rpm', 'vehicle.speed', 'engine.coolant_temp', 'battery.voltage']));

    const from = new Date(Date.now() - 10 * 60_000).toISOString();
    const res = await fetch(
      `${platform.api.url}/api/vehicles/${vehicleId}/telemetry?signal=engine.coolant_temp&from=${from}`,
    );
    expect(res.status).toBe(200);
    const series = (await res.json()) as { unit: string; points: { value: number }[] };
    expect(series.unit).toBe('°C');
    expect(series.points.length).toBeGreaterThan(0);
    for (const p of series.points) expect(p.value).toBeGreaterThanOrEqual(-40);
  });

  it('pushes new readings to a Socket.io client subscribed to the vehicle', async () => {
    const socket = connectSocket(platform.api.url, { transports: ['websocket'] });
    try {
      const ack = await socket.timeout(5000).emitWithAck('subscribe', { vehicleId });
      expect(ack).toEqual({ ok: true });
      const readings = await new Promise<StoredReading[]>((resolve) =>
        socket.once('readings', (e: { vehicleId: string; readings: StoredReading[] }) => resolve(e.readings)),
      );
      expect(readings.length).toBeGreaterThan(0);
      expect(new Date(readings[0]!.time).getTime()).toBeGreaterThan(Date.now() - 60_000);
    } finally {
      socket.close();
    }
  });

  it('delivers a downlink command to the car and records the agent answer', async () => {
    const res = await fetch(`${platform.api.url}/api/vehicles/${vehicleId}/commands`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ type: 'report_status', timeoutMs: 20_000 }),
    });
    expect(res.status).toBe(202);
    const { id } = (await res.json()) as { id: string };
    await expect
      .poll(
        async () =>
          ((await (await fetch(`${platform.api.url}/api/commands/${id}`)).json()) as { status: string }).status,
        { timeout: 20_000, interval: 200 },
      )
      .toBe('succeeded');
  });

  it('dead-letters a malformed payload published to the broker and still stores the next good batch', async () => {
    // A second gateway in the same car, provisioned like any device, sends the bad payload.
    const { login } = await provisionDevice(platform.db, { tenantId: 'demo', deviceId: 'e2e-probe', vehicleId });
    const topic = buildTopic({ tenant: 'demo', device: 'e2e-probe', kind: 'telemetry' });
    const client = await mqtt.connectAsync(platform.broker.mqttUrl, { clientId: login.username, ...login });
    try {
      const t0 = Date.now() - 5000;
      await client.publishAsync(topic, '{"v":1,"seq":"not a number"', { qos: 1 });
      await client.publishAsync(
        topic,
        JSON.stringify({ v: 1, seq: 1_000_000, t0, samples: [[0, 'fuel.level', 33.3]] }),
        { qos: 1 },
      );
      await expect
        .poll(
          async () =>
            (
              await platform.db.query<{ reason: string }>(
                `SELECT reason FROM dead_letters WHERE device_id = 'e2e-probe'`,
              )
            ).rows.map((r) => r.reason),
          { timeout: 10_000 },
        )
        .toEqual([expect.stringContaining('not valid JSON')]);
      await expect
        .poll(
          async () =>
            (
              await platform.db.query(`SELECT 1 FROM samples WHERE vehicle_id = $1 AND time = $2 AND value = 33.3`, [
                vehicleId,
                new Date(t0).toISOString(),
              ])
            ).rows.length,
          { timeout: 10_000 },
        )
        .toBe(1);
    } finally {
      await client.endAsync();
    }
  });
});
