// The simulated fleet's load generator, on its own thread so the platform under test keeps its event
// loop to itself (a real fleet is other machines). Publishes `rounds` rounds, one batch per vehicle
// per second, each batch stamped with its publish time (t0) so the receiver can measure latency.
import { parentPort, workerData } from 'node:worker_threads';
import mqtt from 'mqtt';
import { currentThreadId } from '../common/cpu.js';
import { connectClient, PUBACK } from '../broker/wire.js';

const DISCONNECT = Buffer.from([0xe0, 0x00]);

/** A QoS 1 PUBLISH of `payload` (UTF-8) to `topic` with message id `id`, as MQTT 3.1.1 frames it. */
function publishQos1(topic: string, payload: string, id: number): Buffer {
  const topicBytes = Buffer.byteLength(topic);
  const remaining = 2 + topicBytes + 2 + Buffer.byteLength(payload);
  const buf = Buffer.allocUnsafe(1 + (remaining < 128 ? 1 : remaining < 16_384 ? 2 : 3) + remaining);
  buf[0] = 0x32; // PUBLISH, QoS 1
  let o = 1;
  let n = remaining;
  do {
    const byte = n % 128;
    n = Math.floor(n / 128);
    buf[o++] = n > 0 ? byte | 0x80 : byte;
  } while (n > 0);
  buf.writeUInt16BE(topicBytes, o);
  o += 2;
  o += buf.write(topic, o, 'utf8');
  buf.writeUInt16BE(id, o);
  buf.write(payload, o + 2, 'utf8');
  return buf;
}

interface FleetJob {
  mode: 'fleet';
  url: string;
  devices: string[];
  signals: string[];
  /** Reading cycles of real drives, signals.length values each (NaN: no reading); see realReadings(). */
  readings: Float64Array;
  rounds: number;
  seqStart: number;
  /** MQTT connections the cars share; default one per 25 cars (at most 400). */
  connections?: number;
}

/** What the fleet thread tells the benchmark: it starts publishing (and its kernel thread id, for CPU accounting), then it is done. */
export type FleetReport = { type: 'publishing'; tid: number | null } | { type: 'done' };

/**
 * Throughput: each device drains its prebuilt payloads as the gateway agent drains its disk queue
 * (QoS 1, one connection each, at most AGENT_INFLIGHT_WINDOW batches unacknowledged).
 */
interface BatchesJob {
  mode: 'batches';
  url: string;
  devices: string[];
  payloads: string[][];
}

/** The gateway agent's default window of unacknowledged batches (gateway-agent/src/config.ts). */
const AGENT_INFLIGHT_WINDOW = 16;

const job = workerData as FleetJob | BatchesJob;
if (job.mode === 'batches') {
  const clients = await Promise.all(job.devices.map((d) => mqtt.connectAsync(job.url, { clientId: `bench-${d}` })));
  parentPort!.postMessage({ type: 'connected', tid: currentThreadId() });
  await new Promise<void>((resolve) => parentPort!.once('message', () => resolve()));
  await Promise.all(
    clients.map(async (client, i) => {
      const topic = `clutch/v1/bench/${job.devices[i]}/telemetry`;
      const pending = new Set<Promise<unknown>>();
      for (const p of job.payloads[i]!) {
        if (pending.size >= AGENT_INFLIGHT_WINDOW) await Promise.race(pending);
        const sent: Promise<unknown> = client.publishAsync(topic, p, { qos: 1 }).finally(() => pending.delete(sent));
        pending.add(sent);
      }
      await Promise.all(pending);
    }),
  );
  await Promise.all(clients.map((c) => c.endAsync()));
  parentPort!.postMessage('done');
} else {
  await fleet(job);
}

/**
 * Each vehicle publishes once a second at its own phase (vehicle i at i/N of the second), as a real
 * fleet's unsynchronised clocks do; a fleet that fired every vehicle in the same millisecond would
 * measure a burst, not a sustained load.
 */
