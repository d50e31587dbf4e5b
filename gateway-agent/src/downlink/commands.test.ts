// Downlink commands end to end: MQTT broker -> agent -> simulated ECU -> result topic.
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Aedes } from 'aedes';
import { connectAsync, type MqttClient } from 'mqtt';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseDtcReport, type DtcReport } from '@clutch/contracts';
import { startAgent, type RunningAgent } from '../agent/agent.js';
import type { DriveSource } from '../simulator/drive.js';
import { startSimulator, type RunningSimulator } from '../simulator/start.js';
import { createLinkedStreams } from '../simulator/streams.js';
import { parseCommand, type CommandResult } from './command-schema.js';

// A parked car with the engine idling: speed 0 lets Mode 04 through.
const parked: DriveSource = {
  name: 'parked',
  signals: ['RPM', 'VSS', 'ECT', 'VPWR'],
  length: 1,
  row: () => ({ RPM: 780, VSS: 0, ECT: 88, VPWR: 13.9 }),
};

describe('downlink commands', () => {
  let broker: Aedes;
  let server: net.Server;
  let client: MqttClient;
  let agent: RunningAgent;
  let sim: RunningSimulator;
  let dir: string;
  const results = new Map<string, CommandResult>();
  const dtcReports: DtcReport[] = [];
  const base = 'clutch/v1/acme/car-9';

  beforeAll(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'clutch-cmd-'));
    broker = await Aedes.createBroker();
    server = net.createServer(broker.handle);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const url = `mqtt://127.0.0.1:${(server.address() as net.AddressInfo).port}`;
    client = await connectAsync(url, { clientId: 'platform-test' });
    client.on('message', (topic, payload) => {
      const m = /\/cmd\/([^/]+)\/result$/.exec(topic);
      if (m) results.set(m[1]!, JSON.parse(payload.toString()) as CommandResult);
      if (topic.endsWith('/dtc')) {
        const r = parseDtcReport(payload);
        if (r.ok) dtcReports.push(r.value);
      }
    });
    await client.subscribeAsync(`${base}/#`, { qos: 1 });
    const [host, adapter] = createLinkedStreams();
    sim = await startSimulator({ stream: adapter, drive: parked, dtcs: { stored: ['P0301'], permanent: ['P0420'] } });
    agent = await startAgent({
      transport: { stream: host },
      mqttUrl: url,
      tenant: 'acme',
      device: 'car-9',
      queueDir: dir,
      logger: pino({ level: 'silent' }),
    });
  });

  afterAll(async () => {
    await agent?.stop();
    await sim?.close();
    await client?.endAsync();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await new Promise<void>((resolve) => broker.close(() => resolve()));
    rmSync(dir, { recursive: true, force: true });
  });

  // contracts' commandRequestSchema envelope, as the platform's API publishes it.
  async function send(
    id: string,
    type: string,
    params: Record<string, unknown> = {},
    expiresAt = Date.now() + 30_000,
  ): Promise<CommandResult> {
    await client.publishAsync(`${base}/cmd/${id}`, JSON.stringify({ v: 1, id, type, params, expiresAt }), { qos: 1 });
    await expect.poll(() => results.has(id), { timeout: 10_000 }).toBe(true);
    return results.get(id)!;
  }

  it('reports the DTCs present at start on the dtc topic', async () => {
    await expect.poll(() => dtcReports.length, { timeout: 10_000 }).toBeGreaterThan(0);
    expect(dtcReports[0]!.codes).toEqual([
      { code: 'P0301', kind: 'stored', ecu: '7E8' },
      { code: 'P0420', kind: 'permanent', ecu: '7E8' },
    ]);
  });

  it('reads DTCs on demand', async () => {
    const r = await send('read-1', 'read_dtcs');
    expect(r).toMatchObject({
      v: 1,
      id: 'read-1',
      ok: true,
      result: { codes: [{ code: 'P0301', description: 'Cylinder 1 Misfire Detected' }, { code: 'P0420' }] },
    });
  });

  it('refuses an unauthorised clear, clears an authorised one (permanent codes stay)', async () => {
    expect(await send('clear-0', 'clear_dtcs')).toMatchObject({ ok: false, error: { code: 'COMMAND_INVALID' } });
    await expect.poll(() => agent.stats().readsPerSecond, { timeout: 5000 }).toBeGreaterThan(0);
    const r = await send('clear-1', 'clear_dtcs', { authorisedBy: 'workshop:alice' });
    expect(r).toMatchObject({ ok: true, result: { cleared: true, remaining: [{ code: 'P0420', kind: 'permanent' }] } });
    expect(dtcReports.at(-1)!.codes).toEqual([{ code: 'P0420', kind: 'permanent', ecu: '7E8' }]);
  });

  it('changes the polling plan and reports status', async () => {
    const r = await send('plan-1', 'set_poll_plan', { periodsMs: { '0c': 100, '05': 0 } });
    expect(r.ok).toBe(true);
    const plan = agent.poller.plan();
    expect(plan.find((p) => p.pid === '0C')?.periodMs).toBe(100);
    expect(plan.find((p) => p.pid === '05')).toBeUndefined();
    const status = await send('status-1', 'report_status');
    expect(status).toMatchObject({ ok: true, result: { queueDropped: 0 } });
  });

  it('refuses an expired command and reboot without a service manager', async () => {
    expect(await send('old-1', 'read_dtcs', {}, Date.now() - 1000)).toMatchObject({
      ok: false,
      error: { code: 'COMMAND_EXPIRED' },
    });
    expect(await send('reboot-1', 'reboot')).toMatchObject({ ok: false, error: { code: 'NOT_SUPPORTED' } });
  });

  it('validates payloads strictly', () => {
    const env = (type: string, params: unknown) =>
      JSON.stringify({ v: 1, id: 'c1', type, params, expiresAt: Date.now() + 1000 });
    expect(parseCommand(env('set_poll_plan', { periodsMs: { '0C': 10 } }))).toMatchObject({
      ok: false,
      code: 'COMMAND_INVALID',
    });
    // Vehicle-specific items: a command as the plan names it, or a vehicle signal's catalogue key.
    expect(
      parseCommand(
        env('set_poll_plan', {
          periodsMs: { '221002@700': 500, '22005c@da11': 0, 'vehicle.camry_12v_v': 2000, '2116@750': 0 },
        }),
      ),
    ).toEqual({
      ok: true,
      value: {
        type: 'set_poll_plan',
        periodsMs: { '221002@700': 500, '22005C@DA11': 0, 'vehicle.camry_12v_v': 2000, '2116@750': 0 },
      },
    });
    for (const bad of ['vehicle.not_a_signal', 'engine.rpm', '2210@700', '22005C@DA11F1', '221002', '0C@7E0'])
      expect(parseCommand(env('set_poll_plan', { periodsMs: { [bad]: 1000 } })), bad).toMatchObject({
        ok: false,
        code: 'COMMAND_INVALID',
      });
    expect(parseCommand(env('read_dtcs', { x: 1 }))).toMatchObject({ ok: false });
    expect(parseCommand(env('read_dtcs', {}), 'other-id')).toMatchObject({
      ok: false,
      reason: expect.stringMatching(/does not match/),
    });
    expect(parseCommand(env('read_dtcs', {}))).toEqual({ ok: true, value: { type: 'read_dtcs' } });
    expect(parseCommand('{"v":2,"type":"read_dtcs"}')).toMatchObject({ ok: false });
    expect(parseCommand('nope')).toMatchObject({ ok: false });
  });
});

