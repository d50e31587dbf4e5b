import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Database } from '@clutch/db';
import { openTestDatabase } from '@clutch/db/testing';
import { ensureTenant, provisionDevice, revokeDeviceCredential, type DeviceLogin } from '@clutch/identity';
import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { tenantPolicy } from '../policy/policy.js';
import { connectFrame, openRawTls } from '../testing/raw-mqtt.js';
import { createDevCa, type DevCaFiles } from '../tls/dev-ca.js';
import { startBroker, type RunningBroker } from './broker.js';

// MQTT over TLS with the production policy on a real PostgreSQL: devices with a certificate from
// the configured CA log in without a password; certificates of another CA never reach MQTT.
describe('TLS listener with client certificates', () => {
  const dir = mkdtempSync(join(tmpdir(), 'clutch-broker-tls-'));
  let db: Database;
  let broker: RunningBroker;
  let ours: DevCaFiles;
  let foreign: DevCaFiles;
  let passwordDevice: DeviceLogin;

  const read = (path: string): Buffer => readFileSync(path);
  const device = (files: DevCaFiles, username: string): { key: Buffer; cert: Buffer } => {
    const d = files.devices.find((x) => x.username === username)!;
    return { key: read(d.key), cert: read(d.cert) };
  };
  const connectTls = (clientId: string, extra: mqtt.IClientOptions): Promise<mqtt.MqttClient> =>
    mqtt.connectAsync(broker.mqttsUrl!, { clientId, ca: read(ours.ca.cert), reconnectPeriod: 0, ...extra }, false);

  beforeAll(async () => {
    ours = createDevCa({
      outDir: join(dir, 'ours'),
      devices: ['acme/pi-1', 'globex/pi-1', 'acme/pi-revoked', 'acme/pi-unknown'],
    });
    foreign = createDevCa({ outDir: join(dir, 'foreign'), devices: ['acme/pi-1'] });
    db = await openTestDatabase('postgres', { adminUrl: inject('pgAdminUrl'), name: 'broker_tls' });
    await ensureTenant(db, 'acme', 'Acme');
    await ensureTenant(db, 'globex', 'Globex');
    await provisionDevice(db, { tenantId: 'acme', deviceId: 'pi-1', vehicle: { name: 'A1' } });
    await provisionDevice(db, { tenantId: 'globex', deviceId: 'pi-1', vehicle: { name: 'G1' } });
    await provisionDevice(db, { tenantId: 'acme', deviceId: 'pi-revoked', vehicle: { name: 'A9' } });
    await revokeDeviceCredential(db, 'acme', 'pi-revoked');
    passwordDevice = (await provisionDevice(db, { tenantId: 'acme', deviceId: 'pi-2', vehicle: { name: 'A2' } })).login;
    broker = await startBroker({
      mqttPort: 0,
      policy: tenantPolicy({ db, adminPassword: 'admin-secret' }),
      tls: { port: 0, key: read(ours.server.key), cert: read(ours.server.cert), ca: read(ours.ca.cert) },
    });
  });
  afterAll(async () => {
    await broker?.close();
    await db?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('lets a device with a certificate from the CA publish its own telemetry without a password', async () => {
    const admin = await mqtt.connectAsync(broker.mqttUrl, {
      clientId: 'admin-watch',
      username: 'admin',
      password: 'admin-secret',
    });
    const car = await connectTls('acme/pi-1', device(ours, 'acme/pi-1'));
    try {
      await admin.subscribeAsync('clutch/v1/acme/pi-1/telemetry', { qos: 1 });
      const got = new Promise<string>((resolve) => admin.on('message', (_t, payload) => resolve(payload.toString())));
      await car.publishAsync('clutch/v1/acme/pi-1/telemetry', '{"by":"certificate"}', { qos: 1 });
      expect(await got).toBe('{"by":"certificate"}');
      // The principal is the device: revocation's live-session cut finds it.
      expect(broker.disconnectDevice('acme', 'pi-1')).toBe(1);
    } finally {
      await Promise.all([admin.endAsync(), car.endAsync(true)]);
    }
  });

  it('closes a connection presenting a certificate of another CA before any MQTT is read', async () => {
    await expect(connectTls('acme/pi-1', device(foreign, 'acme/pi-1'))).rejects.toThrow();
    // TLS 1.3: the client's side of the handshake completes before the server has judged its certificate.
    const raw = await openRawTls(broker.tlsPort!, {
      ...device(foreign, 'acme/pi-1'),
      ca: read(ours.ca.cert),
      servername: 'localhost',
    });
    raw.send(connectFrame({ clientId: 'acme/pi-1' }));
    expect((await raw.closed).length).toBe(0); // no CONNACK: the certificate was refused first
  });

  it('keeps a device with a certificate inside its own tenant and topics', async () => {
    const globex = await connectTls('globex/pi-1', device(ours, 'globex/pi-1'));
    await globex.publishAsync('clutch/v1/globex/pi-1/telemetry', '{}', { qos: 1 });
    const closed = new Promise<void>((resolve) => globex.once('close', () => resolve()));
    globex.publish('clutch/v1/acme/pi-1/telemetry', '{"spoofed":true}', { qos: 1 });
    await closed; // [MQTT-3.3.5-2] no negative PUBACK in 3.1.1: the connection ends
    await globex.endAsync(true);

    // Its certificate cannot be combined with another device's username or client id.
    await expect(connectTls('acme/pi-1', { ...device(ours, 'globex/pi-1'), username: 'acme/pi-1' })).rejects.toThrow(
      /Not authorized/,
    );
    await expect(connectTls('acme/pi-1', device(ours, 'globex/pi-1'))).rejects.toThrow(/Identifier rejected/);
  });

  it('refuses a certificate whose device credential is revoked or was never provisioned', async () => {
    await expect(connectTls('acme/pi-revoked', device(ours, 'acme/pi-revoked'))).rejects.toThrow(/Not authorized/);
    await expect(connectTls('acme/pi-unknown', device(ours, 'acme/pi-unknown'))).rejects.toThrow(/Not authorized/);
  });

  it('still accepts password logins over TLS from clients without a certificate', async () => {
    const car = await connectTls('acme/pi-2', passwordDevice);
    await car.publishAsync('clutch/v1/acme/pi-2/status', '{"v":1,"state":"online"}', { qos: 1 });
    await car.endAsync();
    await expect(connectTls('acme/pi-2', { ...passwordDevice, password: 'wrong' })).rejects.toThrow(
      /Bad username or password/,
    );
  });
});
