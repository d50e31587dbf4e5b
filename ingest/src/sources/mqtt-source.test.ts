import { existsSync } from 'node:fs';
import { createConnection, createServer, type AddressInfo, type Socket } from 'node:net';
import { join } from 'node:path';
import { developmentPolicy, startBroker } from '@clutch/broker';
import { startMosquittoServer } from '@clutch/test-support';
import mqtt, { type MqttClient } from 'mqtt';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { QueuedMessage } from '../queue/work-queue.js';
import { INGEST_FILTERS, type MessageSource } from './message-source.js';
import { mqttSource } from './mqtt-source.js';

/** A running broker; `refusing` is a second one that refuses subscriptions to command results. */
interface TestBroker {
  url: string;
  refusingUrl: string;
  close(): Promise<void>;
}

const RESULT_FILTER = 'clutch/v1/+/+/cmd/+/result';

async function ours(): Promise<TestBroker> {
  const broker = await startBroker({ mqttPort: 0 });
  const open = developmentPolicy();
  const refusing = await startBroker({
    mqttPort: 0,
    policy: {
      ...open,
      authorizeSubscribe: (client, sub) =>
        sub.topic === RESULT_FILTER
          ? { ok: false, reason: 'not for this client' }
          : open.authorizeSubscribe(client, sub),
    },
  });
  return {
    url: broker.mqttUrl,
    refusingUrl: refusing.mqttUrl,
    close: async () => {
      await Promise.all([broker.close(), refusing.close()]);
    },
  };
}

/**
 * Mosquitto on free ports: one open to anonymous clients, one whose dynamic-security plugin lets
 * them subscribe to every ingest filter but command results (an acl_file never refuses a SUBSCRIBE).
 */
async function mosquitto(): Promise<TestBroker> {
  const security = {
    defaultACLAccess: { publishClientSend: true, publishClientReceive: true, subscribe: false, unsubscribe: true },
    clients: [],
    groups: [{ groupname: 'anonymous', roles: [{ rolename: 'ingest' }], clients: [] }],
    anonymousGroup: 'anonymous',
    roles: [
      {
        rolename: 'ingest',
        acls: INGEST_FILTERS.filter((f) => f !== RESULT_FILTER).map((topic) => ({
          acltype: 'subscribeLiteral',
          topic,
          allow: true,
        })),
      },
    ],
  };
  // Debian's mosquitto package ships the plugin in its multiarch library folder.
  const plugin = [`/usr/lib/${process.arch === 'arm64' ? 'aarch64' : 'x86_64'}-linux-gnu`, '/usr/lib', '/usr/local/lib']
    .map((d) => join(d, 'mosquitto_dynamic_security.so'))
    .find((f) => existsSync(f));
  if (!plugin) throw new Error('mosquitto_dynamic_security.so not found (it comes with the mosquitto package)');
  const open = await startMosquittoServer();
  const refusing = await startMosquittoServer({
    files: { 'security.json': JSON.stringify(security) },
    config: `plugin ${plugin}\nplugin_opt_config_file {dir}/security.json\n`,
  }).catch(async (err: unknown) => {
    await open.stop();
    throw err;
  });
  return {
    url: open.url,
    refusingUrl: refusing.url,
    close: async () => {
      await Promise.all([open.stop(), refusing.stop()]);
    },
  };
}

