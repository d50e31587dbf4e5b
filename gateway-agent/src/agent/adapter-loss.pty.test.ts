// Losing and regaining the adapter on the same serial device, and stopping while it is lost, over a real
// PTY pair (socat) the way a USB adapter disappears and comes back at the same /dev path.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import type { Duplex } from 'node:stream';
import { Aedes } from 'aedes';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AgentState } from '@clutch/contracts';
import { syntheticDrive } from '../simulator/synthetic-drive.js';
import { startSimulator, type RunningSimulator } from '../simulator/start.js';
import { openSerialPort, releaseStream } from '../transport/serial-port.js';
import { AdapterLink } from './adapter-link.js';
import { startAgent, type RunningAgent } from './agent.js';

const SOCAT = '/usr/bin/socat';
const silent = pino({ level: 'silent' });

/** One virtual cable whose two ends keep their paths across restarts (the device node comes back). */
class Cable {
  private socat: ChildProcess | undefined;
  constructor(
    readonly a: string,
    readonly b: string,
  ) {}

  async plugIn(): Promise<void> {
    this.socat = spawn(SOCAT, [`pty,raw,echo=0,link=${this.a}`, `pty,raw,echo=0,link=${this.b}`], {
      stdio: 'ignore',
    });
    await expect.poll(() => existsSync(this.a) && existsSync(this.b), { timeout: 5000, interval: 20 }).toBe(true);
  }

  async unplug(): Promise<void> {
    const socat = this.socat;
    this.socat = undefined;
    if (!socat || socat.exitCode !== null) return;
    const exited = new Promise((resolve) => socat.once('exit', resolve));
    socat.kill('SIGKILL');
    await exited;
    // socat leaves its links behind when killed: the device node is gone, as after an unplug.
    rmSync(this.a, { force: true });
    rmSync(this.b, { force: true });
  }
}

/**
 * The far end of the cable: first something that is not an ELM327 (64 KiB of noise and no prompt to
 * every command, like an adapter at the wrong baud rate), then the simulator. Counts commands received.
 */
class FarEnd {
  commands = 0;
  private port: Duplex | undefined;
  private sim: RunningSimulator | undefined;
  private readonly noise = (chunk: Buffer) => {
    for (const byte of chunk) {
      if (byte !== 0x0d) continue;
      this.commands++;
      this.port?.write(Buffer.alloc(70_000, 0x78));
    }
  };

  async attachNoise(pathA: string): Promise<void> {
    this.port = await openSerialPort(pathA, 38400);
    this.port.on('error', () => {});
    this.port.on('data', this.noise);
  }

  async attachSimulator(pathA?: string): Promise<void> {
    if (!this.port && pathA) {
      this.port = await openSerialPort(pathA, 38400);
      this.port.on('error', () => {});
    }
    this.port!.off('data', this.noise);
    this.sim = await startSimulator({ stream: this.port!, drive: syntheticDrive(7), rowIntervalMs: 50 });
  }

  async detach(): Promise<void> {
    await this.sim?.close();
    this.sim = undefined;
    if (this.port) await releaseStream(this.port);
    this.port = undefined;
  }
}

