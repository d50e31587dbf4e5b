// Device commands over the real stack: the API's command endpoint -> the platform's broker (tenant
// policy, device logins) -> a real agent speaking MQTT 5 or 3.1.1 -> ingest -> the stored result. And
// `clutch-agent demo` logging in to that broker with a device credential from a password file.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path, { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { AedesPublishPacket, Client } from 'aedes';
import {
  createLinkedStreams,
  startAgent,
  startSimulator,
  syntheticDrive,
  type RunningAgent,
  type RunningSimulator,
} from '@clutch/gateway-agent';
import { createTestDatabase } from '@clutch/test-support';
import mqtt from 'mqtt';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { loadConfig } from './config/config.js';
import { ensureDevice } from './fleet/provision.js';
import { startPlatform, type RunningPlatform } from './platform.js';

const agentCli = fileURLToPath(new URL('../../gateway-agent/bin/clutch-agent.js', import.meta.url));

const databases: [string, () => Promise<{ env: Record<string, string>; cleanup: () => void }>][] = [
  [
    'PGlite',
    async () => {
      const dir = mkdtempSync(join(tmpdir(), 'clutch-cmd-e2e-'));
      return { env: { CLUTCH_DATA_DIR: dir }, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
    },
  ],
  [
    'PostgreSQL',
    async () => ({
      env: { DATABASE_URL: await createTestDatabase(inject('pgAdminUrl'), 'cmd_e2e') },
      cleanup: () => {},
    }),
  ],
];

interface Seen {
  topic: string;
  clientId: string | null;
  correlationData?: string;
  responseTopic?: string;
  messageExpiryInterval?: number;
}

describe.each(databases)('device commands over MQTT 5 and 3.1.1, on %s', (_name, prepare) => {
  let platform: RunningPlatform;
  let cleanup: () => void;
  let dir: string;
  const agents: RunningAgent[] = [];
  const sims: RunningSimulator[] = [];
  const vehicles: Record<string, string> = {};
  /** Every command and result publish as the broker saw it arrive (properties included). */
  const seen: Seen[] = [];
  /** Devices whose command subscription the broker granted. */
  const subscribed = new Set<string>();

  beforeAll(async () => {
    const prepared = await prepare();
    cleanup = prepared.cleanup;
    dir = mkdtempSync(join(tmpdir(), 'clutch-cmd-agents-'));
    const config = loadConfig(
      ['--vehicles', '0', '--port', '0', '--mqtt-port', '0', '--mqtt-ws-port', '0'],
      prepared.env,
      process.cwd(),
    );
    platform = await startPlatform(config, pino({ level: 'silent' }));
    platform.broker.aedes.on('subscribe', (subs, client) => {
      if (subs.some((s) => s.topic.includes('/cmd/'))) subscribed.add(client.id);
    });
    platform.broker.aedes.on('publish', (packet: AedesPublishPacket, client: Client | null) => {
      if (!packet.topic.includes('/cmd/')) return;
      const p = packet.properties;
      seen.push({
        topic: packet.topic,
        clientId: client?.id ?? null,
        ...(p?.correlationData ? { correlationData: Buffer.from(p.correlationData).toString() } : {}),
        ...(p?.responseTopic ? { responseTopic: p.responseTopic } : {}),
        ...(p?.messageExpiryInterval !== undefined ? { messageExpiryInterval: p.messageExpiryInterval } : {}),
      });
    });
    for (const version of [5, 4] as const) {
      const deviceId = `cmd-v${version}`;
      const { login, ...device } = await ensureDevice(platform.db, {
        tenantId: 'demo',
        tenantName: 'Demo fleet',
        deviceId,
        vehicle: { name: `MQTT ${version} car` },
      });
      vehicles[deviceId] = device.vehicleId;
      const [host, adapter] = createLinkedStreams();
      sims.push(await startSimulator({ stream: adapter, drive: syntheticDrive(version), rowIntervalMs: 100 }));
      agents.push(
        await startAgent({
          transport: { stream: host },
          mqttUrl: platform.broker.mqttUrl,
          mqttVersion: version,
          tenant: 'demo',
          device: deviceId,
          username: login.username,
          password: login.password,
          queueDir: join(dir, deviceId),
          logger: pino({ level: 'silent' }),
        }),
      );
    }
  }, 90_000);

  afterAll(async () => {
    for (const a of agents) await a.stop();
    for (const s of sims) await s.close();
    await platform?.stop();
    cleanup?.();
    rmSync(dir, { recursive: true, force: true });
  });

  async function command(deviceId: string): Promise<{ id: string; body: Record<string, unknown> }> {
    // The agent subscribes to its commands once connected: until then a clean session would miss one.
    await expect.poll(() => subscribed.has(`demo/${deviceId}`), { timeout: 15_000 }).toBe(true);
    const res = await fetch(`${platform.api.url}/api/vehicles/${vehicles[deviceId]}/commands`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ type: 'report_status', timeoutMs: 20_000 }),
    });
    expect(res.status).toBe(202);
    const { id } = (await res.json()) as { id: string };
    let body: Record<string, unknown> = {};
    await expect
      .poll(
        async () => {
          body = (await (await fetch(`${platform.api.url}/api/commands/${id}`)).json()) as Record<string, unknown>;
          return body['status'];
        },
        { timeout: 20_000, interval: 200 },
      )
      .toBe('succeeded');
    return { id, body };
  }

  it('an MQTT 5 agent answers on the response topic with the correlation data; the result is stored', async () => {
    const { id, body } = await command('cmd-v5');
    expect(body).toMatchObject({ deviceId: 'cmd-v5', result: { state: 'polling', queueDropped: 0 } });
    const resultTopic = `clutch/v1/demo/cmd-v5/cmd/${id}/result`;
    const sent = seen.find((s) => s.topic === `clutch/v1/demo/cmd-v5/cmd/${id}`);
    expect(sent).toMatchObject({ clientId: null, responseTopic: resultTopic, correlationData: id });
    expect(sent!.messageExpiryInterval).toBeGreaterThanOrEqual(19);
    expect(sent!.messageExpiryInterval).toBeLessThanOrEqual(20);
    expect(seen.find((s) => s.topic === resultTopic)).toMatchObject({ clientId: 'demo/cmd-v5', correlationData: id });
  });

  it('a 3.1.1 agent answers the same command on the result topic, without properties', async () => {
    const { id, body } = await command('cmd-v4');
    expect(body).toMatchObject({ deviceId: 'cmd-v4', result: { state: 'polling' } });
    const result = seen.find((s) => s.topic === `clutch/v1/demo/cmd-v4/cmd/${id}/result`);
    expect(result).toEqual({ topic: `clutch/v1/demo/cmd-v4/cmd/${id}/result`, clientId: 'demo/cmd-v4' });
  });

  it('matches an MQTT 5 answer by its correlation data, whatever result topic it came on', async () => {
    // A hand-written MQTT 5 device: it answers one command on another result topic of its own, echoing
    // the right correlation data, and a second with correlation data that names no command of its.
    const { login, ...device } = await ensureDevice(platform.db, {
      tenantId: 'demo',
      tenantName: 'Demo fleet',
      deviceId: 'cmd-raw',
      vehicle: { name: 'Raw MQTT 5 car' },
    });
    const client = await mqtt.connectAsync(platform.broker.mqttUrl, {
      clientId: login.username,
      ...login,
      protocolVersion: 5,
      reconnectPeriod: 0,
    });
    const received: { id: string; correlationData?: Buffer; responseTopic?: string }[] = [];
    client.on('message', (_topic, payload, packet) =>
      received.push({
        id: (JSON.parse(payload.toString()) as { id: string }).id,
        ...(packet.properties?.correlationData ? { correlationData: packet.properties.correlationData } : {}),
        ...(packet.properties?.responseTopic ? { responseTopic: packet.properties.responseTopic } : {}),
      }),
    );
    try {
      await client.subscribeAsync('clutch/v1/demo/cmd-raw/cmd/+', { qos: 1 });
      const post = async () => {
        const res = await fetch(`${platform.api.url}/api/vehicles/${device.vehicleId}/commands`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ type: 'read_dtcs', timeoutMs: 20_000 }),
        });
        expect(res.status).toBe(202);
        const { id } = (await res.json()) as { id: string };
        await expect.poll(() => received.find((r) => r.id === id), { timeout: 10_000 }).toBeDefined();
        return received.find((r) => r.id === id)!;
      };
      const status = async (id: string) =>
        ((await (await fetch(`${platform.api.url}/api/commands/${id}`)).json()) as { status: string }).status;

      const first = await post();
      expect(first.responseTopic).toBe(`clutch/v1/demo/cmd-raw/cmd/${first.id}/result`);
      expect(first.correlationData?.toString()).toBe(first.id);
      await client.publishAsync(
        'clutch/v1/demo/cmd-raw/cmd/reply-1/result',
        JSON.stringify({ v: 1, id: first.id, ok: true, result: { codes: [] } }),
        { qos: 1, properties: { correlationData: first.correlationData! } },
      );
      await expect.poll(() => status(first.id), { timeout: 10_000 }).toBe('succeeded');

      const second = await post();
      await client.publishAsync(
        second.responseTopic!,
        JSON.stringify({ v: 1, id: second.id, ok: true, result: { codes: [] } }),
        { qos: 1, properties: { correlationData: Buffer.from('another-command') } },
      );
      await expect
        .poll(
          async () =>
            (
              await platform.db.query<{ reason: string }>(`SELECT reason FROM dead_letters WHERE device_id = 'cmd-raw'`)
            ).rows.map((r) => r.reason),
          { timeout: 10_000 },
        )
        .toEqual([expect.stringContaining('does not match correlation data "another-command"')]);
      expect(await status(second.id)).toBe('sent');
    } finally {
      await client.endAsync();
    }
  });

  it('clutch-agent demo logs in with a device credential from a password file and its readings are stored', async () => {
    const { login, ...device } = await ensureDevice(platform.db, {
      tenantId: 'demo',
      tenantName: 'Demo fleet',
      deviceId: 'demo-cli',
      vehicle: { name: 'Demo CLI car' },
    });
    const secret = path.join(dir, 'password');
    writeFileSync(secret, `${login.password}\n`, { mode: 0o600 });
    const child: ChildProcess = spawn(
      process.execPath,
      [agentCli, 'demo', '--seed', '3', '--row-ms', '100', '--queue-dir', join(dir, 'demo-cli')],
      {
        stdio: ['ignore', 'ignore', 'pipe'],
        env: {
          ...process.env,
          CLUTCH_AGENT_MQTT_URL: platform.broker.mqttUrl,
          CLUTCH_AGENT_MQTT_VERSION: '5',
          CLUTCH_AGENT_TENANT: 'demo',
          CLUTCH_AGENT_DEVICE: 'demo-cli',
          CLUTCH_AGENT_USERNAME: login.username,
          CLUTCH_AGENT_PASSWORD_FILE: secret,
        },
      },
    );
    let stderr = '';
    child.stderr!.on('data', (c: Buffer) => (stderr += c.toString()));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    try {
      await expect
        .poll(
          async () =>
            (await platform.db.query('SELECT 1 FROM samples WHERE vehicle_id = $1 LIMIT 1', [device.vehicleId])).rows
              .length,
          { timeout: 30_000, interval: 250 },
        )
        .toBe(1);
    } finally {
      child.kill('SIGTERM');
    }
    expect(await exited, stderr).toBe(0);
  }, 60_000);
});
