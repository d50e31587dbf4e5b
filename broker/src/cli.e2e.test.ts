import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import mqtt from 'mqtt';
import { afterAll, describe, expect, it } from 'vitest';

// The built CLI (npm test runs `tsc -b` first), as an operator runs it.
const CLI = fileURLToPath(new URL('../dist/cli.js', import.meta.url));
const dataDir = mkdtempSync(join(tmpdir(), 'clutch-broker-cli-'));
const running: ChildProcess[] = [];

function serve(args: string[]): Promise<{ child: ChildProcess; mqttUrl: string; urls: string[] }> {
  const child = spawn(process.execPath, [CLI, 'serve', '--port', '0', '--ws-port', '0', ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, LOG_LEVEL: 'silent' },
  });
  running.push(child);
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /listening: (mqtt:\/\/\S+)(.*)\n/.exec(out);
      if (m) resolve({ child, mqttUrl: m[1]!, urls: `${m[1]}${m[2]}`.split(' and ') });
    });
    child.once('exit', (code) => reject(new Error(`broker exited with ${code}: ${out}`)));
  });
}

afterAll(() => {
  for (const c of running) c.kill('SIGKILL');
  rmSync(dataDir, { recursive: true, force: true });
});

describe('clutch-broker CLI', () => {
  it('runs alone with --allow-anonymous for local tools and stops cleanly on SIGTERM', async () => {
    const { child, mqttUrl } = await serve(['--allow-anonymous']);
    const client = await mqtt.connectAsync(mqttUrl, { clientId: 'local-tool' });
    await client.subscribeAsync('t', { qos: 1 });
    const got = new Promise<string>((resolve) => client.on('message', (_t, p) => resolve(p.toString())));
    await client.publishAsync('t', 'hello', { qos: 1 });
    expect(await got).toBe('hello');
    await client.endAsync();
    const exit = new Promise<number | null>((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    expect(await exit).toBe(0);
  });

  it('provisions a device whose printed credential logs in to the production-policy broker', async () => {
    const out = spawnSync(
      process.execPath,
      [
        CLI,
        'provision-device',
        '--tenant',
        'acme',
        '--device',
        'pi-9',
        '--vehicle-name',
        'Van 9',
        '--data-dir',
        dataDir,
      ],
      { encoding: 'utf8' },
    );
    expect(out.status, out.stderr).toBe(0);
    const provisioned = JSON.parse(out.stdout) as { mqtt: { username: string; password: string } };
    expect(provisioned.mqtt.username).toBe('acme/pi-9');

    const { mqttUrl } = await serve(['--data-dir', dataDir]);
    await expect(mqtt.connectAsync(mqttUrl, { clientId: 'nobody', reconnectPeriod: 0 })).rejects.toThrow(
      /Not authorized/,
    );
    const car = await mqtt.connectAsync(mqttUrl, { clientId: 'acme/pi-9', ...provisioned.mqtt, reconnectPeriod: 0 });
    await car.publishAsync('clutch/v1/acme/pi-9/status', '{"v":1,"state":"online"}', { qos: 1 });
    await car.endAsync();
  });

  it('makes a development CA whose server and device certificates serve MQTT over TLS', async () => {
    const out = join(dataDir, 'dev-ca');
    const made = spawnSync(
      process.execPath,
      [CLI, 'dev-ca', '--out', out, '--device', 'acme/pi-1', '--device', 'acme/pi-2'],
      { encoding: 'utf8' },
    );
    expect(made.status, made.stderr).toBe(0);
    const files = JSON.parse(made.stdout) as {
      ca: { cert: string };
      server: { cert: string; key: string };
      devices: Array<{ username: string; cert: string; key: string }>;
    };
    expect(files.devices.map((d) => d.username)).toEqual(['acme/pi-1', 'acme/pi-2']);

    const { urls } = await serve([
      '--allow-anonymous',
      '--tls-port',
      '0',
      '--tls-key',
      files.server.key,
      '--tls-cert',
      files.server.cert,
      '--tls-ca',
      files.ca.cert,
    ]);
    const mqttsUrl = urls.find((u) => u.startsWith('mqtts://'))!;
    expect(mqttsUrl).toMatch(/^mqtts:/);
    const device = files.devices[0]!;
    const client = await mqtt.connectAsync(mqttsUrl, {
      clientId: 'tls-tool',
      ca: readFileSync(files.ca.cert),
      key: readFileSync(device.key),
      cert: readFileSync(device.cert),
      reconnectPeriod: 0,
    });
    await client.publishAsync('clutch/v1/acme/pi-1/telemetry', '{}', { qos: 1 });
    await client.endAsync();
  });

  it('refuses unknown commands and missing flags with a usage message', () => {
    const out = spawnSync(process.execPath, [CLI, 'create-api-key', '--tenant', 'acme', '--data-dir', dataDir], {
      encoding: 'utf8',
    });
    expect(out.status).toBe(2);
    expect(out.stderr).toContain('--name is required');
  });
});
