// The poller publishes only plausible values: the battery voltage (ATRV) included.
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import type { DriveSource } from '../simulator/drive.js';
import { startSimulator, type RunningSimulator } from '../simulator/start.js';
import { createLinkedStreams } from '../simulator/streams.js';
import { AdapterLink } from './adapter-link.js';
import { startPoller, type Poller } from './poller.js';

const silent = pino({ level: 'silent' });
/** An idling car whose adapter measures `volts` on pin 16 (the simulator answers ATRV with VPWR). */
const idling = (volts: number): DriveSource => ({
  name: 'idling',
  signals: ['RPM', 'VSS', 'ECT', 'VPWR'],
  length: 1,
  row: () => ({ RPM: 800, VSS: 0, ECT: 88, VPWR: volts }),
});

let cleanup: (() => Promise<void>) | undefined;
afterEach(async () => {
  await cleanup?.();
  cleanup = undefined;
});

async function poll(volts: number): Promise<{ samples: Map<string, number>; poller: Poller }> {
  const [host, adapter] = createLinkedStreams();
  const sim: RunningSimulator = await startSimulator({ stream: adapter, drive: idling(volts) });
  const link = new AdapterLink({ stream: host }, silent);
  await link.open();
  const samples = new Map<string, number>();
  const poller = startPoller({ link, logger: silent, pollScale: 0.01, emit: (key, value) => samples.set(key, value) });
  cleanup = async () => {
    await poller.stop();
    await link.close();
    await sim.close();
  };
  // Every plan item is due at once; ATRV is asked within the first few requests, then every 50 ms.
  await expect.poll(() => poller.requests, { timeout: 5000 }).toBeGreaterThan(12);
  return { samples, poller };
}

describe('poller plausibility', () => {
  it('publishes a plausible battery voltage', async () => {
    const { samples, poller } = await poll(13.9);
    expect(samples.get('battery.voltage')).toBe(13.9);
    expect(samples.get('engine.rpm')).toBe(800);
    expect(poller.rejected).toBe(0);
  });

  it('drops "ATRV -> 99.9V" (outside the catalogue range) and counts it as rejected', async () => {
    const { samples, poller } = await poll(99.9);
    expect(samples.has('battery.voltage')).toBe(false);
    expect(samples.get('engine.rpm')).toBe(800);
    expect(poller.rejected).toBeGreaterThan(0);
  });
});
