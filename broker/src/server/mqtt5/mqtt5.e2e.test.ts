// MQTT 5 features against the real broker with MQTT.js 5 (the same features are driven with Debian's
// paho-mqtt 1.6.1 in paho.e2e.test.ts, and with raw v5 frames where a library cannot be made to
// misbehave on purpose). Each test asserts what a client sees on the wire.
import { startRedisServer, type RedisServer } from '@clutch/test-support';
import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_LIMITS, developmentPolicy } from '../../policy/policy.js';
import { startBroker, type RunningBroker } from '../broker.js';
import { DEFAULT_MQTT5_LIMITS } from './aedes-options.js';
import { openRawV5 } from './raw-v5.js';

type Connack = mqtt.IConnackPacket;
type Seen = Array<{ topic: string; payload: string; packet: mqtt.IPublishPacket }>;

/** Messages as MQTT.js hands them over (topic already resolved from an alias). */
function collect(client: mqtt.MqttClient): Seen {
  const seen: Seen = [];
  client.on('message', (topic, payload, packet) => seen.push({ topic, payload: payload.toString(), packet }));
  return seen;
}

/** Collects messages from the start: a resumed session's queue arrives right behind the CONNACK. */
function connectV5(
  url: string,
  options: mqtt.IClientOptions = {},
): Promise<{ client: mqtt.MqttClient; connack: Connack; seen: Seen }> {
  return new Promise((resolve, reject) => {
    const client = mqtt.connect(url, { protocolVersion: 5, reconnectPeriod: 0, ...options });
    const seen = collect(client);
    client.once('connect', (connack) => resolve({ client, connack, seen }));
    client.once('error', reject);
  });
}

const untilDisconnect = (client: mqtt.MqttClient): Promise<mqtt.IDisconnectPacket> =>
  new Promise((resolve) => client.once('disconnect', resolve));

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

