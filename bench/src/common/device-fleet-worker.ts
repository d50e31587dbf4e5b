// Load generator on its own thread (a real fleet is other machines): a good tenant's cars publish one
// batch a second each at their own phase, each with its own MQTT login, and count what the broker
// acknowledged; on request, a hostile tenant's devices publish refused payloads as fast as the broker
// lets them.
import { parentPort, workerData } from 'node:worker_threads';
import mqtt from 'mqtt';
import { hostileMessages } from '../hostile/payloads.js';

export interface Login {
  tenantId: string;
  deviceId: string;
  username: string;
  password: string;
}

export interface LoadJob {
  url: string;
  good: Login[];
  evil: Login[];
  /** Catalogue keys and plausible values of the 20 signals a good car sends. */
  signals: [string, number][];
}

/** Messages from the load generator to the benchmark. */
export type LoadReport =
  | { type: 'connected' }
  /** Per good device, the t0 of every batch the broker acknowledged. */
  | { type: 'acked'; perDevice: Record<string, number[]>; evilAcked: number; evilSent: number };

const job = workerData as LoadJob;
const port = parentPort!;
const acked = new Map<string, number[]>();
let evilAcked = 0;
let evilSent = 0;
let running = true;
let evilOn = false;

const connect = (login: Login): Promise<mqtt.MqttClient> =>
  mqtt.connectAsync(job.url, {
    clientId: login.username,
    username: login.username,
    password: login.password,
    reconnectPeriod: 500,
    connectTimeout: 5000,
  });

const good = await Promise.all(job.good.map(connect));
port.postMessage({ type: 'connected' } satisfies LoadReport);

port.on('message', (m: string) => {
  if (m === 'evil-on' && !evilOn) {
    evilOn = true;
    void Promise.all(job.evil.map(hostile));
  }
  if (m === 'stop') {
    running = false;
    evilOn = false;
    port.postMessage({ type: 'acked', perDevice: Object.fromEntries(acked), evilAcked, evilSent } satisfies LoadReport);
    for (const c of good) c.end(true);
  }
});

// Good cars: car i publishes at i/N of every second, as unsynchronised clocks do.
const n = good.length;
const start = Date.now() + 200;
void (async () => {
  for (let second = 0; running; second++) {
    let next = 0;
    while (next < n && running) {
      const due = Math.min(n, Math.floor(((Date.now() - start - second * 1000) / 1000) * n) + 1);
      for (; next < due; next++) {
        const login = job.good[next]!;
        const seq = second;
        const t0 = Date.now();
        const device = login.deviceId;
        const batch = JSON.stringify({ v: 1, seq, t0, samples: job.signals.map(([key, value]) => [0, key, value]) });
        good[next]!.publish(`clutch/v1/${login.tenantId}/${login.deviceId}/telemetry`, batch, { qos: 1 }, (err) => {
          if (err) return;
          const list = acked.get(device);
          if (list) list.push(t0);
          else acked.set(device, [t0]);
        });
      }
      if (next < n) await new Promise((r) => setTimeout(r, 5));
    }
  }
})();

/** One hostile device: cycles through the refused payloads with at most 16 unacknowledged. */
async function hostile(login: Login): Promise<void> {
  const client = await connect(login);
  const messages = hostileMessages();
  let inFlight = 0;
  for (let i = 0; evilOn; i++) {
    if (inFlight >= 16 || !client.connected) {
      await new Promise((r) => setTimeout(r, 2));
      continue;
    }
    const [kind, payload] = messages[i % messages.length]!;
    inFlight++;
    evilSent++;
    client.publish(`clutch/v1/${login.tenantId}/${login.deviceId}/${kind}`, payload, { qos: 1 }, (err) => {
      inFlight--;
      if (!err) evilAcked++;
    });
  }
  client.end(true);
}
