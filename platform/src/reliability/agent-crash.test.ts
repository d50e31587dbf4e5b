// DESIGN §12 "reliability": kill -9 the agent process mid-batch, restart it -> no loss, no duplicates.
// The agent runs as the real CLI (`clutch-agent run --config`) from gateway-agent/dist, over a PTY.
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseTelemetryBatch, type TelemetryBatch } from '@clutch/contracts';
import {
  listCarObdDrives,
  loadCarObdDrive,
  startSimulator,
  syntheticDrive,
  type RunningSimulator,
} from '@clutch/gateway-agent';
import { startPtyPair, type PtyPair } from '@clutch/test-support';
import { connectAsync, type MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServerSide, waitUntil, type ServerSide } from './harness.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const CLI = path.join(ROOT, 'gateway-agent', 'dist', 'cli.js');
const SPEEDUP = 100;

interface AgentProcess {
  child: ChildProcess;
  samples: string[];
  exited: Promise<number | null>;
}

function spawnAgent(configFile: string): AgentProcess {
  const child = spawn(process.execPath, [CLI, 'run', '--config', configFile, '--trace-samples'], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const samples: string[] = [];
  let buffered = '';
  child.stdout!.on('data', (chunk: Buffer) => {
    buffered += chunk.toString('utf8');
    const lines = buffered.split('\n');
    buffered = lines.pop() ?? '';
    for (const line of lines) {
      if (!line.startsWith('{"sample"')) continue;
      const [at, key] = (JSON.parse(line) as { sample: [number, string, number] }).sample;
      samples.push(`${key}@${at}`);
    }
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, samples, exited };
}

describe('agent process killed with SIGKILL mid-batch', () => {
  let server: ServerSide;
  let dir: string;
  let subscriber: MqttClient;
  const wire = new Map<number, TelemetryBatch>();
  const ptys: PtyPair[] = [];
  const simulators: RunningSimulator[] = [];

  beforeAll(async () => {
    // The test drives the compiled CLI, exactly what runs on the Pi.
    const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
    execFileSync(process.execPath, [tsc, '-b', path.join(ROOT, 'gateway-agent')], { stdio: 'inherit' });
    server = await startServerSide('rel', 'crash-car');
    dir = mkdtempSync(path.join(os.tmpdir(), 'clutch-crash-'));
    subscriber = await connectAsync(server.mqttUrl, { clientId: 'crash-observer' });
    subscriber.on('message', (_topic, payload) => {
      const parsed = parseTelemetryBatch(payload);
      if (parsed.ok) wire.set(parsed.value.seq, parsed.value);
    });
    await subscriber.subscribeAsync('clutch/v1/rel/crash-car/telemetry', { qos: 1 });
  }, 120_000);

  afterAll(async () => {
    await subscriber?.endAsync();
    for (const s of simulators) await s.close();
    for (const p of ptys) await p.close();
    await server?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  /** A fresh adapter on a fresh PTY for each agent process (a replugged USB adapter). */
  async function adapterAt(startRow: number): Promise<string> {
    const pty = await startPtyPair();
    ptys.push(pty);
    const csv = listCarObdDrives().find((f) => f.endsWith('drive1.csv'));
    simulators.push(
      await startSimulator({
        path: pty.a,
        baudRate: 115200,
        drive: csv ? loadCarObdDrive(csv) : syntheticDrive(9),
        rowIntervalMs: 1000 / SPEEDUP,
        startRow,
      }),
    );
    return pty.b;
  }

  function writeConfig(port: string): string {
    const file = path.join(dir, `agent-${Date.now()}.json`);
    writeFileSync(
      file,
      JSON.stringify({
        port,
        baud: 115200,
        mqttUrl: server.mqttUrl,
        tenant: 'rel',
        device: 'crash-car',
        queueDir: path.join(dir, 'queue'),
        batchIntervalMs: 200,
        pollScale: 1 / SPEEDUP,
        logLevel: 'warn',
      }),
    );
    return file;
  }

  it('loses nothing and doubles nothing across kill -9 and restart', async () => {
    expect(existsSync(CLI)).toBe(true);
    const first = spawnAgent(writeConfig(await adapterAt(0)));
    await waitUntil(() => first.samples.length >= 1500 && wire.size >= 3, 'first agent publishing', 20_000);
    first.child.kill('SIGKILL');
    await first.exited;
    // The kill landed mid-batch: samples were journaled but not yet batched.
    const journal = readFileSync(path.join(dir, 'queue', 'journal.jsonl'), 'utf8')
      .trim()
      .split('\n');
    expect(journal.length).toBeGreaterThan(1);

    const second = spawnAgent(writeConfig(await adapterAt(400)));
    await waitUntil(() => second.samples.length >= 1000, 'restarted agent polling', 20_000);
    second.child.kill('SIGTERM'); // graceful: flushes and waits for PUBACKs
    expect(await second.exited).toBe(0);
    await server.stopBroker();

    const produced = [...first.samples, ...second.samples];
    const stored = new Set(await server.storedSamples());
    const missing = produced.filter((s) => !stored.has(s));
    expect(missing).toEqual([]);
    // At most the one sample journaled in the instant between its journal write and its trace line.
    expect(stored.size - new Set(produced).size).toBeLessThanOrEqual(1);
    // seq survived the crash: contiguous from 0, and no sample travelled in two different batches.
    const seqs = [...wire.keys()].sort((a, b) => a - b);
    expect(seqs).toEqual(seqs.map((_, i) => i));
    expect([...wire.values()].reduce((n, b) => n + b.samples.length, 0)).toBe(stored.size);
  }, 90_000);
});
