// The link heals itself: adapter reset mid-stream (banner appears) and port loss (USB unplugged).
import type { Duplex } from 'node:stream';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { syntheticDrive } from '../simulator/synthetic-drive.js';
import { startSimulator, type RunningSimulator } from '../simulator/start.js';
import { createLinkedStreams } from '../simulator/streams.js';
import { AdapterLink } from './adapter-link.js';
import { startPoller } from './poller.js';

const silent = pino({ level: 'silent' });

async function until(check: () => boolean, what: string, ms = 10_000) {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out: ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('adapter link recovery', () => {
  it('initialises the adapter again when its banner appears mid-stream (brown-out reset)', async () => {
    const [host, adapter] = createLinkedStreams();
    const sim = await startSimulator({
      stream: adapter,
      drive: syntheticDrive(2),
      rowIntervalMs: 10,
      quirks: { resetOnRequest: 40 },
    });
    const link = new AdapterLink({ stream: host }, silent);
    await link.open();
    const keys: string[] = [];
    const poller = startPoller({ link, logger: silent, pollScale: 0.01, emit: (key) => keys.push(key) });
    try {
      await until(() => link.reinits >= 1, 'a re-initialisation');
      const before = keys.length;
      await until(() => keys.length > before + 50, 'readings after the reset');
      // After re-init the adapter is back to headers on, echo off: the readings still decode.
      expect(keys).toContain('engine.rpm');
    } finally {
      await poller.stop();
      await link.close();
      await sim.close();
    }
  });

  it('reopens the port with backoff after it disappears (USB unplugged, RFCOMM dropped)', async () => {
    let opens = 0;
    let current: Duplex | undefined;
    const sims: RunningSimulator[] = [];
    const link = new AdapterLink(
      {
        open: async () => {
          opens++;
          // The second attempt finds no device yet, like a USB adapter still enumerating.
          if (opens === 2) throw Object.assign(new Error('ENOENT: no such file /dev/ttyUSB0'), { code: 'ENOENT' });
          const [host, adapter] = createLinkedStreams();
          sims.push(await startSimulator({ stream: adapter, drive: syntheticDrive(3), rowIntervalMs: 10 }));
          current = host;
          return host;
        },
      },
      silent,
      { initialMs: 20, maxMs: 100 },
    );
    await link.open();
    let readings = 0;
    const poller = startPoller({ link, logger: silent, pollScale: 0.01, emit: () => readings++ });
    try {
      await until(() => readings > 20, 'first readings');
      current!.destroy(); // unplugged
      await until(() => link.reconnects === 1, 'the port reopened');
      const after = readings;
      await until(() => readings > after + 20, 'readings after reopening');
      expect(opens).toBe(3);
    } finally {
      await poller.stop();
      await link.close();
      for (const s of sims) await s.close();
    }
  });
});
