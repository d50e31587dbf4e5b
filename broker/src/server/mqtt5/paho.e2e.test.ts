// The MQTT 5 features again, driven by Debian's python3-paho-mqtt 1.6.1 (broker/test-clients/paho_v5.py):
// a second MQTT client, written by others, against the real broker. Each scenario prints what paho saw.
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBroker, type RunningBroker } from '../broker.js';
import { DEFAULT_MQTT5_LIMITS } from './aedes-options.js';

const SCRIPT = fileURLToPath(new URL('../../../test-clients/paho_v5.py', import.meta.url));
// Debian's package installs into the system interpreter; a python3 earlier on PATH (pyenv) may lack it.
const PYTHON = existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';

describe('MQTT 5 with paho-mqtt 1.6.1', () => {
  let broker: RunningBroker;
  // The broker runs in this process, so the client must run beside it, not block it (no execFileSync).
  const paho = <T = Record<string, unknown>>(scenario: string): Promise<T> =>
    new Promise((resolve, reject) => {
      execFile(PYTHON, [SCRIPT, scenario, String(broker.mqttPort)], { timeout: 60_000 }, (err, stdout, stderr) => {
        if (err) return reject(new Error(`${scenario}: ${err.message}\n${stderr}`));
        const lines = stdout.trim().split('\n');
        resolve(JSON.parse(lines[lines.length - 1]!) as T);
      });
    });

  beforeAll(async () => {
    broker = await startBroker({ mqttPort: 0, maxPacketBytes: 4096 });
  });
  afterAll(async () => {
    await broker?.close();
  });

  it('gets an MQTT 5 CONNACK with an assigned client identifier, server keep alive and the limits', async () => {
    const seen = await paho<{ assigned: { properties: object }; modest: { properties: object } }>('connack');
    expect(seen.assigned.properties).toMatchObject({
      AssignedClientIdentifier: expect.stringMatching(/^aedes_/),
      ServerKeepAlive: DEFAULT_MQTT5_LIMITS.serverKeepAliveSeconds,
      ReceiveMaximum: DEFAULT_MQTT5_LIMITS.receiveMaximum,
      TopicAliasMaximum: DEFAULT_MQTT5_LIMITS.topicAliasMaximum,
      MaximumPacketSize: 4096 + 3,
    });
    expect(seen.modest.properties).not.toHaveProperty('ServerKeepAlive');
    expect(seen.modest.properties).not.toHaveProperty('AssignedClientIdentifier');
  });

  it('keeps a session for its expiry interval and ends it afterwards', async () => {
    expect(await paho('session_expiry')).toEqual({
      kept: { sessionPresent: true, messages: ['while away'] },
      expired: { sessionPresent: false },
    });
  });

  it('drops a queued message whose expiry ran out and counts down the other', async () => {
    const { messages } = await paho<{ messages: Array<{ payload: string; properties: Record<string, number> }> }>(
      'message_expiry',
    );
    expect(messages.map((m) => m.payload)).toEqual(['long-lived']);
    expect(messages[0]!.properties.MessageExpiryInterval).toBeLessThan(3600);
  });

  it('has its topic aliases resolved, and an alias it never set refused with DISCONNECT 0x94', async () => {
    expect(await paho('alias_in')).toEqual({
      acks: [0, 0],
      messages: [
        ['paho/alias/in/one', 'first'],
        ['paho/alias/in/one', 'second'],
      ],
      rogueDisconnect: 0x94,
    });
  });

  it('is sent topic aliases within the maximum it allows', async () => {
    expect(await paho('alias_out')).toEqual({
      wire: [
        ['paho/alias/out/a', 1, '1'],
        ['', 1, '2'],
        ['paho/alias/out/b', null, '3'],
        ['', 1, '4'],
      ],
    });
  });

  it('shares a subscription: each message goes to one member of the group', async () => {
    const seen = await paho<{ grants: number[][]; sent: string[]; received: string[][] }>('shared');
    expect(seen.grants).toEqual([[1], [1]]);
    expect(seen.received[0]!.length).toBeGreaterThan(0);
    expect(seen.received[1]!.length).toBeGreaterThan(0);
    expect([...seen.received[0]!, ...seen.received[1]!].sort()).toEqual([...seen.sent].sort());
  });

  it('gets no local, retain as published and retain handling 0, 1 and 2 honoured', async () => {
    expect(await paho('sub_options')).toEqual({
      noLocal: ['theirs'],
      rap: [true],
      noRap: [false],
      retainHandling: { '0': ['retained', 'retained'], '1': ['retained'], '2': [] },
    });
  });

  it('gets its subscription identifier back on live and retained messages', async () => {
    expect(await paho('sub_id')).toEqual({ ids: [[42], [42]] });
  });

  it('gets user properties, content type, payload format, response topic and correlation data through', async () => {
    expect(await paho('properties')).toEqual({
      properties: {
        PayloadFormatIndicator: 1,
        ContentType: 'application/json',
        ResponseTopic: 'paho/props/res/42',
        CorrelationData: [0xca, 0xfe, 0x00, 0x01],
        UserProperty: [
          ['vehicle', 'car-1'],
          ['trace', 'a'],
        ],
      },
    });
  });

  it('reads reason codes on SUBACK (0x87), PUBACK (0x87, 0x99) and DISCONNECT (0x99)', async () => {
    expect(await paho('reason_codes')).toEqual({
      suback: [0x87],
      mixed: [0x87, 1],
      puback: 0x87,
      payloadFormat: 0x99,
      fine: 0,
      stillConnected: true,
      disconnect: 0x99,
    });
  });

  it('is never sent more than its Maximum Packet Size, and is refused an oversize packet with 0x95', async () => {
    expect(await paho('packet_size')).toEqual({
      delivered: ['small'],
      smallConnected: true,
      bigDisconnect: 0x95,
      maximumPacketSize: 4096 + 3,
    });
  });

  it('has its will sent after the Will Delay Interval, and not when it is back in time', async () => {
    expect(await paho('will_delay')).toEqual({ wills: ['paho/will/late'] });
  });
});
