// MQTT 5 shared subscriptions across brokers clustered on one real redis-server: members on every
// broker, MQTT.js 5 and Debian's python3-paho-mqtt as a second client, a broker killed mid-group.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { startRedisServer, type RedisServer } from '@clutch/test-support';
import { Redis } from 'ioredis';
import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBroker, type RunningBroker } from '../server/broker.js';
import { groupKeys } from './claim-scripts.js';

const PAHO_MEMBER = fileURLToPath(new URL('../../test-clients/paho_shared_member.py', import.meta.url));
// Debian's package installs into the system interpreter; a python3 earlier on PATH (pyenv) may lack it.
const PYTHON = existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';
// The built CLI (npm test runs `tsc -b` first): a broker process this test can kill.
const CLI = fileURLToPath(new URL('../../dist/cli.js', import.meta.url));

const TELEMETRY = 'clutch/v1/acme/+/telemetry';
const WORKERS = `$share/workers/${TELEMETRY}`;

interface Member {
  client: mqtt.MqttClient;
  got: string[];
}

async function member(url: string, clientId: string, share: string, protocolVersion: 4 | 5 = 5): Promise<Member> {
  const client = await mqtt.connectAsync(url, { clientId, protocolVersion, reconnectPeriod: 0 });
  const got: string[] = [];
  client.on('message', (_t, payload) => got.push(payload.toString()));
  const [grant] = await client.subscribeAsync(share, { qos: 1 });
  expect(grant!.qos).toBe(1);
  return { client, got };
}

/** A paho member on its own process; `stop()` ends it and returns what it received. */
function pahoMember(port: number, clientId: string, share: string): Promise<{ stop(): Promise<string[]> }> {
  const child = spawn(PYTHON, [PAHO_MEMBER, String(port), clientId, share], { stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return new Promise((resolve, reject) => {
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.startsWith('ready ')) {
        if (!out.startsWith('ready 1')) reject(new Error(`paho SUBACK: ${out}`));
        resolve({
          async stop() {
            child.stdin.end();
            await exited;
            const lines = out.trim().split('\n');
            return (JSON.parse(lines[lines.length - 1]!) as { payloads: string[] }).payloads;
          },
        });
      }
    });
    void exited.then(() => reject(new Error(`paho member exited: ${out}${err}`)));
  });
}

function sorted(values: string[]): string[] {
  return [...values].sort();
}