/** A TCP relay to the broker whose connections can be cut, as a network failure would. */
async function relay(url: string): Promise<{ url: string; cut(): void; close(): Promise<void> }> {
  const target = new URL(url);
  const sockets = new Set<Socket>();
  const server = createServer((inbound) => {
    const outbound = createConnection({ host: target.hostname, port: Number(target.port) });
    for (const [a, b] of [
      [inbound, outbound],
      [outbound, inbound],
    ] as const) {
      sockets.add(a);
      a.pipe(b);
      a.on('error', () => b.destroy());
      a.on('close', () => {
        sockets.delete(a);
        b.destroy();
      });
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `mqtt://127.0.0.1:${(server.address() as AddressInfo).port}`,
    cut: () => sockets.forEach((s) => s.destroy()),
    close: () => {
      sockets.forEach((s) => s.destroy());
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

/** What a durable store would hold, and a way to wait until something arrived. */
function store() {
  const stored: QueuedMessage[] = [];
  const waiters: { until: () => boolean; resolve: () => void }[] = [];
  return {
    stored,
    add(message: QueuedMessage): void {
      stored.push(message);
      for (const w of waiters.splice(0)) {
        if (w.until()) w.resolve();
        else waiters.push(w);
      }
    },
    when(until: () => boolean): Promise<void> {
      return until() ? Promise.resolve() : new Promise((resolve) => waiters.push({ until, resolve }));
    },
    payloads: (topic?: string): string[] =>
      stored.filter((m) => !topic || m.topic === topic).map((m) => m.payload.toString()),
  };
}

let counter = 0;
const uniqueId = (name: string): string => `ingest-${name}-${process.pid}-${++counter}`;

describe.each([
  { name: 'our broker', start: ours },
  { name: 'Mosquitto', start: mosquitto },
])('mqttSource against $name', ({ start }) => {
  let broker: TestBroker;
  let publisher: MqttClient;
  const sources: MessageSource[] = [];

  beforeAll(async () => {
    broker = await start();
    publisher = await mqtt.connectAsync(broker.url, { protocolVersion: 5, clientId: uniqueId('publisher') });
  });
  afterEach(async () => {
    await Promise.all(sources.splice(0).map((s) => s.stop()));
  });
  afterAll(async () => {
    await publisher?.endAsync();
    await broker?.close();
  });

  const source = (options: Parameters<typeof mqttSource>[1] & { url?: string } = {}): MessageSource => {
    const s = mqttSource(options.url ?? broker.url, options);
    sources.push(s);
    return s;
  };

  it('hands a command result its MQTT 5 correlation data', async () => {
    const got = store();
    await source({ clientId: uniqueId('correlation') }).start(async (m) => got.add(m));
    const topic = 'clutch/v1/t1/d1/cmd/c1/result';
    const before = Date.now();
    await publisher.publishAsync(topic, '{"ok":true}', {
      qos: 1,
      properties: { correlationData: Buffer.from('command-42') },
    });
    await got.when(() => got.stored.length === 1);
    const [message] = got.stored;
    expect(message!.topic).toBe(topic);
    expect(message!.payload.toString()).toBe('{"ok":true}');
    expect(message!.correlationData?.toString()).toBe('command-42');
    expect(message!.receivedAt).toBeGreaterThanOrEqual(before);
  });

  it('splits the messages between the ingest processes of one shared subscription group', async () => {
    const got = [store(), store()];
    const group = uniqueId('group');
    for (const [i, g] of got.entries())
      await source({ clientId: uniqueId(`shared-${i}`), shareGroup: group }).start(async (m) => g.add(m));
    const topic = 'clutch/v1/t1/d9/telemetry';
    const published = Array.from({ length: 40 }, (_, i) => `s${i}`);
    for (const p of published) await publisher.publishAsync(topic, p, { qos: 1 });
    const all = () => [...got[0]!.payloads(topic), ...got[1]!.payloads(topic)];
    await expect.poll(() => all().length, { timeout: 10_000 }).toBeGreaterThanOrEqual(published.length);
    // Each message reached one process of the group, and the group shared the work.
    expect(all().sort()).toEqual([...published].sort());
    expect(got.every((g) => g.payloads(topic).length > 0)).toBe(true);
  });

  it('leaves a message it could not store unacknowledged and gets it again, while others keep flowing', async () => {
    const got = store();
    const topic = 'clutch/v1/t1/d2/telemetry';
    let refusals = 0;
    const clientId = uniqueId('redeliver');
    await source({ clientId }).start(async (m) => {
      // The fifth message cannot be made durable the first time (say the database is down).
      if (m.payload.toString() === 'm5' && refusals++ === 0) throw new Error('database unavailable');
      got.add(m);
    });
    const published = Array.from({ length: 20 }, (_, i) => `m${i}`);
    await Promise.all(published.map((p) => publisher.publishAsync(topic, p, { qos: 1 })));
    await got.when(() => published.every((p) => got.payloads(topic).includes(p)));
    expect(refusals).toBe(2);
    expect(got.stored.find((m) => m.payload.toString() === 'm5')!.payload).toEqual(Buffer.from('m5'));

    // Still subscribed on the resumed connection.
    await publisher.publishAsync(topic, 'after', { qos: 1 });
    await got.when(() => got.payloads(topic).includes('after'));

    // Everything stored was acknowledged with its own packet id: a new connection of the same
    // session gets nothing resent, so the next message is the first to arrive.
    const [resumed] = sources.splice(0);
    await resumed!.stop();
    const again = store();
    await source({ clientId }).start(async (m) => again.add(m));
    await publisher.publishAsync(topic, 'marker', { qos: 1 });
    await again.when(() => again.stored.length > 0);
    expect(again.payloads()[0]).toBe('marker');
  });

  it('receives what was published while ingest was away (persistent session)', async () => {
    const clientId = uniqueId('session');
    const topic = 'clutch/v1/t1/d3/status';
    const first = source({ clientId });
    await first.start(async () => {});
    await first.stop();

    const published = Array.from({ length: 10 }, (_, i) => `s${i}`);
    for (const p of published) await publisher.publishAsync(topic, p, { qos: 1 });

    const got = store();
    await source({ clientId }).start(async (m) => got.add(m));
    await got.when(() => got.stored.length >= published.length);
    expect(got.payloads(topic)).toEqual(published);
  });

  it('resumes its session by itself when the connection is lost', async () => {
    const link = await relay(broker.url);
    try {
      const got = store();
      const topic = 'clutch/v1/t1/d6/location';
      await source({ clientId: uniqueId('lost'), url: link.url }).start(async (m) => got.add(m));
      await publisher.publishAsync(topic, 'l0', { qos: 1 });
      await got.when(() => got.stored.length === 1);
      link.cut();
      // Published while ingest's connection is down (or just coming back): kept in its session.
      const published = ['l1', 'l2', 'l3'];
      for (const p of published) await publisher.publishAsync(topic, p, { qos: 1 });
      await got.when(() => published.every((p) => got.payloads(topic).includes(p)));
      // l0's PUBACK may have been cut with the connection: then it comes again (at least once).
      expect([...new Set(got.payloads(topic))]).toEqual(['l0', ...published]);
    } finally {
      await Promise.all(sources.splice(0).map((s) => s.stop()));
      await link.close();
    }
  });

  it('has no more messages out than its Receive Maximum while they wait to be stored', async () => {
    const topic = 'clutch/v1/t1/d5/telemetry';
    const receiveMaximum = 3;
    const waiting: (() => void)[] = [];
    let stored = 0;
    let most = 0;
    const reached = store();
    await source({ clientId: uniqueId('window'), receiveMaximum }).start(
      (m) =>
        new Promise<void>((resolve) => {
          waiting.push(() => {
            stored++;
            resolve();
          });
          most = Math.max(most, waiting.length);
          reached.add(m);
        }),
    );
    await Promise.all(Array.from({ length: 10 }, (_, i) => publisher.publishAsync(topic, `w${i}`, { qos: 1 })));
    await reached.when(() => waiting.length === receiveMaximum);
    // Round trips on the broker, so anything it would still send has been written by now.
    for (let i = 0; i < 3; i++) await publisher.publishAsync('clutch/unrelated', 'x', { qos: 1 });
    expect(waiting.length).toBe(receiveMaximum);
    while (stored < 10) {
      await reached.when(() => waiting.length > 0);
      waiting.shift()!();
    }
    // Mosquitto 2.0.11 sends one more once its window refills; ingest then stops reading the connection.
    expect(most).toBeGreaterThanOrEqual(receiveMaximum);
    expect(most).toBeLessThanOrEqual(receiveMaximum + 1);
  });

  it.each([
    { protocolVersion: 5 as const, refusal: '0x87 Not authorized' },
    { protocolVersion: 4 as const, refusal: '0x80 Unspecified error' },
  ])('fails start with the reason code of a refused subscription (MQTT $protocolVersion)', async (c) => {
    const refused = source({
      clientId: uniqueId('refused'),
      url: broker.refusingUrl,
      protocolVersion: c.protocolVersion,
    });
    await expect(refused.start(async () => {})).rejects.toThrow(
      `the broker refused ingest's subscription at QoS 1: ${RESULT_FILTER} (${c.refusal})`,
    );
  });

  it('speaks MQTT 3.1.1 when asked, with the same redelivery', async () => {
    const got = store();
    const topic = 'clutch/v1/t1/d4/telemetry';
    let refusals = 0;
    await source({ clientId: uniqueId('v4'), protocolVersion: 4 }).start(async (m) => {
      if (m.payload.toString() === 'v2' && refusals++ === 0) throw new Error('database unavailable');
      got.add(m);
    });
    const published = ['v0', 'v1', 'v2', 'v3'];
    await Promise.all(published.map((p) => publisher.publishAsync(topic, p, { qos: 1 })));
    await got.when(() => published.every((p) => got.payloads(topic).includes(p)));
    expect(refusals).toBe(2);
  });
});
