// The cost of MQTT 5 shared subscriptions across brokers clustered on Redis (broker/src/cluster-shared):
// two brokers on one redis-server, a publisher on broker A, and either one plain subscriber (the
// reference: each message delivered once) or a shared group of four members, all on broker A or two on
// each broker (each message delivered once, chosen in Redis). Brokers and clients share this process, so the figures are
// CPU per 1,000 messages of this process and of redis-server, plus Redis commands per message, in the
// same run; wall-clock rates on a shared machine are printed for information only.
import { execFile } from 'node:child_process';
import { loadavg } from 'node:os';
import { promisify } from 'node:util';
import { DEFAULT_LIMITS, developmentPolicy, startBroker, type RunningBroker } from '@clutch/broker';
import { startRedisServer } from '@clutch/test-support';
import mqtt from 'mqtt';

const MESSAGES = Number(process.env.BENCH_MESSAGES ?? 5000);
const WINDOW = Number(process.env.BENCH_WINDOW ?? 64);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const FILTER = 'clutch/v1/acme/+/telemetry';

interface RedisCost {
  /** redis-server CPU (user + sys), ms. */
  cpuMs: number;
  /** Round trips that choose a member (the claim script) and their time inside Redis. */
  claims: number;
  claimUsec: number;
  /** PUBLISH round trips (the fan-out between brokers) and their time inside Redis. */
  publishes: number;
  publishUsec: number;
}

/** redis-server's counters so far, from INFO (Debian's redis-cli, installed with the server). */
async function redisCost(port: number): Promise<RedisCost> {
  const { stdout: info } = await promisify(execFile)('redis-cli', ['-p', String(port), 'INFO', 'all']);
  const field = (name: string): number => Number(new RegExp(`${name}:([\\d.]+)`).exec(info)?.[1] ?? 0);
  const stat = (command: string): { calls: number; usec: number } => {
    const m = new RegExp(`cmdstat_${command}:calls=(\\d+),usec=(\\d+)`).exec(info);
    return { calls: Number(m?.[1] ?? 0), usec: Number(m?.[2] ?? 0) };
  };
  const claims = stat('evalsha');
  const publishes = stat('publish');
  return {
    cpuMs: (field('used_cpu_user') + field('used_cpu_sys')) * 1000,
    claims: claims.calls,
    claimUsec: claims.usec,
    publishes: publishes.calls,
    publishUsec: publishes.usec,
  };
}

interface Result {
  cpuPer1k: number;
  redisCpuPer1k: number;
  claimsPerMessage: number;
  claimUsecPerMessage: number;
  publishesPerMessage: number;
  publishUsecPerMessage: number;
  perSecond: number;
}

async function run(
  label: string,
  a: RunningBroker,
  redisPort: number,
  topics: { broker: RunningBroker; filter: string }[],
): Promise<Result> {
  const subscribers = await Promise.all(
    topics.map(async ({ broker, filter }, i) => {
      const client = await mqtt.connectAsync(broker.mqttUrl, { clientId: `s${i}-${label}`, protocolVersion: 5 });
      await client.subscribeAsync(filter, { qos: 1 });
      return client;
    }),
  );
  const publisher = await mqtt.connectAsync(a.mqttUrl, { clientId: `p-${label}`, protocolVersion: 5 });
  let received = 0;
  const all = new Promise<void>((resolve) => {
    for (const s of subscribers)
      s.on('message', () => {
        if (++received === MESSAGES) resolve();
      });
  });
  const payload = Buffer.alloc(256, 7);
  const before = await redisCost(redisPort);
  const cpuBefore = process.cpuUsage();
  const started = performance.now();
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < MESSAGES) {
      const i = next++;
      await publisher.publishAsync(`clutch/v1/acme/car-${i % 50}/telemetry`, payload, { qos: 1 });
    }
  };
  await Promise.all(Array.from({ length: WINDOW }, worker));
  await all;
  const elapsedMs = performance.now() - started;
  const cpu = process.cpuUsage(cpuBefore);
  const after = await redisCost(redisPort);
  await Promise.all([...subscribers, publisher].map((c) => c.endAsync()));
  if (received !== MESSAGES) throw new Error(`${label}: ${received} deliveries for ${MESSAGES} messages`);
  return {
    cpuPer1k: ((cpu.user + cpu.system) / 1000 / MESSAGES) * 1000,
    redisCpuPer1k: ((after.cpuMs - before.cpuMs) / MESSAGES) * 1000,
    claimsPerMessage: (after.claims - before.claims) / MESSAGES,
    claimUsecPerMessage: (after.claimUsec - before.claimUsec) / MESSAGES,
    publishesPerMessage: (after.publishes - before.publishes) / MESSAGES,
    publishUsecPerMessage: (after.publishUsec - before.publishUsec) / MESSAGES,
    perSecond: MESSAGES / (elapsedMs / 1000),
  };
}

