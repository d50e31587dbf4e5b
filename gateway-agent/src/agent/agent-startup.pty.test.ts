// Start-up before the adapter answers, over real PTYs (socat) to a real MQTT broker: the agent on a Pi
// often starts before its USB adapter enumerates, its RFCOMM link is bound or the adapter is powered.
import { existsSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Aedes } from 'aedes';
import { connectAsync, type MqttClient } from 'mqtt';
import { pino } from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { parseStatus, parseTelemetryBatch, type AgentState, type DeviceStatus } from '@clutch/contracts';
import { startPtyPair, type PtyPair } from '@clutch/test-support';
import { syntheticDrive } from '../simulator/synthetic-drive.js';
import { startSimulator, type RunningSimulator } from '../simulator/start.js';
import { createLinkedStreams } from '../simulator/streams.js';
import { startAgent } from './agent.js';

const SOCAT = '/usr/bin/socat';
const silent = pino({ level: 'silent' });

describe.skipIf(!existsSync(SOCAT))('agent start-up before the adapter answers', () => {
  let broker: Aedes;
  let server: net.Server;
  let url: string;
  let dir: string;
  const cleanups: (() => Promise<void> | void)[] = [];

  beforeAll(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'clutch-startup-'));
    broker = await Aedes.createBroker();
    server = net.createServer(broker.handle);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `mqtt://127.0.0.1:${(server.address() as net.AddressInfo).port}`;
  });

  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });

  afterAll(async () => {
    await new Promise<void>((resolve) => server?.close(() => resolve()));
    await new Promise<void>((resolve) => broker?.close(() => resolve()));
    rmSync(dir, { recursive: true, force: true });
  });

  /** Everything the device publishes: its statuses in order and how many telemetry samples arrived. */
  async function watch(device: string): Promise<{ statuses: DeviceStatus[]; samples: () => number }> {
    const client: MqttClient = await connectAsync(url, { clientId: `watch-${device}` });
    cleanups.push(() => client.endAsync());
    const statuses: DeviceStatus[] = [];
    let samples = 0;
    client.on('message', (topic, payload) => {
      if (topic.endsWith('/status')) {
        const s = parseStatus(payload);
        if (!s.ok) throw new Error(`invalid status: ${s.reason}`);
        statuses.push(s.value);
      }
      if (topic.endsWith('/telemetry')) {
        const b = parseTelemetryBatch(payload);
        if (b.ok) samples += b.value.samples.length;
      }
    });
    await client.subscribeAsync(`clutch/v1/acme/${device}/#`, { qos: 1 });
    return { statuses, samples: () => samples };
  }

  function start(device: string, port: string, states: [AgentState, string | undefined][], signal?: AbortSignal) {
    // A test that fails while the agent still waits must not leave it waiting: the cleanup aborts it.
    const abort = new AbortController();
    const starting = startAgent({
      transport: { path: port, baudRate: 38400 },
      mqttUrl: url,
      tenant: 'acme',
      device,
      queueDir: path.join(dir, device),
      batchIntervalMs: 200,
      logger: silent,
      waitForAdapter: { initialMs: 50, maxMs: 400 },
      onState: (state, detail) => states.push([state, detail]),
      signal: signal ? AbortSignal.any([signal, abort.signal]) : abort.signal,
    });
    cleanups.push(async () => {
      abort.abort(new Error('test over'));
      await (await starting.catch(() => undefined))?.stop();
    });
    return starting;
  }

  it('keeps trying while nothing answers ATZ, then polls once the adapter answers on the other end', async () => {
    const pty: PtyPair = await startPtyPair();
    cleanups.push(() => pty.close());
    const seen = await watch('car-silent');
    const states: [AgentState, string | undefined][] = [];
    const starting = start('car-silent', pty.b, states);

    // The port opens but nothing answers: ATZ times out and the agent waits, and says so on /status.
    await expect
      .poll(() => states.find(([s]) => s === 'waiting-for-adapter')?.[1], { timeout: 15_000 })
      .toMatch(/no prompt .* after ATZ/);
    await expect.poll(() => seen.statuses.map((s) => s.agentState), { timeout: 5000 }).toContain('waiting-for-adapter');
    expect(seen.statuses[0]).toMatchObject({ state: 'online', agentState: 'waiting-for-adapter' });
    expect(seen.statuses[0]!.vin).toBeUndefined();

    const sim: RunningSimulator = await startSimulator({
      path: pty.a,
      baudRate: 38400,
      drive: syntheticDrive(4),
      rowIntervalMs: 100,
    });
    cleanups.push(() => sim.close());
    const agent = await starting;
    expect(agent.vin).toBe(sim.simulator.vin);
    expect(agent.stats().state).toBe('polling');
    await expect.poll(() => seen.samples(), { timeout: 15_000 }).toBeGreaterThan(5);
    await expect
      .poll(() => seen.statuses.at(-1), { timeout: 5000 })
      .toMatchObject({ state: 'online', agentState: 'polling', vin: sim.simulator.vin });
    expect(states.map(([s]) => s)).toContain('initialising');
    expect(states.at(-1)).toEqual(['polling', undefined]);
  }, 60_000);

  it('waits for a serial device that does not exist yet (USB adapter plugged in later)', async () => {
    const late = path.join(dir, 'late');
    const seen = await watch('car-late');
    const states: [AgentState, string | undefined][] = [];
    const starting = start('car-late', `${late}-b`, states);

    await expect
      .poll(() => states.find(([s]) => s === 'waiting-for-adapter')?.[1], { timeout: 10_000 })
      .toMatch(/No such file or directory|ENOENT/);
    // The first status may leave before the first attempt failed (no detail yet); a later one carries it.
    await expect
      .poll(() => seen.statuses.filter((s) => s.agentState === 'waiting-for-adapter').map((s) => s.stateDetail), {
        timeout: 5000,
      })
      .toContainEqual(expect.stringMatching(/No such file or directory|ENOENT/));

    // The device appears with an adapter behind it, as udev adds /dev/serial/by-id/... once a USB adapter
    // enumerated: a PTY pair whose far end already has the simulator, linked in at the awaited path.
    // Cleaned up last (cleanups run in reverse): the agent stops while its adapter is still there.
    const pty = await startPtyPair();
    cleanups.unshift(() => pty.close());
    const sim = await startSimulator({ path: pty.a, baudRate: 38400, drive: syntheticDrive(5), rowIntervalMs: 100 });
    cleanups.unshift(() => sim.close());
    symlinkSync(pty.b, `${late}-b`);

    const agent = await starting;
    await expect.poll(() => seen.samples(), { timeout: 15_000 }).toBeGreaterThan(5);
    expect(agent.stats()).toMatchObject({ state: 'polling', readsPerSecond: expect.any(Number) });
  }, 60_000);

  it('stops cleanly when told to while it waits: rejects, says offline, keeps nothing open', async () => {
    const seen = await watch('car-abort');
    const states: [AgentState, string | undefined][] = [];
    const stop = new AbortController();
    const starting = start('car-abort', path.join(dir, 'never'), states, stop.signal);
    await expect
      .poll(() => seen.statuses.map((s) => s.agentState), { timeout: 10_000 })
      .toContain('waiting-for-adapter');
    stop.abort(new Error('SIGTERM'));
    await expect(starting).rejects.toThrow('SIGTERM');
    await expect.poll(() => seen.statuses.at(-1)?.state, { timeout: 5000 }).toBe('offline');
  }, 30_000);
});