describe('MQTT 5 with MQTT.js', () => {
  let broker: RunningBroker;
  const clients: mqtt.MqttClient[] = [];
  const open = async (options: mqtt.IClientOptions = {}, url?: string) => {
    const opened = await connectV5(url ?? broker.mqttUrl, options);
    clients.push(opened.client);
    return opened;
  };

  beforeAll(async () => {
    broker = await startBroker({ mqttPort: 0, maxPacketBytes: 4096 });
  });
  afterAll(async () => {
    await Promise.all(clients.map((c) => c.endAsync(true)));
    await broker?.close();
  });

  it('answers CONNECT with an MQTT 5 CONNACK: assigned client identifier, server keep alive and its limits', async () => {
    const { client, connack } = await open({ clientId: '', keepalive: 0 });
    expect(connack.reasonCode).toBe(0);
    const assigned = connack.properties?.assignedClientIdentifier;
    expect(assigned).toMatch(/^aedes_/);
    expect(connack.properties).toMatchObject({
      serverKeepAlive: DEFAULT_MQTT5_LIMITS.serverKeepAliveSeconds,
      topicAliasMaximum: DEFAULT_MQTT5_LIMITS.topicAliasMaximum,
      receiveMaximum: DEFAULT_MQTT5_LIMITS.receiveMaximum,
      maximumPacketSize: 4096 + 3,
    });
    // Shared subscriptions are available: the property is absent (§3.2.2.3.14: absent means available).
    expect(connack.properties?.sharedSubscriptionAvailable).toBeUndefined();
    // The assigned id is the session's: a subscription under it works like any other.
    await client.subscribeAsync('assigned/echo');
    const seen = collect(client);
    await client.publishAsync('assigned/echo', 'x', { qos: 1 });
    await expect.poll(() => seen.length).toBe(1);

    const sensible = await open({ clientId: 'keeps-its-keepalive', keepalive: 30 });
    expect(sensible.connack.properties?.serverKeepAlive).toBeUndefined();
    const greedy = await open({ clientId: 'too-long-keepalive', keepalive: 3600 });
    expect(greedy.connack.properties?.serverKeepAlive).toBe(DEFAULT_MQTT5_LIMITS.serverKeepAliveSeconds);
  });

  it('keeps a session for its Session Expiry Interval and ends it afterwards', async () => {
    const topic = 'expiry/session';
    const kept = await open({ clientId: 'kept-session', clean: false, properties: { sessionExpiryInterval: 600 } });
    await kept.client.subscribeAsync(topic, { qos: 1 });
    const short = await open({ clientId: 'short-session', clean: false, properties: { sessionExpiryInterval: 1 } });
    await short.client.subscribeAsync(topic, { qos: 1 });
    const expired = new Promise<void>((resolve) =>
      broker.aedes.on('sessionExpired', (c) => c.id === 'short-session' && resolve()),
    );
    await Promise.all([kept.client.endAsync(), short.client.endAsync()]);

    const publisher = await open({ clientId: 'expiry-publisher' });
    await publisher.client.publishAsync(topic, 'while away', { qos: 1 });
    await expired;

    const back = await open({ clientId: 'kept-session', clean: false, properties: { sessionExpiryInterval: 600 } });
    expect(back.connack.sessionPresent).toBe(true);
    const seen = back.seen;
    await expect.poll(() => seen.map((m) => m.payload)).toEqual(['while away']);

    const gone = await open({ clientId: 'short-session', clean: false, properties: { sessionExpiryInterval: 1 } });
    expect(gone.connack.sessionPresent).toBe(false);
  });

  it('drops a queued message whose Message Expiry Interval ran out and counts down the others', async () => {
    const topic = 'expiry/message';
    const away = await open({ clientId: 'msg-expiry', clean: false, properties: { sessionExpiryInterval: 600 } });
    await away.client.subscribeAsync(topic, { qos: 1 });
    await away.client.endAsync();
    const publisher = await open({ clientId: 'msg-expiry-publisher' });
    await publisher.client.publishAsync(topic, 'short-lived', { qos: 1, properties: { messageExpiryInterval: 1 } });
    await publisher.client.publishAsync(topic, 'long-lived', { qos: 1, properties: { messageExpiryInterval: 3600 } });
    await sleep(1200); // past the first message's expiry
    const back = await open({ clientId: 'msg-expiry', clean: false, properties: { sessionExpiryInterval: 600 } });
    const seen = back.seen;
    await expect.poll(() => seen.map((m) => m.payload)).toEqual(['long-lived']);
    const remaining = seen[0]!.packet.properties?.messageExpiryInterval;
    expect(remaining).toBeGreaterThan(0);
    expect(remaining).toBeLessThan(3600);
  });

  it('resolves the topic aliases a client sends, within the advertised maximum', async () => {
    const sub = await open({ clientId: 'alias-in-sub' });
    await sub.client.subscribeAsync('alias/in/#', { qos: 1 });
    const seen = collect(sub.client);
    const pub = await open({ clientId: 'alias-in-pub' });
    await pub.client.publishAsync('alias/in/one', 'first', { qos: 1, properties: { topicAlias: 3 } });
    await pub.client.publishAsync('', 'second', { qos: 1, properties: { topicAlias: 3 } });
    await expect
      .poll(() => seen.map((m) => `${m.topic}=${m.payload}`))
      .toEqual(['alias/in/one=first', 'alias/in/one=second']);
    // An alias above the maximum is a protocol violation: DISCONNECT 0x94 (Topic Alias invalid). MQTT.js
    // will not send one, so the frame is written by hand.
    const rogue = await openRawV5(broker.mqttPort);
    await rogue.connect({ clientId: 'alias-in-rogue' });
    rogue.send({
      cmd: 'publish',
      topic: 'alias/in/x',
      payload: Buffer.from('x'),
      qos: 0,
      retain: false,
      dup: false,
      properties: { topicAlias: DEFAULT_MQTT5_LIMITS.topicAliasMaximum + 1 },
    });
    await rogue.closed;
    expect(rogue.packets.find((p) => p.cmd === 'disconnect')).toMatchObject({ reasonCode: 0x94 });
    // An alias the client never set is one too.
    const forgetful = await openRawV5(broker.mqttPort);
    await forgetful.connect({ clientId: 'alias-in-forgetful' });
    forgetful.send({
      cmd: 'publish',
      topic: '',
      payload: Buffer.from('x'),
      qos: 0,
      retain: false,
      dup: false,
      properties: { topicAlias: 5 },
    });
    await forgetful.closed;
    expect(forgetful.packets.find((p) => p.cmd === 'disconnect')).toMatchObject({ reasonCode: 0x94 });
    expect(seen).toHaveLength(2);
  });

  it('uses topic aliases towards a client that allows them, never more than it allows', async () => {
    const aliased = await open({ clientId: 'alias-out', properties: { topicAliasMaximum: 1 } });
    const plain = await open({ clientId: 'alias-out-plain' });
    const wire: Array<{ topic: string; alias: number | undefined }> = [];
    // 'packetreceive' shows the packet as it came off the wire, before MQTT.js resolves the alias.
    aliased.client.on('packetreceive', (p) => {
      if (p.cmd === 'publish') wire.push({ topic: p.topic, alias: p.properties?.topicAlias });
    });
    const plainWire: Array<number | undefined> = [];
    plain.client.on('packetreceive', (p) => {
      if (p.cmd === 'publish') plainWire.push(p.properties?.topicAlias);
    });
    const seen = collect(aliased.client);
    await aliased.client.subscribeAsync('alias/out/#', { qos: 1 });
    await plain.client.subscribeAsync('alias/out/#', { qos: 1 });
    const pub = await open({ clientId: 'alias-out-pub' });
    for (const [topic, payload] of [
      ['alias/out/a', '1'],
      ['alias/out/a', '2'],
      ['alias/out/b', '3'],
      ['alias/out/a', '4'],
    ] as const)
      await pub.client.publishAsync(topic, payload, { qos: 1 });
    await expect.poll(() => seen.length).toBe(4);
    expect(seen.map((m) => `${m.topic}=${m.payload}`)).toEqual([
      'alias/out/a=1',
      'alias/out/a=2',
      'alias/out/b=3',
      'alias/out/a=4',
    ]);
    expect(wire).toEqual([
      { topic: 'alias/out/a', alias: 1 }, // alias 1 assigned
      { topic: '', alias: 1 }, // then used alone
      { topic: 'alias/out/b', alias: undefined }, // the client allows one alias only
      { topic: '', alias: 1 },
    ]);
    await expect.poll(() => plainWire.length).toBe(4);
    expect(plainWire).toEqual([undefined, undefined, undefined, undefined]);
  });

  it('delivers each message of a shared subscription to one member of each group, and no retained ones', async () => {
    const pub = await open({ clientId: 'share-pub' });
    await pub.client.publishAsync('share/jobs', 'retained', { qos: 1, retain: true });
    const a = await open({ clientId: 'share-a' });
    const b = await open({ clientId: 'share-b' });
    const auditor = await open({ clientId: 'share-auditor' });
    const watcher = await open({ clientId: 'share-watcher' });
    const [seenA, seenB, seenAudit, seenAll] = [a, b, auditor, watcher].map((c) => collect(c.client));
    expect((await a.client.subscribeAsync('$share/workers/share/jobs', { qos: 1 }))[0]!.qos).toBe(1);
    expect((await b.client.subscribeAsync('$share/workers/share/jobs', { qos: 1 }))[0]!.qos).toBe(1);
    await auditor.client.subscribeAsync('$share/auditors/share/+', { qos: 1 });
    await watcher.client.subscribeAsync('share/jobs', { qos: 1, rh: 2 });
    const payloads = Array.from({ length: 10 }, (_, i) => `job-${i}`);
    for (const p of payloads) await pub.client.publishAsync('share/jobs', p, { qos: 1 });
    await expect.poll(() => seenAll.length).toBe(10);
    await expect.poll(() => seenA!.length + seenB!.length).toBe(10);
    await expect.poll(() => seenAudit!.length).toBe(10); // a group of one gets everything
    const [gotA, gotB] = [seenA!.map((m) => m.payload), seenB!.map((m) => m.payload)];
    expect(gotA.length).toBeGreaterThan(0);
    expect(gotB.length).toBeGreaterThan(0);
    expect([...gotA, ...gotB].sort()).toEqual([...payloads].sort()); // each exactly once, none retained
    expect(seenAudit!.map((m) => m.payload)).toEqual(payloads);

    // With one member left, it gets every message of the group.
    await a.client.unsubscribeAsync('$share/workers/share/jobs');
    await pub.client.publishAsync('share/jobs', 'after-a-left', { qos: 1 });
    await expect.poll(() => seenB!.map((m) => m.payload)).toContain('after-a-left');
    expect(seenA!.map((m) => m.payload)).not.toContain('after-a-left');

    // A malformed share is refused with 0x8F (Topic Filter invalid).
    await expect(b.client.subscribeAsync('$share/nofilter', { qos: 1 })).rejects.toMatchObject({
      packet: { granted: [0x8f] },
    });
  });

  it('delivers a shared subscription to members with persistent sessions, each message to one of them', async () => {
    const session = { clean: false, properties: { sessionExpiryInterval: 60 } };
    const a = await open({ clientId: 'share-kept-a', ...session });
    const b = await open({ clientId: 'share-kept-b', ...session });
    for (const m of [a, b]) await m.client.subscribeAsync('$share/kept/kept/+', { qos: 1 });
    const pub = await open({ clientId: 'share-kept-pub' });
    const sent = Array.from({ length: 10 }, (_, i) => `k${i}`);
    for (const payload of sent) await pub.client.publishAsync('kept/x', payload, { qos: 1 });
    const got = () => [...a.seen, ...b.seen].map((m) => m.payload);
    await expect.poll(() => got().length).toBe(sent.length);
    expect(got().sort()).toEqual([...sent].sort());
    expect(a.seen.length).toBeGreaterThan(0);
    expect(b.seen.length).toBeGreaterThan(0);
  });

  it('honours the subscription options: no local, retain as published, retain handling 0, 1 and 2', async () => {
    const me = await open({ clientId: 'opts-me' });
    const other = await open({ clientId: 'opts-other' });
    const seen = collect(me.client);
    await me.client.subscribeAsync('opts/nl', { qos: 1, nl: true });
    await me.client.publishAsync('opts/nl', 'mine', { qos: 1 });
    await other.client.publishAsync('opts/nl', 'theirs', { qos: 1 });
    await expect.poll(() => seen.map((m) => m.payload)).toEqual(['theirs']);

    // Retain as published: the live message keeps its retain flag only for rap subscriptions.
    const rap = await open({ clientId: 'opts-rap' });
    const norap = await open({ clientId: 'opts-norap' });
    const [seenRap, seenNoRap] = [collect(rap.client), collect(norap.client)];
    await rap.client.subscribeAsync('opts/rap', { qos: 1, rap: true, rh: 2 });
    await norap.client.subscribeAsync('opts/rap', { qos: 1, rap: false, rh: 2 });
    await other.client.publishAsync('opts/rap', 'kept', { qos: 1, retain: true });
    await expect.poll(() => seenRap.length + seenNoRap.length).toBe(2);
    expect(seenRap[0]!.packet.retain).toBe(true);
    expect(seenNoRap[0]!.packet.retain).toBe(false);

    // Retain handling, with a retained message on opts/rh.
    await other.client.publishAsync('opts/rh', 'retained', { qos: 1, retain: true });
    const marker = async (client: mqtt.MqttClient, seenList: Array<{ payload: string }>) => {
      await client.subscribeAsync('opts/marker', { qos: 1 });
      await other.client.publishAsync('opts/marker', 'marker', { qos: 1 });
      await expect.poll(() => seenList.map((m) => m.payload)).toContain('marker');
      return seenList.map((m) => m.payload).filter((p) => p !== 'marker');
    };
    const rh0 = await open({ clientId: 'opts-rh0' });
    const seen0 = collect(rh0.client);
    await rh0.client.subscribeAsync('opts/rh', { qos: 1, rh: 0 });
    await rh0.client.subscribeAsync('opts/rh', { qos: 1, rh: 0 }); // again: sent again
    expect(await marker(rh0.client, seen0)).toEqual(['retained', 'retained']);
    const rh1 = await open({ clientId: 'opts-rh1' });
    const seen1 = collect(rh1.client);
    await rh1.client.subscribeAsync('opts/rh', { qos: 1, rh: 1 });
    await rh1.client.subscribeAsync('opts/rh', { qos: 1, rh: 1 }); // already subscribed: not sent
    expect(await marker(rh1.client, seen1)).toEqual(['retained']);
    const rh2 = await open({ clientId: 'opts-rh2' });
    const seen2 = collect(rh2.client);
    await rh2.client.subscribeAsync('opts/rh', { qos: 1, rh: 2 });
    expect(await marker(rh2.client, seen2)).toEqual([]);
  });

  it('echoes the subscription identifier on every message it delivers, retained ones included', async () => {
    const pub = await open({ clientId: 'sid-pub' });
    await pub.client.publishAsync('sid/retained', 'r', { qos: 1, retain: true });
    const sub = await open({ clientId: 'sid-sub' });
    const seen = collect(sub.client);
    await sub.client.subscribeAsync('sid/#', { qos: 1, properties: { subscriptionIdentifier: 42 } });
    await pub.client.publishAsync('sid/live', 'l', { qos: 1 });
    await expect.poll(() => seen.length).toBe(2);
    for (const m of seen) expect([m.packet.properties?.subscriptionIdentifier].flat()).toEqual([42]);
  });

  it('passes user properties, content type, payload format, response topic and correlation data through', async () => {
    const sub = await open({ clientId: 'props-sub' });
    const seen = collect(sub.client);
    await sub.client.subscribeAsync('props/req', { qos: 1 });
    const pub = await open({ clientId: 'props-pub' });
    const properties = {
      userProperties: { vehicle: 'car-1', trace: ['a', 'b'] },
      contentType: 'application/json',
      payloadFormatIndicator: true,
      responseTopic: 'props/res/42',
      correlationData: Buffer.from([0xca, 0xfe, 0x00, 0x01]),
    };
    await pub.client.publishAsync('props/req', '{"ok":true}', { qos: 1, properties });
    await expect.poll(() => seen.length).toBe(1);
    const got = seen[0]!.packet.properties!;
    expect(got.userProperties).toEqual(properties.userProperties);
    expect(got.contentType).toBe('application/json');
    expect(got.payloadFormatIndicator).toBe(true);
    expect(got.responseTopic).toBe('props/res/42');
    expect(Buffer.from(got.correlationData!)).toEqual(properties.correlationData);
  });

  it('answers a payload that claims UTF-8 and is not: PUBACK 0x99 at QoS 1, DISCONNECT 0x99 at QoS 0', async () => {
    const sub = await open({ clientId: 'pfi-sub' });
    const seen = collect(sub.client);
    await sub.client.subscribeAsync('pfi/#', { qos: 1 });
    const pub = await open({ clientId: 'pfi-pub' });
    const bad = Buffer.from([0xc3, 0x28]); // not UTF-8
    await expect(
      pub.client.publishAsync('pfi/q1', bad, { qos: 1, properties: { payloadFormatIndicator: true } }),
    ).rejects.toMatchObject({ code: 0x99 });
    // The connection stays up for the next message, and the bad one reached nobody.
    await pub.client.publishAsync('pfi/q1', 'fine', { qos: 1, properties: { payloadFormatIndicator: true } });
    await pub.client.publishAsync('pfi/bytes', bad, { qos: 1 }); // no indicator: any bytes go
    await expect.poll(() => seen.map((m) => m.payload.length)).toEqual([4, 2]);
    const disconnected = untilDisconnect(pub.client);
    pub.client.publish('pfi/q0', bad, { qos: 0, properties: { payloadFormatIndicator: true } });
    expect((await disconnected).reasonCode).toBe(0x99);
  });

  it('refuses a packet larger than its Maximum Packet Size with DISCONNECT 0x95', async () => {
    const big = await open({ clientId: 'too-big' });
    const disconnected = untilDisconnect(big.client);
    big.client.publish('size/in', Buffer.alloc(5000), { qos: 0 });
    expect((await disconnected).reasonCode).toBe(0x95);
  });

  it("never sends a client a packet larger than the client's Maximum Packet Size", async () => {
    const small = await open({ clientId: 'small-client', properties: { maximumPacketSize: 256 } });
    const seen = collect(small.client);
    await small.client.subscribeAsync('size/out', { qos: 1 });
    const pub = await open({ clientId: 'size-pub' });
    await pub.client.publishAsync('size/out', Buffer.alloc(1000, 0x61), { qos: 1 });
    await pub.client.publishAsync('size/out', 'small', { qos: 1 });
    await expect.poll(() => seen.map((m) => m.payload)).toEqual(['small']);
    expect(small.client.connected).toBe(true);
  });

  it('sends a will after its Will Delay Interval, and not at all when the client is back in time', async () => {
    const watcher = await open({ clientId: 'will-watcher' });
    const seen = collect(watcher.client);
    await watcher.client.subscribeAsync('will/#', { qos: 1 });
    const will = (topic: string) => ({
      topic,
      payload: Buffer.from('gone'),
      qos: 1 as const,
      retain: false,
      properties: { willDelayInterval: 1 },
    });
    const late = await open({
      clientId: 'will-late',
      will: will('will/late'),
      properties: { sessionExpiryInterval: 60 },
    });
    const back = await open({
      clientId: 'will-back',
      will: will('will/back'),
      properties: { sessionExpiryInterval: 60 },
    });
    late.client.stream.destroy(); // an unclean end: the will is due
    back.client.stream.destroy();
    await open({ clientId: 'will-back', clean: false, properties: { sessionExpiryInterval: 60 } });
    await expect.poll(() => seen.map((m) => m.topic), { timeout: 5000 }).toEqual(['will/late']);
    // Will Delay Interval belongs to the CONNECT; the PUBLISH carrying the will out has none.
    expect((seen[0]!.packet.properties as Record<string, unknown> | undefined)?.willDelayInterval).toBeUndefined();
    await sleep(1200); // past will/back's delay: a will that was not cancelled would be here by now
    const marker = await open({ clientId: 'will-marker' });
    await marker.client.publishAsync('will/marker', 'm', { qos: 1 });
    await expect.poll(() => seen.map((m) => m.topic)).toEqual(['will/late', 'will/marker']);
  });

  it("holds back deliveries beyond a client's Receive Maximum until it acknowledges", async () => {
    const raw = await openRawV5(broker.mqttPort);
    await raw.connect({ clientId: 'rx-max-raw', properties: { receiveMaximum: 2 } });
    await raw.subscribe(1, 'rxmax/#', 1);
    const pub = await open({ clientId: 'rxmax-pub' });
    for (let i = 0; i < 5; i++) await pub.client.publishAsync('rxmax/q1', `m${i}`, { qos: 1 });
    await pub.client.publishAsync('rxmax/marker', 'marker', { qos: 0 });
    // QoS 0 is not counted: the marker passes the two unacknowledged QoS 1 messages.
    await raw.until((packets) => packets.some((p) => p.cmd === 'publish' && p.topic === 'rxmax/marker'));
    const q1 = () => raw.packets.filter((p): p is mqtt.IPublishPacket => p.cmd === 'publish' && p.qos === 1);
    expect(q1().map((p) => p.payload.toString())).toEqual(['m0', 'm1']);
    raw.send({ cmd: 'puback', messageId: q1()[0]!.messageId! });
    await raw.until(() => q1().length === 3);
    raw.send({ cmd: 'puback', messageId: q1()[1]!.messageId! });
    raw.send({ cmd: 'puback', messageId: q1()[2]!.messageId! });
    await raw.until(() => q1().length === 5);
    expect(q1().map((p) => p.payload.toString())).toEqual(['m0', 'm1', 'm2', 'm3', 'm4']);
    raw.destroy();
  });
});

