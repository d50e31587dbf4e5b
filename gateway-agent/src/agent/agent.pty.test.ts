import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Aedes } from 'aedes';
import { connectAsync } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseStatus, parseTelemetryBatch, type TelemetryBatch } from '@clutch/contracts';
import { listCarObdDrives, loadCarObdDrive, type DriveSource } from '../simulator/drive.js';
import { syntheticDrive } from '../simulator/synthetic-drive.js';
import { startSimulator, type RunningSimulator } from '../simulator/start.js';
import { startAgent } from './agent.js';

const SOCAT = '/usr/bin/socat';
let dir: string;
let socat: ChildProcess | undefined;
let server: net.Server;
let broker: Aedes;
let port: number;

async function waitFor(check: () => boolean, what: string, timeoutMs = 10_000) {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'clutch-pty-'));
  socat = spawn(SOCAT, ['-d', '-d', `pty,raw,echo=0,link=${dir}/a`, `pty,raw,echo=0,link=${dir}/b`], {
    stdio: 'ignore',
  });
  await waitFor(() => existsSync(`${dir}/a`) && existsSync(`${dir}/b`), 'socat PTY links');
  broker = await Aedes.createBroker();
  server = net.createServer(broker.handle);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as net.AddressInfo).port;
});

afterAll(async () => {
  socat?.kill();
  await new Promise<void>((resolve) => server?.close(() => resolve()));
  await new Promise<void>((resolve) => broker?.close(() => resolve()));
  rmSync(dir, { recursive: true, force: true });
});

describe.skipIf(!existsSync(SOCAT))('agent over a real PTY pair to a real MQTT broker', () => {
  it('publishes valid telemetry batches whose engine.rpm values come from the replayed drive', async () => {
    const csv = listCarObdDrives().find((p) => p.endsWith('drive1.csv'));
    const drive: DriveSource = csv ? loadCarObdDrive(csv) : syntheticDrive(3);
    const startRow = Math.min(300, drive.length - 40);
    let simulator: RunningSimulator | undefined;
    simulator = await startSimulator({ path: `${dir}/a`, baudRate: 115200, drive, rowIntervalMs: 100, startRow });

    const subscriber = await connectAsync(`mqtt://127.0.0.1:${port}`, { clientId: 'test-subscriber' });
    const batches: TelemetryBatch[] = [];
    const invalid: string[] = [];
    const statuses: string[] = [];
    subscriber.on('message', (topic, payload) => {
      if (topic.endsWith('/status')) {
        const status = parseStatus(payload);
        statuses.push(status.ok ? status.value.state : `invalid: ${status.reason}`);
        return;
      }
      if (!topic.endsWith('/telemetry')) return;
      const parsed = parseTelemetryBatch(payload);
      if (parsed.ok) batches.push(parsed.value);
      else invalid.push(parsed.reason);
    });
    await subscriber.subscribeAsync('clutch/v1/acme/car-1/#', { qos: 1 });

    const agent = await startAgent({
      transport: { path: `${dir}/b`, baudRate: 115200 },
      mqttUrl: `mqtt://127.0.0.1:${port}`,
      tenant: 'acme',
      device: 'car-1',
      batchIntervalMs: 300,
      queueDir: path.join(dir, 'queue'),
    });
    try {
      expect(agent.vin).toBe('JTDBT4K3X0L000001');
      await waitFor(() => batches.length >= 3, 'three telemetry batches');
    } finally {
      await agent.stop();
      await simulator.close();
      simulator = undefined;
    }
    await waitFor(() => statuses.includes('offline'), 'offline status');
    await subscriber.endAsync();

    expect(invalid).toEqual([]);
    expect(statuses[0]).toBe('online');
    // seq is per device, monotonic from 0, no gaps; stop() flushed and waited for every PUBACK
    expect(batches.map((b) => b.seq)).toEqual(batches.map((_, i) => i));
    const stats = agent.stats();
    expect(stats.batchesQueued).toBe(batches.length);
    expect(stats.batchesAcked).toBe(batches.length);
    expect(stats.queueBatches).toBe(0);
    expect(stats.samplesQueued).toBe(batches.reduce((n, b) => n + b.samples.length, 0));
    expect(stats.readsPerSecond).toBeGreaterThan(0);

    const rpm = batches.flatMap((b) => b.samples.filter((s) => s[1] === 'engine.rpm').map((s) => s[2]));
    expect(rpm.length).toBeGreaterThan(3);
    // Every published RPM is one of the drive's rows in the replayed window, at the 0.25 rpm resolution of PID 0C.
    const window = Array.from({ length: 400 }, (_, i) => Math.round(drive.row(startRow + i)['RPM']! * 4) / 4);
    for (const value of rpm) expect(window).toContain(value);
    const keys = new Set(batches.flatMap((b) => b.samples.map((s) => s[1])));
    expect(keys).toContain('battery.voltage');
    expect(keys).toContain('vehicle.speed');
    expect(keys).toContain('engine.coolant_temp');
  });
});
