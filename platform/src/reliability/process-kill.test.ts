// Issue 12 finding 7: the platform process dies hard (kill -9, OOM, power cut) right after it
// acknowledged a batch. The platform runs as the real `npm start` entry point (platform/dist/main.js)
// in a child process on PGlite in a temporary directory; the device is an MQTT client that behaves
// like the agent: QoS 1, a batch leaves its queue only on PUBACK. Runs the built entry point
// (`npm test` builds first; alone: `npx tsc -b` before it), as main.e2e.test.ts does.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { TELEMETRY_VERSION, type TelemetryBatch } from '@clutch/contracts';
import { openPglite } from '@clutch/db';
import { openTestDatabase } from '@clutch/db/testing';
import { freePort } from '@clutch/test-support';
import mqtt from 'mqtt';
import { afterAll, describe, expect, it } from 'vitest';
import { ensureDevice } from '../fleet/provision.js';
import { waitUntil } from './harness.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const MAIN = path.join(ROOT, 'platform', 'dist', 'main.js');
const TENANT = 'kill';
const SAMPLES_PER_BATCH = 5;

interface Platform {
  child: ChildProcess;
  exited: Promise<number | null>;
  stdout: () => string;
}

/** `npm start` on a fixed MQTT port (the device reconnects to it) and a PGlite directory. */
async function startPlatform(dataDir: string, mqttPort: number): Promise<Platform> {
  const child = spawn(
    process.execPath,
    [
      MAIN,
      '--vehicles',
      '0',
      '--port',
      '0',
      '--mqtt-port',
      String(mqttPort),
      '--mqtt-ws-port',
      '0',
      '--data-dir',
      dataDir,
      '--models-dir',
      path.join(dataDir, '..', 'models'),
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', () => {}); // warnings as JSON lines; drained so the pipe never fills
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  await waitUntil(() => out.includes('Clutch is running') || child.exitCode !== null, 'the platform to start', 40_000);
  if (!out.includes('Clutch is running')) throw new Error(`platform did not start: ${out}`);
  return { child, exited, stdout: () => out };
}

/**
 * A device as the agent behaves (gateway-agent's DiskQueue + QueueDrainer): seq-numbered batches, up
 * to 16 in flight at QoS 1, each deleted from its queue only on PUBACK, the rest resent after a
 * reconnect. (In this process, so the test controls the instant right after a PUBACK.)
 */
function startDevice(mqttUrl: string, login: { username: string; password: string }, deviceId: string) {
  const topic = `clutch/v1/${TENANT}/${deviceId}/telemetry`;
  const client = mqtt.connect(mqttUrl, {
    clientId: `${TENANT}/${deviceId}`,
    username: login.username,
    password: login.password,
    reconnectPeriod: 200,
    will: {
      topic: `clutch/v1/${TENANT}/${deviceId}/status`,
      payload: Buffer.from(JSON.stringify({ v: 1, state: 'offline' })),
      qos: 1,
      retain: true,
    },
  });
  client.on('error', () => {});
  const queue = new Map<number, string>();
  const inFlight = new Map<number, number>(); // seq -> sent at
  const acked: number[] = [];
  const produced: TelemetryBatch[] = [];
  let onAck: (seq: number) => void = () => {};
  const kick = (): void => {
    if (!client.connected) return;
    for (const [seq, payload] of queue) {
      if (inFlight.size >= 16) break;
      if (inFlight.has(seq)) continue;
      inFlight.set(seq, Date.now());
      client.publishAsync(topic, payload, { qos: 1 }).then(
        () => {
          if (!queue.has(seq)) return; // a resend of a batch already acknowledged
          acked.push(seq);
          onAck(seq); // right after the PUBACK, before the batch leaves the queue
          queue.delete(seq);
          inFlight.delete(seq);
          kick();
        },
        () => inFlight.delete(seq),
      );
    }
  };
  client.on('connect', kick);
  // A publish stuck across a reconnect is sent again (a duplicate at worst, which ingest drops).
  const resend = setInterval(() => {
    for (const [seq, at] of inFlight) if (Date.now() - at > 3000) inFlight.delete(seq);
    kick();
  }, 500);
  const base = Date.now() - 120_000;
  let seq = 0;
  return {
    acked,
    produced,
    pending: () => queue.size,
    set onAck(fn: (seq: number) => void) {
      onAck = fn;
    },
    /** One more batch: five engine.rpm readings 20 ms apart, never repeating a time. */
    produce(): void {
      const batch: TelemetryBatch = {
        v: TELEMETRY_VERSION,
        seq,
        t0: base + seq * 100,
        samples: Array.from(
          { length: SAMPLES_PER_BATCH },
          (_, i) => [i * 20, 'engine.rpm', 800 + seq + i] as [number, string, number],
        ),
      };
      queue.set(seq, JSON.stringify(batch));
      produced.push(batch);
      seq++;
      kick();
    },
    async close(): Promise<void> {
      clearInterval(resend);
      await client.endAsync(true);
    },
  };
}

describe('platform process killed with SIGKILL right after a PUBACK', () => {
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'clutch-kill-'));
  const children: ChildProcess[] = [];

  afterAll(() => {
    for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
    rmSync(tmp, { recursive: true, force: true });
  });

  async function provision(dataDir: string, deviceId: string) {
    const db = await openTestDatabase('pglite', { dataDir });
    const { login, ...device } = await ensureDevice(db, {
      tenantId: TENANT,
      tenantName: TENANT,
      deviceId,
      vehicle: { name: 'Kill car' },
    });
    await db.close();
    return { login, device };
  }

  /** Opens the database after the platform exited: stored readings and data-quality findings. */
  async function stored(dataDir: string, vehicleId: string) {
    const db = await openPglite(dataDir);
    try {
      const samples = await db.query<{ ms: string; n: number }>(
        `SELECT (extract(epoch FROM time) * 1000)::bigint::text AS ms, count(*)::int AS n FROM samples WHERE vehicle_id = $1 GROUP BY 1`,
        [vehicleId],
      );
      const findings = await db.query<{ kind: string; detail: unknown }>(
        `SELECT kind, detail FROM data_quality_events WHERE tenant_id = $1`,
        [TENANT],
      );
      return { counts: new Map(samples.rows.map((r) => [Number(r.ms), r.n])), findings: findings.rows };
    } finally {
      await db.close();
    }
  }

  function expectStoredOnce(counts: Map<number, number>, batches: readonly TelemetryBatch[]): void {
    const missing: number[] = [];
    for (const b of batches) {
      for (const [offset] of b.samples) {
        const n = counts.get(b.t0 + offset) ?? 0;
        if (n !== 1) missing.push(b.seq);
      }
    }
    expect([...new Set(missing)]).toEqual([]);
  }

  it('regression 12.7: stores every acknowledged batch exactly once across three kills, resends the rest, and records no gap', async () => {
    const dataDir = path.join(tmp, 'kill-pglite');
    const { login, device } = await provision(dataDir, 'kill-car');
    const mqttPort = await freePort();
    let platform = await startPlatform(dataDir, mqttPort);
    children.push(platform.child);
    const agent = startDevice(`mqtt://127.0.0.1:${mqttPort}`, login, 'kill-car');
    const producer = setInterval(() => agent.produce(), 40);
    try {
      for (let kill = 1; kill <= 3; kill++) {
        const ackedBefore = agent.acked.length;
        const killed = new Promise<void>((resolve) => {
          agent.onAck = () => {
            if (agent.acked.length < ackedBefore + 20) return;
            agent.onAck = () => {};
            platform.child.kill('SIGKILL'); // the PUBACK just arrived: the window finding 7 lost batches in
            resolve();
          };
        });
        await killed;
        expect(await platform.exited).toBeNull(); // killed by the signal, no exit code
        platform = await startPlatform(dataDir, mqttPort);
        children.push(platform.child);
      }
      clearInterval(producer);
      await waitUntil(() => agent.pending() === 0, 'every batch acknowledged', 30_000);
      const sent = [...agent.produced];
      await agent.close();
      platform.child.kill('SIGINT');
      expect(await platform.exited).toBe(0);

      const { counts, findings } = await stored(dataDir, device.vehicleId);
      expect(agent.acked.length).toBeGreaterThanOrEqual(sent.length);
      expectStoredOnce(counts, sent);
      expect(counts.size).toBe(sent.length * SAMPLES_PER_BATCH);
      expect(findings.filter((f) => f.kind === 'seq_gap')).toEqual([]);
    } finally {
      clearInterval(producer);
    }
  }, 120_000);

  it('regression 12.1: exits on SIGINT under load within seconds, and loses nothing it acknowledged', async () => {
    const dataDir = path.join(tmp, 'sigint-pglite');
    const { login, device } = await provision(dataDir, 'sigint-car');
    const mqttPort = await freePort();
    const platform = await startPlatform(dataDir, mqttPort);
    children.push(platform.child);
    const agent = startDevice(`mqtt://127.0.0.1:${mqttPort}`, login, 'sigint-car');
    const producer = setInterval(() => agent.produce(), 5);
    try {
      await waitUntil(() => agent.acked.length >= 50, '50 acknowledged batches');
      const started = Date.now();
      platform.child.kill('SIGINT');
      expect(await platform.exited).toBe(0);
      expect(Date.now() - started).toBeLessThan(8000);
      clearInterval(producer);
      const acked = new Set(agent.acked);
      await agent.close();
      const { counts } = await stored(dataDir, device.vehicleId);
      expectStoredOnce(
        counts,
        agent.produced.filter((b) => acked.has(b.seq)),
      );
    } finally {
      clearInterval(producer);
    }
  }, 60_000);
});