describe('MQTT 5 disconnect reasons of our own', () => {
  it('ends the connection with DISCONNECT 0x89 (Server busy), not an error PUBACK, when a publish was not stored', async () => {
    const broker = await startBroker({
      mqttPort: 0,
      durableHandoff: { takes: () => true, handoff: () => Promise.reject(new Error('queue unavailable')) },
    });
    try {
      const { client } = await connectV5(broker.mqttUrl, { clientId: 'handoff-v5' });
      const disconnected = untilDisconnect(client);
      client.publish('stored/x', 'reading', { qos: 1 });
      // An error PUBACK would tell the client to give the reading up; a DISCONNECT makes it resend.
      expect((await disconnected).reasonCode).toBe(0x89);
      await client.endAsync(true);
    } finally {
      await broker.close();
    }
  });
});

describe('MQTT 5 over the publish rate', () => {
  it('disconnects with 0x96 (Message rate too high) a client whose held publishes would wait too long', async () => {
    const broker = await startBroker({
      mqttPort: 0,
      policy: developmentPolicy({ ...DEFAULT_LIMITS, publishRatePerSecond: 1, publishBurst: 1, maxPublishDelayMs: 1 }),
    });
    try {
      const { client } = await connectV5(broker.mqttUrl, { clientId: 'too-fast' });
      const disconnected = untilDisconnect(client);
      await client.publishAsync('rate/x', 'first', { qos: 1 }); // the burst
      client.publish('rate/x', 'second', { qos: 1 }); // would wait a second; at most 1 ms allowed
      expect((await disconnected).reasonCode).toBe(0x96);
      await client.endAsync(true);
    } finally {
      await broker.close();
    }
  });
});

