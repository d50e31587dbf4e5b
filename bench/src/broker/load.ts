// One side of the broker bench's load, in its own process (forked by index.ts): either the
// publishers or the subscribers, so neither competes with the other, nor with the coordinator, for
// an event loop. The same code drives every broker.
import { setImmediate as tick } from 'node:timers/promises';
import { PUBACK, PUBLISH, connectClient, nowMs, publishTemplate, pubackPacket, type WireClient } from './wire.js';

export interface PublishJob {
  role: 'publish';
  host: string;
  port: number;
  publishers: number;
  messages: number;
  qos: 0 | 1;
  /** QoS 1 messages in flight per publisher (a sliding window: one goes out per PUBACK). */
  window: number;
  payloadBytes: number;
  tag: string;
}

export interface SubscribeJob {
  role: 'subscribe';
  host: string;
  port: number;
  subscribers: number;
  qos: 0 | 1;
  /** Messages each subscriber expects (publishers x messages). */
  expected: number;
  tag: string;
}

export type LoadReport =
  | { type: 'ready' }
  | { type: 'published'; startedAt: number; finishedAt: number; cpuMs: number }
  | {
      type: 'received';
      received: number;
      lastAt: number;
      p50: number;
      p99: number;
      max: number;
      cpuMs: number;
    };

const QOS0_BATCH = 32;

function send(report: LoadReport): void {
  process.send!(report);
}

function cpuMs(since: NodeJS.CpuUsage): number {
  const used = process.cpuUsage(since);
  return (used.user + used.system) / 1000;
}

async function publishQoS0(client: WireClient, topic: string, job: PublishJob): Promise<void> {
  const template = publishTemplate(topic, 0, job.payloadBytes);
  for (let sent = 0; sent < job.messages;) {
    const n = Math.min(QOS0_BATCH, job.messages - sent);
    const buf = Buffer.allocUnsafe(n * template.size);
    const at = nowMs();
    for (let k = 0, offset = 0; k < n; k++) offset = template.write(buf, offset, 0, at);
    sent += n;
    // Nothing paces QoS 0 but TCP: wait when the socket's buffer is full, else let the others run.
    if (!client.socket.write(buf)) await new Promise((r) => client.socket.once('drain', r));
    else await tick();
  }
}

function publishQoS1(client: WireClient, topic: string, job: PublishJob): Promise<void> {
  const template = publishTemplate(topic, 1, job.payloadBytes);
  let sent = 0;
  let acked = 0;
  let owed = 0;
  let nextId = 1;
  const burst = (n: number): void => {
    n = Math.min(n, job.messages - sent);
    if (n <= 0) return;
    const buf = Buffer.allocUnsafe(n * template.size);
    const at = nowMs();
    for (let k = 0, offset = 0; k < n; k++) {
      offset = template.write(buf, offset, nextId, at);
      nextId = nextId === 65535 ? 1 : nextId + 1;
    }
    sent += n;
    client.socket.write(buf);
  };
  return new Promise((resolve) => {
    client.onPacket(
      (type) => {
        if (type !== PUBACK) return;
        acked++;
        owed++;
      },
      () => {
        burst(owed);
        owed = 0;
        if (acked === job.messages) resolve();
      },
    );
    burst(job.window);
  });
}

async function runPublishers(job: PublishJob, go: Promise<void>): Promise<void> {
  const clients = await Promise.all(
    Array.from({ length: job.publishers }, (_, i) => connectClient(job.host, job.port, `pub-${job.tag}-${i}`)),
  );
  send({ type: 'ready' });
  await go;
  const cpu = process.cpuUsage();
  const startedAt = nowMs();
  await Promise.all(
    clients.map((client, i) => {
      const topic = `bench/car-${i}/telemetry`;
      return job.qos === 0 ? publishQoS0(client, topic, job) : publishQoS1(client, topic, job);
    }),
  );
  send({ type: 'published', startedAt, finishedAt: nowMs(), cpuMs: cpuMs(cpu) });
}

async function runSubscribers(job: SubscribeJob, stop: Promise<void>): Promise<void> {
  const total = job.expected * job.subscribers;
  const latencies = new Float64Array(total);
  let received = 0;
  let lastAt = 0;
  let cpu: NodeJS.CpuUsage | null = null;
  let finished!: () => void;
  const allIn = new Promise<void>((r) => (finished = r));
  const clients = await Promise.all(
    Array.from({ length: job.subscribers }, (_, i) =>
      connectClient(job.host, job.port, `sub-${job.tag}-${i}`, { filter: 'bench/#', qos: job.qos }),
    ),
  );
  for (const client of clients) {
    const acks: Buffer[] = [];
    let at = 0;
    client.onPacket(
      (type, flags, body) => {
        if (type !== PUBLISH) return;
        cpu ??= process.cpuUsage();
        if (at === 0) at = nowMs();
        const idAt = 2 + body.readUInt16BE(0);
        const qos = (flags >> 1) & 3;
        if (qos > 0) acks.push(pubackPacket(body.readUInt16BE(idAt)));
        const sentAt = body.readDoubleBE(idAt + (qos > 0 ? 2 : 0));
        if (received < total) latencies[received] = at - sentAt;
        received++;
      },
      () => {
        // One PUBACK write per chunk read, like a client that batches its acknowledgements.
        if (acks.length > 0) client.socket.write(acks.length === 1 ? acks[0]! : Buffer.concat(acks));
        acks.length = 0;
        if (at !== 0) lastAt = at;
        at = 0;
        if (received >= total) finished();
      },
    );
  }
  send({ type: 'ready' });
  await Promise.race([allIn, stop]);
  const sample = latencies.subarray(0, Math.min(received, total)).sort();
  const rank = (p: number): number =>
    sample.length === 0 ? Number.NaN : sample[Math.min(sample.length - 1, Math.ceil((p / 100) * sample.length) - 1)]!;
  send({
    type: 'received',
    received,
    lastAt,
    p50: rank(50),
    p99: rank(99),
    max: rank(100),
    cpuMs: cpu ? cpuMs(cpu) : 0,
  });
}

let release!: () => void;
const signal = new Promise<void>((r) => (release = r));
process.on('message', (message: PublishJob | SubscribeJob | { type: 'go' } | { type: 'stop' }) => {
  if ('role' in message) {
    const run = message.role === 'publish' ? runPublishers(message, signal) : runSubscribers(message, signal);
    run.catch((err: Error) => {
      console.error(err.stack ?? err.message);
      process.exit(1);
    });
  } else {
    release();
  }
});
