// Agent reads/s against the ELM327 simulator, as a ratio of what the serial link and the ECU allow
// (DESIGN §12: target >= 0.9). The simulator paces every byte at 10 bit times (8N1) and answers after
// a fixed ECU latency, so the link's allowance for the exchange that actually happened is
//   allowed time = requests x ECU latency + bytes on the wire x 10 / baud
// and the ratio is allowed time / elapsed time (= achieved reads/s / allowed reads/s). Anything the
// agent wastes (idle gaps, missing response-count digits that make the adapter wait, slow decoding)
// lowers it. Uplink bytes per sample are measured on the batches the agent would queue and send.
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { buildTopic } from '@clutch/contracts';
import {
  AdapterLink,
  Outbox,
  createLinkedStreams,
  listCarObdDrives,
  loadCarObdDrive,
  startPoller,
  startSimulator,
  syntheticDrive,
} from '@clutch/gateway-agent';
import { pino } from 'pino';

const ECU_LATENCY_MS = Number(process.env.BENCH_ECU_LATENCY_MS ?? 10);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);

interface Run {
  baud: number;
  pids: number;
  reads: number;
  requests: number;
  elapsedMs: number;
  allowedMs: number;
  samples: number;
  uplinkBytes: number;
}

async function measure(baud: number, maxPids: number): Promise<Run> {
  const csv = listCarObdDrives().find((f) => f.endsWith('drive1.csv'));
  const drive = csv ? loadCarObdDrive(csv) : syntheticDrive(1);
  const [host, adapter] = createLinkedStreams();
  let bytes = 0;
  let obdRequests = 0;
  let partial = '';
  host.on('data', (c: Buffer) => (bytes += c.length));
  adapter.on('data', (c: Buffer) => {
    bytes += c.length;
    // Only OBD requests wait for the ECU; AT commands are answered by the adapter itself.
    const lines = (partial + c.toString('latin1')).split('\r');
    partial = lines.pop() ?? '';
    obdRequests += lines.filter((l) => l !== '' && !/^AT/i.test(l)).length;
  });
  const sim = await startSimulator({
    stream: adapter,
    drive,
    rowIntervalMs: 1000,
    linkBaud: baud,
    ecuLatencyMs: ECU_LATENCY_MS,
  });
  const log = pino({ level: 'silent' });
  const link = new AdapterLink({ stream: host }, log);
  await link.open();
  const dir = mkdtempSync(path.join(os.tmpdir(), 'clutch-bench-agent-'));
  const outbox = new Outbox({ dir, fsync: false });
  let samples = 0;
  // Count only the polling phase: initialisation (ATZ, supported PIDs, VIN) is not throughput.
  bytes = 0;
  obdRequests = 0;
  const start = performance.now();
  const flush = setInterval(() => outbox.flush(), 1000);
  const poller = startPoller({
    link,
    logger: log,
    pollScale: 0,
    maxPidsPerRequest: maxPids,
    emit: (key, value, at) => {
      samples++;
      outbox.add(key, value, at);
    },
  });
  await new Promise((r) => setTimeout(r, SECONDS * 1000));
  await poller.stop();
  const elapsedMs = performance.now() - start;
  clearInterval(flush);
  outbox.flush();
  // The last exchange may be cut short by stop(); count what completed.
  const requests = poller.requests;
  const allowedMs = obdRequests * ECU_LATENCY_MS + (bytes * 10 * 1000) / baud;
  const topic = buildTopic({ tenant: 'acme', device: 'car-0001', kind: 'telemetry' });
  let uplinkBytes = 0;
  for (const seq of outbox.queue.oldest(1e9)) {
    const payload = Buffer.byteLength(outbox.queue.read(seq));
    // MQTT 3.1.1 PUBLISH QoS 1: fixed header (1 + remaining-length bytes), topic (2 + n), packet id (2).
    const remaining = 2 + topic.length + 2 + payload;
    uplinkBytes += 1 + (remaining < 128 ? 1 : remaining < 16384 ? 2 : 3) + remaining + 4; // + PUBACK (4)
  }
  outbox.close();
  rmSync(dir, { recursive: true, force: true });
  await link.close();
  await sim.close();
  return { baud, pids: maxPids, reads: poller.reads, requests, elapsedMs, allowedMs, samples, uplinkBytes };
}

const f = (n: number, d = 0) => n.toFixed(d);
console.log(
  `agent reads/s vs the link allowance (ECU latency ${ECU_LATENCY_MS} ms, 8N1, ${SECONDS} s per run, carOBD drive replay)`,
);
console.log('baud     PIDs/req  reads/s  allowed/s  ratio  requests  uplink B/sample');
const runs: Run[] = [];
for (const baud of [38400, 115200]) {
  for (const pids of [1, 6]) {
    const r = await measure(baud, pids);
    runs.push(r);
    const achieved = (r.reads / r.elapsedMs) * 1000;
    const allowed = (r.reads / r.allowedMs) * 1000;
    console.log(
      `${String(baud).padEnd(8)} ${f(r.reads / Math.max(1, r.requests), 2).padStart(8)}  ${f(achieved, 1).padStart(7)}  ${f(allowed, 1).padStart(9)}  ${f(achieved / allowed, 3).padStart(5)}  ${String(r.requests).padStart(8)}  ${f(r.uplinkBytes / Math.max(1, r.samples), 1).padStart(15)}`,
    );
  }
}
const multi = runs.find((r) => r.baud === 38400 && r.pids === 6)!;
const single = runs.find((r) => r.baud === 38400 && r.pids === 1)!;
console.log(
  `multi-PID speed-up at 38400: ${f(multi.reads / multi.elapsedMs / (single.reads / single.elapsedMs), 2)}x reads/s over single-PID`,
);
console.log(`agent ratio: ${f(multi.allowedMs / multi.elapsedMs, 3)}`);
process.exit(0);