const median = (values: number[]): number => [...values].sort((x, y) => x - y)[Math.floor(values.length / 2)]!;

const redis = await startRedisServer();
// Unthrottled: the per-client publish rate limit would set the pace, not the brokers.
const policy = developmentPolicy({ ...DEFAULT_LIMITS, publishRatePerSecond: 1e9, publishBurst: 1e9 });
const a = await startBroker({ mqttPort: 0, redisUrl: redis.url, policy });
const b = await startBroker({ mqttPort: 0, redisUrl: redis.url, policy });
const cases: Record<string, { broker: RunningBroker; filter: string }[]> = {
  plain: [{ broker: a, filter: FILTER }],
  // All members on the publisher's broker: one claim per message, and broker B receives nothing.
  'shared 4+0': [a, a, a, a].map((broker) => ({ broker, filter: `$share/solo/${FILTER}` })),
  'shared 2+2': [a, a, b, b].map((broker) => ({ broker, filter: `$share/workers/${FILTER}` })),
};
const results: Record<string, Result[]> = { plain: [], 'shared 4+0': [], 'shared 2+2': [] };
try {
  for (let round = 0; round <= ROUNDS; round++)
    for (const [label, topics] of Object.entries(cases)) {
      const r = await run(`${label}-${round}`, a, redis.port, topics);
      if (round > 0) results[label]!.push(r); // round 0 warms up
    }
} finally {
  await a.close();
  await b.close();
  await redis.stop();
}
const load = loadavg()
  .map((l) => l.toFixed(2))
  .join(' ');
console.log(`broker-shared: ${MESSAGES} QoS 1 messages x ${ROUNDS} rounds (medians), window ${WINDOW}, load ${load}`);
console.log(
  'case         | CPU ms/1k msgs (this process) | redis CPU ms/1k | claims/msg | claim us/msg | PUBLISH/msg | PUBLISH us/msg | msgs/s',
);
const cell = (rs: Result[], key: keyof Result, digits: number, width: number): string =>
  median(rs.map((r) => r[key]))
    .toFixed(digits)
    .padStart(width);
for (const [label, rs] of Object.entries(results))
  console.log(
    [
      label.padEnd(12),
      cell(rs, 'cpuPer1k', 1, 29),
      cell(rs, 'redisCpuPer1k', 1, 15),
      cell(rs, 'claimsPerMessage', 2, 10),
      cell(rs, 'claimUsecPerMessage', 1, 12),
      cell(rs, 'publishesPerMessage', 2, 11),
      cell(rs, 'publishUsecPerMessage', 1, 14),
      cell(rs, 'perSecond', 0, 6),
    ].join(' | '),
  );
const plainCpu = median(results.plain!.map((r) => r.cpuPer1k));
for (const label of ['shared 4+0', 'shared 2+2']) {
  const ratio = median(results[label]!.map((r) => r.cpuPer1k)) / plainCpu;
  console.log(`${label}/plain CPU per message of this process (2 brokers + clients): ${ratio.toFixed(2)}x`);
}