describe('MQTT 5 receive maximum towards the broker', () => {
  it('disconnects with 0x93 a client that sends more unacknowledged QoS 1 PUBLISH than the broker allows', async () => {
    // A hand-off that never completes holds every PUBACK, so the client's in-flight count grows.
    const pending: Array<() => void> = [];
    const broker = await startBroker({
      mqttPort: 0,
      mqtt5: { receiveMaximum: 2 },
      durableHandoff: {
        takes: (topic) => topic.startsWith('held/'),
        handoff: () => new Promise<void>((resolve) => pending.push(resolve)),
      },
    });
    try {
      const { client, connack } = await connectV5(broker.mqttUrl, { clientId: 'rx-in-mqttjs' });
      expect(connack.properties?.receiveMaximum).toBe(2);
      await client.endAsync();
      // aedes reads no further while a PUBLISH of the last read is unanswered, so the window is
      // exceeded by packets that arrive together: three in one write.
      const raw = await openRawV5(broker.mqttPort);
      await raw.connect({ clientId: 'rx-in' });
      raw.sendTogether(
        [1, 2, 3].map((messageId) => ({
          cmd: 'publish' as const,
          topic: 'held/x',
          payload: Buffer.from(`m${messageId}`),
          qos: 1 as const,
          messageId,
          retain: false,
          dup: false,
        })),
      );
      await raw.closed;
      const disconnect = raw.packets.find((p) => p.cmd === 'disconnect');
      expect(disconnect).toMatchObject({ reasonCode: 0x93 });
      expect(raw.packets.filter((p) => p.cmd === 'puback')).toEqual([]);
    } finally {
      pending.forEach((release) => release());
      await broker.close();
    }
  });
});

