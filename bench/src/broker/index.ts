// Broker throughput: our broker (clutch-broker, its own process) against Debian's Mosquitto in the
// same run, same load generator: N publishers x M messages at QoS 0 and QoS 1, fanned out to K
// subscribers. Prints msgs/s delivered, the ratio, and p50/p99 publish-to-deliver latency.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ensureSystemProgram, freePort, MissingSystemPackage } from '@clutch/test-support';
import mqtt from 'mqtt';
import { fmt, percentile } from '../common/stats.js';

const PUBLISHERS = Number(process.env.BENCH_PUBLISHERS ?? 20);
const MESSAGES = Number(process.env.BENCH_MESSAGES ?? 2500);
const PAYLOAD_BYTES = 256;
const WINDOW = 64; // QoS 1 messages in flight per publisher

interface Broker {
  url: string;
  stop(): Promise<void>;
}

async function waitForPort(port: number): Promise<void> {
  for (let i = 0; i < 200; i++) {
    const open = await new Promise<boolean>((resolve) => {
      const s = createConnection({ port, host: '127.0.0.1' }, () => {
        s.destroy();
        resolve(true);
      });
      s.once('error', () => resolve(false));
    });
    if (open) return;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`nothing listens on ${port}`);
}

function stopper(child: ChildProcess): () => Promise<void> {
  return async () => {
    if (child.exitCode !== null) return;
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGTERM');
    await exited;
  };
}

async function startOurs(): Promise<Broker> {
  const port = await freePort();
  const cli = fileURLToPath(new URL('../../../broker/dist/cli.js', import.meta.url));
  // Anonymous and unthrottled so both brokers do the same work; TLS off on both.
  const child = spawn(
    process.execPath,
    [
      cli,
      'serve',
      '--allow-anonymous',
      '--port',
      String(port),
      '--ws-port',
      '0',
      '--publish-rate',
      '1000000',
      '--publish-burst',
      '1000000',
    ],
    {
      stdio: 'ignore',
      env: { ...process.env, LOG_LEVEL: 'error' },
    },
  );
  await waitForPort(port);
  return { url: `mqtt://127.0.0.1:${port}`, stop: stopper(child) };
}

async function startMosquitto(): Promise<Broker> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'clutch-mosquitto-'));
  const conf = join(dir, 'mosquitto.conf');
  // The default max_queued_messages (1000) silently drops QoS 1 bursts: raise it like ours.
  writeFileSync(
    conf,
    `listener ${port} 127.0.0.1\nallow_anonymous true\nmax_queued_messages 1000000\nmax_inflight_messages 0\npersistence false\nlog_type error\n`,
  );
  const child = spawn(
    ensureSystemProgram({ candidates: ['/usr/sbin/mosquitto', 'mosquitto'], debianPackage: 'mosquitto' }),
    ['-c', conf],
    { stdio: 'ignore' },
  );
  await waitForPort(port);
  const stop = stopper(child);
  return {
    url: `mqtt://127.0.0.1:${port}`,
    stop: async () => {
      await stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

interface Result {
  msgsPerSecond: number;
  p50: number;
  p99: number;
}

async function run(url: string, qos: 0 | 1, subscribers: number): Promise<Result> {
  const subs = await Promise.all(
    Array.from({ length: subscribers }, (_, i) => mqtt.connectAsync(url, { clientId: `sub-${i}-${Date.now()}` })),
  );
  const expected = PUBLISHERS * MESSAGES * subscribers;
  const latencies: number[] = [];
  let received = 0;
  let lastAt = 0;
  const done = new Promise<void>((resolve) => {
    for (const s of subs) {
      s.on('message', (_topic, payload) => {
        received++;
        if (received % 10 === 0) latencies.push(Date.now() - Number(payload.readBigInt64BE(0)));
        if (received === expected) {
          lastAt = performance.now();
          resolve();
        }
      });
    }
  });
  await Promise.all(subs.map((s) => s.subscribeAsync('bench/#', { qos })));
  const pubs = await Promise.all(
    Array.from({ length: PUBLISHERS }, (_, i) => mqtt.connectAsync(url, { clientId: `pub-${i}-${Date.now()}` })),
  );
  const started = performance.now();
  await Promise.all(
    pubs.map(async (client, p) => {
      const topic = `bench/car-${p}/telemetry`;
      let inFlight: Promise<unknown>[] = [];
      for (let m = 0; m < MESSAGES; m++) {
        const payload = Buffer.alloc(PAYLOAD_BYTES);
        payload.writeBigInt64BE(BigInt(Date.now()), 0);
        if (qos === 0) {
          await new Promise<void>((resolve) => client.publish(topic, payload, { qos: 0 }, () => resolve()));
        } else {
          inFlight.push(client.publishAsync(topic, payload, { qos: 1 }));
          if (inFlight.length >= WINDOW) {
            await Promise.all(inFlight);
            inFlight = [];
          }
        }
      }
      await Promise.all(inFlight);
    }),
  );
  const timeout = new Promise<void>((_, reject) =>
    setTimeout(() => reject(new Error(`only ${received} of ${expected} delivered`)), 120_000),
  );
  await Promise.race([done, timeout]);
  const elapsed = (lastAt - started) / 1000;
  await Promise.all([...subs, ...pubs].map((c) => c.endAsync()));
  return { msgsPerSecond: expected / elapsed, p50: percentile(latencies, 50), p99: percentile(latencies, 99) };
}

async function main(): Promise<void> {
  const ours = await startOurs();
  const mosquitto = await startMosquitto();
  const ratios: number[] = [];
  try {
    console.log(
      `${PUBLISHERS} publishers x ${fmt(MESSAGES)} messages of ${PAYLOAD_BYTES} B; msgs/s delivered to subscribers`,
    );
    for (const [qos, subscribers] of [
      [0, 1],
      [1, 1],
      [1, 4],
    ] as const) {
      // Alternate who goes first so neither always meets a warm machine.
      const m = await run(mosquitto.url, qos, subscribers);
      const o = await run(ours.url, qos, subscribers);
      const ratio = o.msgsPerSecond / m.msgsPerSecond;
      ratios.push(ratio);
      console.log(
        `  QoS ${qos}, ${subscribers} subscriber(s): clutch ${fmt(o.msgsPerSecond)} msg/s (p50 ${fmt(o.p50)} ms, p99 ${fmt(o.p99)} ms) | ` +
          `mosquitto ${fmt(m.msgsPerSecond)} msg/s (p50 ${fmt(m.p50)} ms, p99 ${fmt(m.p99)} ms) | ratio ${ratio.toFixed(3)}`,
      );
    }
  } finally {
    await ours.stop();
    await mosquitto.stop();
  }
  // The headline is the QoS 1 single-subscriber case, the telemetry path.
  console.log(`broker ratio: ${ratios[1]!.toFixed(3)}`);
}

main().then(
  () => process.exit(0),
  (err: Error) => {
    console.error(err instanceof MissingSystemPackage ? err.message : (err.stack ?? err.message));
    process.exit(1);
  },
);
