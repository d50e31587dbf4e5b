// Broker throughput and latency: our broker (clutch-broker, its own process) against Debian's
// Mosquitto in the same run, driven by the same load: publishers in one process, subscribers in
// another (bench/src/broker/load.ts, a lean MQTT client), so the client is never what sets the pace.
// Each case runs once to warm up, then ROUNDS times per broker, alternating which broker goes first;
// the table shows the median of rounds and the spread of the per-round ratio, with the load average
// (the machine is shared: only ratios measured in the same run mean anything).
import { fork, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { MissingSystemPackage } from '@clutch/test-support';
import { fmt } from '../common/stats.js';
import { processCpuMs, startBareAedes, startMosquitto, startOurs, type BenchBroker } from './brokers.js';
import type { LoadReport, PublishJob, SubscribeJob } from './load.js';

const PUBLISHERS = Number(process.env.BENCH_PUBLISHERS ?? 20);
const MESSAGES = Number(process.env.BENCH_MESSAGES ?? 2500);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const PAYLOAD_BYTES = 256;
const WINDOW = Number(process.env.BENCH_WINDOW ?? 64);
const TIMEOUT_MS = 60_000;
/** BENCH_BARE_AEDES=1 adds aedes with no hooks, to tell our broker's own cost from aedes'. */
const WITH_BARE_AEDES = process.env.BENCH_BARE_AEDES === '1';
/** BENCH_ONLY=clutch (or mosquitto, or "aedes bare") runs one broker, e.g. under a profiler. */
const ONLY = process.env.BENCH_ONLY;

interface Case {
  label: string;
  qos: 0 | 1;
  subscribers: number;
}

const ALL_CASES: Case[] = [
  { label: 'QoS 0, 1 subscriber', qos: 0, subscribers: 1 },
  { label: 'QoS 1, 1 subscriber', qos: 1, subscribers: 1 },
  { label: 'QoS 1, 4 subscribers', qos: 1, subscribers: 4 },
];
/** BENCH_CASES=1 (or 0,2: indexes into the list above) runs some cases only, e.g. under a profiler. */
const CASES = process.env.BENCH_CASES
  ? process.env.BENCH_CASES.split(',').map((i) => ALL_CASES[Number(i)]!)
  : ALL_CASES;

interface Measure {
  msgsPerSecond: number;
  p50: number;
  p99: number;
  lost: number;
  /** Cores used on average while the case ran. */
  brokerCores: number;
  /** Broker CPU per message delivered, µs: steadier than msgs/s on a busy machine. */
  brokerUsPerMessage: number;
  clientCores: number;
}

const loadScript = fileURLToPath(new URL('./load.js', import.meta.url));

function forkLoad(job: PublishJob | SubscribeJob): { child: ChildProcess; next: () => Promise<LoadReport> } {
  const child = fork(loadScript, [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const queue: LoadReport[] = [];
  const waiting: ((r: LoadReport) => void)[] = [];
  child.on('message', (m: LoadReport) => {
    const w = waiting.shift();
    if (w) w(m);
    else queue.push(m);
  });
  child.send(job);
  return {
    child,
    next: () => {
      const queued = queue.shift();
      if (queued) return Promise.resolve(queued);
      return new Promise((resolve, reject) => {
        waiting.push(resolve);
        child.once('exit', (code) => reject(new Error(`load process exited with ${code}`)));
      });
    },
  };
}

async function measure(broker: BenchBroker, c: Case, messages: number, tag: string): Promise<Measure> {
  const base = { host: broker.host, port: broker.port, qos: c.qos, tag };
  const subs = forkLoad({ ...base, role: 'subscribe', subscribers: c.subscribers, expected: PUBLISHERS * messages });
  const pubs = forkLoad({
    ...base,
    role: 'publish',
    publishers: PUBLISHERS,
    messages,
    window: WINDOW,
    payloadBytes: PAYLOAD_BYTES,
  });
  try {
    await subs.next();
    await pubs.next();
    const cpuBefore = processCpuMs(broker.pid);
    pubs.child.send({ type: 'go' });
    const timer = setTimeout(() => subs.child.send({ type: 'stop' }), TIMEOUT_MS);
    const received = await subs.next();
    clearTimeout(timer);
    const brokerCpu = processCpuMs(broker.pid) - cpuBefore;
    subs.child.send({ type: 'stop' }); // lets a still-publishing QoS 0 publisher be killed below
    const published = await Promise.race([
      pubs.next(),
      new Promise<null>((r) => setTimeout(() => r(null), received.type === 'received' ? 5_000 : 0)),
    ]);
    if (received.type !== 'received') throw new Error(`unexpected ${received.type} from the subscribers`);
    if (!published || published.type !== 'published') throw new Error('the publishers did not finish');
    const expected = PUBLISHERS * messages * c.subscribers;
    const seconds = (received.lastAt - published.startedAt) / 1000;
    return {
      msgsPerSecond: received.received / seconds,
      p50: received.p50,
      p99: received.p99,
      lost: expected - received.received,
      brokerCores: brokerCpu / 1000 / seconds,
      brokerUsPerMessage: (brokerCpu * 1000) / received.received,
      clientCores: (published.cpuMs + received.cpuMs) / 1000 / seconds,
    };
  } finally {
    subs.child.kill();
    pubs.child.kill();
  }
}

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

/** Load average, and the share of the last 60 s some task waited for a CPU (Linux PSI) when known. */
const loadAverage = (): string => {
  const load = loadavg()
    .map((l) => l.toFixed(2))
    .join(' ');
  try {
    const waited = /some avg10=\S+ avg60=(\S+)/.exec(readFileSync('/proc/pressure/cpu', 'utf8'))?.[1];
    return waited === undefined ? load : `${load}, CPU pressure ${waited}%`;
  } catch {
    return load;
  }
};

async function main(): Promise<void> {
  const brokers: BenchBroker[] = [];
  try {
    const wanted = (name: string): boolean => ONLY === undefined || ONLY === name;
    if (wanted('mosquitto')) brokers.push(await startMosquitto());
    if (wanted('clutch')) brokers.push(await startOurs());
    if (WITH_BARE_AEDES || ONLY === 'aedes bare') brokers.push(await startBareAedes());
    console.log(
      `${PUBLISHERS} publishers x ${fmt(MESSAGES)} messages of ${PAYLOAD_BYTES} B (QoS 1: ${WINDOW} in flight each); ` +
        `${ROUNDS} rounds after a warm-up, median shown; load average ${loadAverage()}`,
    );
    const results = new Map<string, Measure[]>(); // `${case}|${broker}` -> rounds
    for (const c of CASES) {
      for (const b of brokers) await measure(b, c, Math.ceil(MESSAGES / 5), `warm-${b.name}`);
      for (let round = 0; round < ROUNDS; round++) {
        // Alternate who goes first so neither always meets the machine the other left behind.
        const order = round % 2 === 0 ? brokers : [...brokers].reverse();
        for (const b of order) {
          const m = await measure(b, c, MESSAGES, `${round}-${b.name}`);
          const key = `${c.label}|${b.name}`;
          results.set(key, [...(results.get(key) ?? []), m]);
        }
      }
      for (const b of brokers) {
        const rounds = results.get(`${c.label}|${b.name}`)!;
        const lost = rounds.reduce((n, m) => n + m.lost, 0);
        console.log(
          `  ${c.label.padEnd(21)} ${b.name.padEnd(10)} ${fmt(median(rounds.map((m) => m.msgsPerSecond))).padStart(8)} msg/s ` +
            `(${rounds.map((m) => fmt(m.msgsPerSecond)).join(', ')}) p50 ${fmt(median(rounds.map((m) => m.p50)), 1)} ms ` +
            `p99 ${fmt(median(rounds.map((m) => m.p99)), 1)} ms | broker ${median(rounds.map((m) => m.brokerCores)).toFixed(2)} cores, ` +
            `${median(rounds.map((m) => m.brokerUsPerMessage)).toFixed(1)} µs/msg, ` +
            `client ${median(rounds.map((m) => m.clientCores)).toFixed(2)} cores${lost ? ` | LOST ${fmt(lost)}` : ''}`,
        );
      }
    }
    const mosquitto = brokers.find((b) => b.name === 'mosquitto');
    if (!mosquitto) return;
    console.log(`ratios to Mosquitto (median of rounds; per-round spread in brackets); load average ${loadAverage()}`);
    for (const b of brokers) {
      if (b === mosquitto) continue;
      for (const c of CASES) {
        const ours = results.get(`${c.label}|${b.name}`)!;
        const theirs = results.get(`${c.label}|mosquitto`)!;
        const perRound = ours.map((m, i) => m.msgsPerSecond / theirs[i]!.msgsPerSecond);
        console.log(
          `  ${b.name} ${c.label}: ${(median(ours.map((m) => m.msgsPerSecond)) / median(theirs.map((m) => m.msgsPerSecond))).toFixed(2)}x msgs/s ` +
            `[${Math.min(...perRound).toFixed(2)}-${Math.max(...perRound).toFixed(2)}]`,
        );
      }
      const ours = results.get(`QoS 1, 1 subscriber|${b.name}`);
      const theirs = results.get('QoS 1, 1 subscriber|mosquitto');
      if (!ours || !theirs) continue; // BENCH_CASES left the QoS 1 case out
      const perRound = ours.map((m, i) => m.p99 / theirs[i]!.p99);
      console.log(
        `  ${b.name} QoS 1 p99 latency: ${fmt(median(ours.map((m) => m.p99)), 1)} ms vs ${fmt(median(theirs.map((m) => m.p99)), 1)} ms = ` +
          `${(median(ours.map((m) => m.p99)) / median(theirs.map((m) => m.p99))).toFixed(2)}x ` +
          `[${Math.min(...perRound).toFixed(2)}-${Math.max(...perRound).toFixed(2)}] (lower is better)`,
      );
    }
    const clutch = (label: string): number =>
      median(results.get(`${label}|clutch`)?.map((m) => m.msgsPerSecond) ?? [Number.NaN]) /
      median(results.get(`${label}|mosquitto`)!.map((m) => m.msgsPerSecond));
    // The headline is the QoS 1 single-subscriber case, the telemetry path.
    if (results.has('QoS 1, 1 subscriber|mosquitto'))
      console.log(`broker ratio: ${clutch('QoS 1, 1 subscriber').toFixed(3)}`);
  } finally {
    for (const b of brokers) await b.stop();
  }
}

main().then(
  () => process.exit(0),
  (err: Error) => {
    console.error(err instanceof MissingSystemPackage ? err.message : (err.stack ?? err.message));
    process.exit(1);
  },
);