async function fleet(job: FleetJob): Promise<void> {
  // A real car has a connection of its own, and the broker acknowledges a connection's publishes
  // only as ingest commits them: so no connection carries more than 25 cars here (400 at 10,000),
  // where 8 connections of 1,250 cars each would measure head-of-line waiting that no fleet has.
  // BENCH_FLEET_CONNECTIONS=8 is the packing of the 2026-11-25 figures (1,000 cars a connection at 8,000).
  // The lean client of the broker bench (../broker/wire.ts), not MQTT.js: the generator shares the
  // two cores with the platform it measures, and MQTT.js cost it a quarter of a core at 10,000 cars.
  const { hostname, port } = new URL(job.url);
  const connections = await Promise.all(
    Array.from({ length: job.connections ?? Math.min(400, Math.ceil(job.devices.length / 25)) }, (_, i) =>
      connectClient(hostname, Number(port), `fleet-${process.pid}-${i}`),
    ),
  );
  const messageIds = new Uint16Array(connections.length);
  const n = job.devices.length;
  const width = job.signals.length;
  const cycles = job.readings.length / width;
  const topics = job.devices.map((d) => `clutch/v1/bench/${d}/telemetry`);
  // A reading cycle's samples as JSON, built once: the generator is on the same two cores as the
  // platform, and every cycle is sent by many cars. Only seq and t0 differ between their payloads.
  const samplesJson: (string | undefined)[] = new Array(cycles);
  const samplesOf = (cycle: number): string => {
    let json = samplesJson[cycle];
    if (json === undefined) {
      const samples: [number, string, number][] = [];
      for (let k = 0; k < width; k++) {
        const value = job.readings[cycle * width + k]!;
        if (!Number.isNaN(value)) samples.push([0, job.signals[k]!, value]);
      }
      samplesJson[cycle] = json = JSON.stringify(samples);
    }
    return json;
  };
  // Acknowledgements counted, not kept: 90 rounds of 10,000 cars would hold 900,000 promises.
  let unacknowledged = 0;
  let allAcknowledged: (() => void) | undefined;
  for (const c of connections) {
    c.onPacket((type) => {
      if (type !== PUBACK) return;
      unacknowledged--;
      if (unacknowledged === 0) allAcknowledged?.();
    });
    // An unacknowledged batch is never resent by this generator: a closed connection fails the bench.
    c.socket.once('close', () => {
      if (unacknowledged > 0) throw new Error('a fleet connection closed with batches unacknowledged');
    });
  }
  const start = Date.now() + 100;
  parentPort!.postMessage({ type: 'publishing', tid: currentThreadId() } satisfies FleetReport);
  for (let r = 0; r < job.rounds; r++) {
    const seq = job.seqStart + r;
    let next = 0;
    while (next < n) {
      // Everything whose phase has come, then sleep until the next 5 ms slice.
      const due = Math.min(n, Math.floor(((Date.now() - start - r * 1000) / 1000) * n) + 1);
      for (; next < due; next++) {
        // Each car replays the drives from its own point, one reading cycle a second.
        const cycle = (Math.floor((next * cycles) / n) + seq) % cycles;
        // The same JSON as JSON.stringify({ v: 1, seq, t0, samples }).
        const payload = `{"v":1,"seq":${seq},"t0":${Date.now()},"samples":${samplesOf(cycle)}}`;
        unacknowledged++;
        const k = next % connections.length;
        // Message ids 1..65535 (0 is not one): far more than a connection's batches in flight.
        messageIds[k] = messageIds[k]! === 0xffff ? 1 : messageIds[k]! + 1;
        connections[k]!.socket.write(publishQos1(topics[next]!, payload, messageIds[k]!));
      }
      if (next < n) await new Promise((res) => setTimeout(res, 5));
    }
  }
  if (unacknowledged > 0) await new Promise<void>((resolve) => (allAcknowledged = resolve));
  for (const c of connections) {
    c.socket.removeAllListeners('close');
    c.socket.end(DISCONNECT);
  }
  parentPort!.postMessage({ type: 'done' } satisfies FleetReport);
  // Alive until the benchmark terminates it: a thread that ended takes its CPU count with it.
  parentPort!.once('message', () => undefined);
}
