// DESIGN §12 "reliability": samples sent vs stored after a broker outage: equal, none doubled.
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  createLinkedStreams,
  listCarObdDrives,
  loadCarObdDrive,
  startAgent,
  startSimulator,
  syntheticDrive,
} from '@clutch/gateway-agent';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { duplicates, startServerSide, waitUntil, type ServerSide } from './harness.js';

// 100x replay: one drive row (1 s of driving) every 10 ms, every polling period divided by 100.
const SPEEDUP = 100;
const OUTAGE_MS = (10 * 60 * 1000) / SPEEDUP; // ten minutes of driving

describe('agent store-and-forward across a broker outage', () => {
  let server: ServerSide;
  let queueDir: string;

  beforeAll(async () => {
    server = await startServerSide('rel', 'outage-car');
    queueDir = mkdtempSync(path.join(os.tmpdir(), 'clutch-outage-'));
  });
  afterAll(async () => {
    await server?.close();
    rmSync(queueDir, { recursive: true, force: true });
  });

  it('stores every sample exactly once after ten minutes of driving offline', async () => {
    const csv = listCarObdDrives().find((f) => f.endsWith('drive1.csv'));
    const [carSide, agentSide] = createLinkedStreams();
    const simulator = await startSimulator({
      stream: carSide,
      drive: csv ? loadCarObdDrive(csv) : syntheticDrive(7),
      rowIntervalMs: 1000 / SPEEDUP,
    });
    const produced: string[] = [];
    const agent = await startAgent({
      transport: { stream: agentSide },
      mqttUrl: server.mqttUrl,
      tenant: 'rel',
      device: 'outage-car',
      queueDir,
      pollScale: 1 / SPEEDUP,
      batchIntervalMs: 100,
      inflightWindow: 8,
      logger: pino({ level: 'silent' }),
      onSample: (key, _value, at) => produced.push(`${key}@${at}`),
    });
    try {
      await waitUntil(() => agent.stats().batchesAcked >= 5, 'first acknowledged batches');
      await server.stopBroker();
      const atOutage = produced.length;
      await new Promise((r) => setTimeout(r, OUTAGE_MS));
      const offline = agent.stats();
      // Offline, the batches pile up on disk instead of being lost.
      expect(offline.queueBatches).toBeGreaterThan(20);
      expect(produced.length - atOutage).toBeGreaterThan(1000);
      await server.startBroker();
      await waitUntil(() => agent.stats().queueBatches < 3, 'backlog drained', 20_000);
      // The bounded window held during the drain.
      expect(agent.stats().inFlight).toBeLessThanOrEqual(8);
    } finally {
      await agent.stop();
      await simulator.close();
    }
    expect(agent.stats().queueBatches).toBe(0);
    await server.stopBroker(); // ingest commits everything it acknowledged
    const stored = await server.storedSamples();
    expect(duplicates(produced)).toEqual([]);
    expect(stored.length).toBe(produced.length);
    expect(new Set(stored)).toEqual(new Set(produced));
  }, 60_000);
});