describe('MQTT 5 receive maximum towards a client with a persistent session', () => {
  let redis: RedisServer | undefined;
  afterAll(async () => {
    await redis?.stop();
  });

  it.each(['memory', 'redis'] as const)(
    'delivers a backlog larger than the held queue on the same connection, in order, each message once (%s persistence)',
    async (persistence) => {
      if (persistence === 'redis') redis = await startRedisServer();
      const broker = await startBroker({
        mqttPort: 0,
        mqtt5: { heldPerClient: 3 },
        ...(persistence === 'redis' ? { redisUrl: redis!.url } : {}),
      });
      try {
        const raw = await openRawV5(broker.mqttPort);
        // Session Expiry > 0: the session (and its queued messages) is kept in the persistence.
        await raw.connect({ clientId: 'backlog-raw', properties: { receiveMaximum: 2, sessionExpiryInterval: 60 } });
        await raw.subscribe(1, 'backlog/#', 1);
        const { client: pub } = await connectV5(broker.mqttUrl, { clientId: 'backlog-pub' });
        const sent = Array.from({ length: 20 }, (_, i) => `m${i}`);
        // Published while the subscriber acknowledges nothing: 2 in flight, 3 held, 15 beyond the queue.
        for (const payload of sent) await pub.publishAsync('backlog/x', payload, { qos: 1 });
        const q1 = () => raw.packets.filter((p): p is mqtt.IPublishPacket => p.cmd === 'publish' && p.qos === 1);
        await raw.until(() => q1().length === 2);
        // More arrive while the backlog is read back: they queue behind it.
        const later = Array.from({ length: 30 }, (_, i) => `n${i}`);
        const publishing = (async () => {
          for (const payload of later) await pub.publishAsync('backlog/x', payload, { qos: 1 });
        })();
        const all = [...sent, ...later];
        let acked = 0;
        while (acked < all.length) {
          await raw.until(() => q1().length > acked);
          for (const p of q1().slice(acked)) raw.send({ cmd: 'puback', messageId: p.messageId! });
          acked = q1().length;
        }
        await publishing;
        expect(q1().map((p) => p.payload.toString())).toEqual(all);
        expect(q1().every((p) => !p.dup)).toBe(true);
        await pub.endAsync();
        raw.destroy();
      } finally {
        await broker.close();
      }
    },
  );
});