describe.skipIf(!existsSync(SOCAT))('adapter lost and regained on the same device path', () => {
  let broker: Aedes;
  let server: net.Server;
  let url: string;
  let dir: string;

  beforeAll(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'clutch-loss-'));
    broker = await Aedes.createBroker();
    server = net.createServer(broker.handle);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `mqtt://127.0.0.1:${(server.address() as net.AddressInfo).port}`;
  });

  afterAll(async () => {
    await new Promise<void>((resolve) => server?.close(() => resolve()));
    await new Promise<void>((resolve) => broker?.close(() => resolve()));
    rmSync(dir, { recursive: true, force: true });
  });

  async function start(name: string, cable: Cable) {
    const states: AgentState[] = [];
    let samples = 0;
    const agent: RunningAgent = await startAgent({
      transport: { path: cable.b, baudRate: 38400 },
      mqttUrl: url,
      tenant: 'acme',
      device: name,
      queueDir: path.join(dir, name),
      batchIntervalMs: 200,
      pollScale: 0.05,
      logger: silent,
      dtcIntervalMs: 0,
      onState: (state) => states.push(state),
      onSample: () => samples++,
    });
    return { agent, states, samples: () => samples };
  }

  it('closes the port of a failed open: the next open of the same path reaches the adapter', async () => {
    const cable = new Cable(path.join(dir, 'link-a'), path.join(dir, 'link-b'));
    const far = new FarEnd();
    await cable.plugIn();
    await far.attachNoise(cable.a);
    const link = new AdapterLink({ path: cable.b, baudRate: 38400 }, silent);
    try {
      // Not an adapter: no prompt in 64 KiB. A port merely destroyed keeps its lock, and the second
      // open would fail with "Cannot lock port" before sending anything.
      await expect(link.open()).rejects.toMatchObject({ code: 'ADAPTER_NO_PROMPT' });
      await expect(link.open()).rejects.toMatchObject({ code: 'ADAPTER_NO_PROMPT' });
      expect(far.commands).toBe(2);
      await far.attachSimulator();
      await expect(link.open()).resolves.toMatchObject({ isCan: true });
    } finally {
      await link.close();
      await far.detach();
    }
    // close() let go of the device as well.
    const again = await openSerialPort(cable.b, 38400);
    await releaseStream(again);
    await cable.unplug();
  }, 30_000);

  it('reopens the same path after failed attempts there, twice (every port it gave up is closed)', async () => {
    const cable = new Cable(path.join(dir, 'twice-a'), path.join(dir, 'twice-b'));
    const far = new FarEnd();
    await cable.plugIn();
    await far.attachSimulator(cable.a);
    const car = await start('car-twice', cable);
    try {
      for (let round = 1; round <= 2; round++) {
        const before = car.samples();
        await expect.poll(() => car.samples(), { timeout: 10_000 }).toBeGreaterThan(before + 5);
        const lost = car.states.length;
        await far.detach();
        await cable.unplug();
        await expect.poll(() => car.states.slice(lost), { timeout: 10_000 }).toContain('adapter-lost');

        // The device is back but what answers is not an adapter: each attempt opens the path, fails and
        // must close the port, or the next open of that path fails with "Cannot lock port" and sends nothing.
        await cable.plugIn();
        far.commands = 0;
        await far.attachNoise(cable.a);
        await expect.poll(() => far.commands, { timeout: 15_000 }).toBeGreaterThanOrEqual(2);

        await far.attachSimulator();
        await expect.poll(() => car.agent.stats().state, { timeout: 15_000 }).toBe('polling');
        const regained = car.samples();
        await expect.poll(() => car.samples(), { timeout: 10_000 }).toBeGreaterThan(regained + 5);
      }
      expect(car.agent.stats().reconnects).toBe(2);
    } finally {
      await car.agent.stop();
      await far.detach();
      await cable.unplug();
    }
  }, 60_000);

  it('stops promptly while the adapter is lost: waiting to reopen, or in the middle of an attempt', async () => {
    const cable = new Cable(path.join(dir, 'stop-a'), path.join(dir, 'stop-b'));
    const far = new FarEnd();
    await cable.plugIn();
    await far.attachSimulator(cable.a);
    const first = await start('car-stop-1', cable);
    await expect.poll(() => first.samples(), { timeout: 10_000 }).toBeGreaterThan(5);
    await far.detach();
    await cable.unplug();
    await expect.poll(() => first.agent.stats().state, { timeout: 10_000 }).toBe('adapter-lost');
    let t0 = performance.now();
    await first.agent.stop();
    const whileWaiting = performance.now() - t0;

    // Lost, and the device is back with something silent behind it: the attempt waits 5 s for ATZ.
    await cable.plugIn();
    await far.attachSimulator(cable.a);
    const second = await start('car-stop-2', cable);
    await expect.poll(() => second.samples(), { timeout: 10_000 }).toBeGreaterThan(5);
    await far.detach();
    await cable.unplug();
    await expect.poll(() => second.agent.stats().state, { timeout: 10_000 }).toBe('adapter-lost');
    await cable.plugIn();
    const silentEnd = await openSerialPort(cable.a, 38400);
    let heard = '';
    silentEnd.on('data', (chunk: Buffer) => (heard += chunk.toString('latin1')));
    await expect.poll(() => heard, { timeout: 15_000 }).toContain('ATZ');
    t0 = performance.now();
    await second.agent.stop();
    const duringAttempt = performance.now() - t0;
    await releaseStream(silentEnd);
    await cable.unplug();

    expect(whileWaiting).toBeLessThan(1500);
    expect(duringAttempt).toBeLessThan(1500);
    // Nothing of the agent holds the device: it opens again at once.
    await cable.plugIn();
    const again = await openSerialPort(cable.b, 38400);
    await releaseStream(again);
    await cable.unplug();
  }, 60_000);
});