describe('agent state after start-up', () => {
  it('reports adapter-lost while the port is gone and polling once it is reopened', async () => {
    const broker = await Aedes.createBroker();
    const server = net.createServer(broker.handle);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const dir = mkdtempSync(path.join(os.tmpdir(), 'clutch-lost-'));
    const sims: RunningSimulator[] = [];
    let current: import('node:stream').Duplex | undefined;
    const states: AgentState[] = [];
    const agent = await startAgent({
      transport: {
        open: async () => {
          const [host, adapter] = createLinkedStreams();
          sims.push(await startSimulator({ stream: adapter, drive: syntheticDrive(6), rowIntervalMs: 10 }));
          current = host;
          return host;
        },
      },
      mqttUrl: `mqtt://127.0.0.1:${(server.address() as net.AddressInfo).port}`,
      tenant: 'acme',
      device: 'car-lost',
      queueDir: dir,
      pollScale: 0.01,
      logger: silent,
      onState: (state) => states.push(state),
    });
    try {
      await expect.poll(() => agent.stats().readsPerSecond, { timeout: 10_000 }).toBeGreaterThan(0);
      current!.destroy(); // unplugged
      await expect.poll(() => states, { timeout: 15_000 }).toContain('adapter-lost');
      await expect.poll(() => agent.stats().state, { timeout: 15_000 }).toBe('polling');
      expect(states.slice(states.indexOf('adapter-lost'))).toEqual(['adapter-lost', 'initialising', 'polling']);
    } finally {
      await agent.stop();
      for (const s of sims) await s.close();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await new Promise<void>((resolve) => broker.close(() => resolve()));
      rmSync(dir, { recursive: true, force: true });
    }
  }, 30_000);
});
