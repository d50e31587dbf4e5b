// The simulated fleet's load generator, on its own thread so the platform under test keeps its event
// loop to itself (a real fleet is other machines). Publishes `rounds` rounds, one batch per vehicle
// per second, each batch stamped with its publish time (t0) so the receiver can measure latency.
import { parentPort, workerData } from 'node:worker_threads';
import mqtt from 'mqtt';
import { currentThreadId } from '../common/cpu.js';

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
  const connections = await Promise.all(
    Array.from({ length: job.connections ?? Math.min(400, Math.ceil(job.devices.length / 25)) }, (_, i) =>
      mqtt.connectAsync(job.url, { clientId: `fleet-${process.pid}-${i}` }),
    ),
  );
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
  const acknowledged = (err?: Error): void => {
    if (err) throw err; // the worker's error event fails the bench, as a rejected publish did
    unacknowledged--;
    if (unacknowledged === 0) allAcknowledged?.();
  };
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
        connections[next % connections.length]!.publish(topics[next]!, payload, { qos: 1 }, acknowledged);
      }
      if (next < n) await new Promise((res) => setTimeout(res, 5));
    }
  }
  if (unacknowledged > 0) await new Promise<void>((resolve) => (allAcknowledged = resolve));
  await Promise.all(connections.map((c) => c.endAsync()));
  parentPort!.postMessage({ type: 'done' } satisfies FleetReport);
  // Alive until the benchmark terminates it: a thread that ended takes its CPU count with it.
  parentPort!.once('message', () => undefined);
}