describe('MQTT 5 shared subscriptions across brokers clustered on Redis', () => {
  let redis: RedisServer;
  let a: RunningBroker;
  let b: RunningBroker;
  let admin: Redis;
  const closing: mqtt.MqttClient[] = [];
  const killing: ChildProcess[] = [];

  beforeAll(async () => {
    redis = await startRedisServer();
    a = await startBroker({ mqttPort: 0, redisUrl: redis.url });
    b = await startBroker({ mqttPort: 0, redisUrl: redis.url });
    admin = new Redis(redis.url);
  });
  afterAll(async () => {
    for (const c of killing) c.kill('SIGKILL');
    await Promise.all(closing.map((c) => c.endAsync()));
    admin?.disconnect();
    await a?.close();
    await b?.close();
    await redis?.stop();
  });

  const publisher = async (broker: RunningBroker, clientId: string): Promise<mqtt.MqttClient> => {
    const client = await mqtt.connectAsync(broker.mqttUrl, { clientId, protocolVersion: 5, reconnectPeriod: 0 });
    closing.push(client);
    return client;
  };
  /** Publishes `count` messages, alternating the two publishers and QoS 0 / QoS 1. */
  const publish = async (from: mqtt.MqttClient[], prefix: string, count: number): Promise<string[]> => {
    const sent: string[] = [];
    for (let i = 0; i < count; i++) {
      const payload = `${prefix}-${i}`;
      sent.push(payload);
      await from[i % from.length]!.publishAsync(`clutch/v1/acme/car-${i % 3}/telemetry`, payload, {
        qos: i % 2 === 0 ? 1 : 0,
      });
    }
    return sent;
  };

  it('advertises them and gives each message to exactly one member of each group, members on both brokers', async () => {
    const connack = await new Promise<mqtt.IConnackPacket>((resolve) => {
      const probe = mqtt.connect(a.mqttUrl, { clientId: 'probe', protocolVersion: 5, reconnectPeriod: 0 });
      closing.push(probe);
      probe.once('connect', resolve);
    });
    expect(connack.properties?.sharedSubscriptionAvailable).not.toBe(false);

    const w1 = await member(a.mqttUrl, 'w1-on-a', WORKERS);
    const w2 = await member(a.mqttUrl, 'w2-on-a', WORKERS);
    const w3 = await member(b.mqttUrl, 'w3-on-b', WORKERS, 4); // 3.1.1 clients may share too
    const paho = await pahoMember(b.mqttPort, 'w4-paho-on-b', WORKERS);
    const auditor = await member(b.mqttUrl, 'auditor-on-b', `$share/audit/${TELEMETRY}`);
    const plain = await member(a.mqttUrl, 'plain-on-a', TELEMETRY);
    closing.push(w1.client, w2.client, w3.client, auditor.client, plain.client);

    const sent = await publish([await publisher(a, 'car-on-a'), await publisher(b, 'car-on-b')], 'm', 80);

    // The one-member group and the plain subscriber each get every message once.
    await expect.poll(() => sorted(auditor.got), { timeout: 10_000 }).toEqual(sorted(sent));
    await expect.poll(() => sorted(plain.got), { timeout: 10_000 }).toEqual(sorted(sent));
    await expect.poll(() => w1.got.length + w2.got.length + w3.got.length, { timeout: 10_000 }).toBeGreaterThan(55);
    const byPaho = await paho.stop();
    const workers = [w1.got, w2.got, w3.got, byPaho];
    expect(sorted(workers.flat())).toEqual(sorted(sent));
    // Round robin over the cluster's four members: a quarter each.
    expect(workers.map((got) => got.length)).toEqual([20, 20, 20, 20]);
    // Members leave with their connections (paho's already has).
    await Promise.all([w1, w2, w3].map((w) => w.client.endAsync()));
    await expect.poll(() => admin.zcard(groupKeys(WORKERS).members)).toBe(0);
  });

  it('stops giving messages to a member that leaves and shares them with one that joins', async () => {
    const w1 = await member(a.mqttUrl, 'w1b-on-a', WORKERS);
    const w2 = await member(b.mqttUrl, 'w2b-on-b', WORKERS);
    const leaving = await member(b.mqttUrl, 'leaving-on-b', WORKERS);
    closing.push(w1.client, w2.client, leaving.client);
    const pub = await publisher(a, 'car-2-on-a');

    await leaving.client.unsubscribeAsync(WORKERS);
    const joining = await member(a.mqttUrl, 'joining-on-a', WORKERS);
    const gone = await member(b.mqttUrl, 'gone-on-b', WORKERS);
    await gone.client.endAsync();
    closing.push(joining.client);
    await expect.poll(() => admin.zcard(groupKeys(WORKERS).members)).toBe(3);

    const sent = await publish([pub], 'j', 30);
    await expect.poll(() => sorted([...w1.got, ...w2.got, ...joining.got]), { timeout: 10_000 }).toEqual(sorted(sent));
    expect([w1.got.length, w2.got.length, joining.got.length]).toEqual([10, 10, 10]);
    expect(leaving.got).toEqual([]);
  });

  it('keeps a persistent member in its group when it comes back on the other broker', async () => {
    const group = '$share/durable/clutch/v1/acme/+/telemetry';
    const options = { protocolVersion: 5 as const, clean: false, properties: { sessionExpiryInterval: 300 } };
    const first = await mqtt.connectAsync(a.mqttUrl, { clientId: 'durable-member', ...options });
    await first.subscribeAsync(group, { qos: 1 });
    await first.endAsync();
    expect(await admin.zcard(groupKeys(group).members)).toBe(0); // offline: not chosen

    // Its session (and the shared subscription in it) lives in Redis: broker B restores it.
    const got: string[] = [];
    const again = mqtt.connect(b.mqttUrl, { clientId: 'durable-member', ...options });
    closing.push(again);
    again.on('message', (_t, payload) => got.push(payload.toString()));
    await expect
      .poll(() => admin.zrange(groupKeys(group).members, 0, -1))
      .toEqual([expect.stringMatching(/ durable-member$/)]);
    const other = await member(a.mqttUrl, 'durable-other-on-a', group);
    closing.push(other.client);

    const sent = await publish([await publisher(a, 'car-4-on-a')], 'd', 10);
    await expect.poll(() => sorted([...got, ...other.got]), { timeout: 10_000 }).toEqual(sorted(sent));
    expect([got.length, other.got.length]).toEqual([5, 5]);
  });

  it("drops a killed broker's members once their heartbeat runs out; the live members get every message", async () => {
    const group = '$share/crashy/clutch/v1/acme/+/telemetry';
    const c = spawn(
      process.execPath,
      [CLI, 'serve', '--port', '0', '--ws-port', '0', '--redis-url', redis.url, '--allow-anonymous'],
      {
        stdio: ['ignore', 'pipe', 'ignore'],
        env: { ...process.env, LOG_LEVEL: 'silent' },
      },
    );
    killing.push(c);
    const cUrl = await new Promise<string>((resolve, reject) => {
      let out = '';
      c.stdout!.on('data', (d: Buffer) => {
        out += d.toString();
        const m = /listening: (mqtt:\/\/\S+)/.exec(out);
        if (m) resolve(m[1]!);
      });
      c.once('exit', (code) => reject(new Error(`broker exited with ${code}: ${out}`)));
    });
    const onC = await member(cUrl, 'on-c', group);
    const onA = await member(a.mqttUrl, 'crashy-on-a', group);
    const onB = await member(b.mqttUrl, 'crashy-on-b', group);
    closing.push(onA.client, onB.client);
    expect(await admin.zcard(groupKeys(group).members)).toBe(3);

    c.kill('SIGKILL'); // no goodbye: its member stays in Redis until its heartbeat expires
    onC.client.end(true);
    const live = async (): Promise<number> => {
      const [seconds, micros] = await admin.time();
      const now = Number(seconds) * 1000 + Math.floor(Number(micros) / 1000);
      return admin.zcount(groupKeys(group).members, now, '+inf');
    };
    await expect.poll(live, { timeout: 10_000, interval: 250 }).toBe(2);

    const sent = await publish([await publisher(b, 'car-3-on-b')], 'k', 20);
    await expect.poll(() => sorted([...onA.got, ...onB.got]), { timeout: 10_000 }).toEqual(sorted(sent));
    expect([onA.got.length, onB.got.length]).toEqual([10, 10]);
  });
});