// MQTT 5 request/response (§4.10): the platform names the response topic and correlation data; the
// agent answers there and echoes them. The broker forwards the message expiry as what remains of it.
describe('downlink commands over MQTT 5', () => {
  let broker: Aedes;
  let server: net.Server;
  let platform: MqttClient;
  let agent: RunningAgent;
  let sim: RunningSimulator;
  let dir: string;
  const base = 'clutch/v1/acme/car-5';
  const answers: { topic: string; result: CommandResult; correlation?: string; contentType?: string }[] = [];

  beforeAll(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'clutch-cmd5-'));
    broker = await Aedes.createBroker();
    server = net.createServer(broker.handle);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const url = `mqtt://127.0.0.1:${(server.address() as net.AddressInfo).port}`;
    platform = await connectAsync(url, { clientId: 'platform-v5', protocolVersion: 5 });
    platform.on('message', (topic, payload, packet) => {
      if (!topic.includes('/cmd/') || !topic.endsWith('/result')) return;
      answers.push({
        topic,
        result: JSON.parse(payload.toString()) as CommandResult,
        ...(packet.properties?.correlationData ? { correlation: packet.properties.correlationData.toString() } : {}),
        ...(packet.properties?.contentType ? { contentType: packet.properties.contentType } : {}),
      });
    });
    await platform.subscribeAsync(`${base}/cmd/+/result`, { qos: 1 });
    // Commands published before the agent subscribed would be lost (clean session): wait for its SUBSCRIBE.
    const subscribed = new Promise<void>((resolve) =>
      broker.on('subscribe', (subs) => {
        if (subs.some((s) => s.topic.startsWith(`${base}/cmd/`))) resolve();
      }),
    );
    const [host, adapter] = createLinkedStreams();
    sim = await startSimulator({ stream: adapter, drive: parked, dtcs: { stored: ['P0301'] } });
    agent = await startAgent({
      transport: { stream: host },
      mqttUrl: url,
      mqttVersion: 5,
      tenant: 'acme',
      device: 'car-5',
      queueDir: dir,
      logger: pino({ level: 'silent' }),
    });
    await subscribed;
  });

  afterAll(async () => {
    await agent?.stop();
    await sim?.close();
    await platform?.endAsync();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await new Promise<void>((resolve) => broker.close(() => resolve()));
    rmSync(dir, { recursive: true, force: true });
  });

  async function request(id: string, properties: Record<string, unknown>, expiresAt = Date.now() + 30_000) {
    await expect.poll(() => agent.stats().state, { timeout: 10_000 }).toBe('polling');
    const body = JSON.stringify({ v: 1, id, type: 'read_dtcs', params: {}, expiresAt });
    await platform.publishAsync(`${base}/cmd/${id}`, body, { qos: 1, properties });
    await expect.poll(() => answers.find((a) => a.result.id === id), { timeout: 10_000 }).toBeDefined();
    return answers.find((a) => a.result.id === id)!;
  }

  it('answers on the response topic with the correlation data echoed and a JSON content type', async () => {
    const answer = await request('v5-1', {
      responseTopic: `${base}/cmd/v5-1/result`,
      correlationData: Buffer.from('v5-1'),
      messageExpiryInterval: 30,
      contentType: 'application/json',
    });
    expect(answer).toMatchObject({
      topic: `${base}/cmd/v5-1/result`,
      correlation: 'v5-1',
      contentType: 'application/json',
      result: { ok: true, result: { codes: [{ code: 'P0301' }] } },
    });
  });

  it('answers on whichever response topic of its own namespace the request names', async () => {
    const answer = await request('v5-4', {
      responseTopic: `${base}/cmd/reply-7/result`,
      correlationData: Buffer.from('v5-4'),
    });
    expect(answer).toMatchObject({ topic: `${base}/cmd/reply-7/result`, correlation: 'v5-4', result: { ok: true } });
  });

  it('answers a command without request/response properties on the conventional topic', async () => {
    const answer = await request('v5-2', {});
    expect(answer).toMatchObject({ topic: `${base}/cmd/v5-2/result`, result: { ok: true } });
    expect(answer.correlation).toBeUndefined();
  });

  it('does not answer outside its own namespace: a foreign response topic gets the conventional one', async () => {
    const answer = await request('v5-3', {
      responseTopic: 'clutch/v1/other/car-x/cmd/v5-3/result',
      correlationData: Buffer.from('v5-3'),
    });
    expect(answer).toMatchObject({ topic: `${base}/cmd/v5-3/result`, correlation: 'v5-3', result: { ok: true } });
  });

  it('refuses a command whose message expiry passed before it could run, even if its payload deadline did not', () => {
    const payload = JSON.stringify({ v: 1, id: 'c9', type: 'read_dtcs', params: {}, expiresAt: 2_000_000 });
    expect(parseCommand(payload, 'c9', 1_500_000, 1_400_000)).toMatchObject({ ok: false, code: 'COMMAND_EXPIRED' });
    expect(parseCommand(payload, 'c9', 1_500_000, 1_600_000)).toMatchObject({ ok: true });
    expect(parseCommand(payload, 'c9', 2_100_000, 2_200_000)).toMatchObject({ ok: false, code: 'COMMAND_EXPIRED' });
  });
});
