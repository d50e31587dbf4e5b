import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { CONFIG_KEYS, configEnvName, configFromEnv, parseConfig } from './config.js';

const example = fileURLToPath(new URL('../deploy/agent.example.json', import.meta.url));
const docs = fileURLToPath(new URL('../../docs/gateway-agent.md', import.meta.url));

describe('agent config', () => {
  const base = { port: '/dev/ttyUSB0', mqttUrl: 'mqtts://b:8883', tenant: 't', device: 'd' };
  it('fills defaults and converts flag strings', () => {
    const c = parseConfig({ ...base, baud: '115200', fsync: 'false' });
    expect(c).toMatchObject({ baud: 115200, fsync: false, queueDir: '/var/lib/clutch-agent', inflightWindow: 16 });
  });
  it('refuses unknown keys, wrong types, missing keys and non-MQTT URLs', () => {
    expect(() => parseConfig({ ...base, prot: 'x' })).toThrow(/unknown key "prot"/);
    expect(() => parseConfig({ ...base, baud: 'fast' })).toThrow(/baud must be a number/);
    expect(() => parseConfig({ port: '/dev/x', mqttUrl: 'mqtt://b', tenant: 't' })).toThrow(/device is required/);
    expect(() => parseConfig({ ...base, mqttUrl: 'http://b' })).toThrow(/mqttUrl/);
  });
  it('reads CLUTCH_AGENT_<KEY> environment variables (flags win over them, they win over the file)', () => {
    expect(configEnvName('passwordFile')).toBe('CLUTCH_AGENT_PASSWORD_FILE');
    expect(configEnvName('mqttUrl')).toBe('CLUTCH_AGENT_MQTT_URL');
    const env = { CLUTCH_AGENT_MQTT_VERSION: '5', CLUTCH_AGENT_TENANT: 'from-env', CLUTCH_AGENT_PORTX: 'ignored' };
    expect(configFromEnv(env)).toEqual({ mqttVersion: '5', tenant: 'from-env' });
    const file: Record<string, unknown> = { ...base, tenant: 'from-file' };
    const c = parseConfig({ ...file, ...configFromEnv(env), tenant: 'from-flag' });
    expect(c).toMatchObject({ mqttVersion: 5, tenant: 'from-flag' });
    expect(parseConfig({ ...file, ...configFromEnv(env) }).tenant).toBe('from-env');
    expect(configFromEnv(env, ['tenant'])).toEqual({ tenant: 'from-env' });
  });
  it('refuses an MQTT version other than 4 or 5 and a negative adapter wait', () => {
    expect(parseConfig(base)).toMatchObject({ mqttVersion: 5, adapterWaitMaxMs: 30_000 });
    expect(() => parseConfig({ ...base, mqttVersion: '3' })).toThrow(/mqttVersion must be 4 or 5/);
    expect(() => parseConfig({ ...base, adapterWaitMaxMs: '-1' })).toThrow(/adapterWaitMaxMs/);
  });
  it('reads the password from the first line of passwordFile, and says which file is missing or empty', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'clutch-config-'));
    try {
      writeFileSync(path.join(dir, 'pw'), 's3cret\nignored\n');
      writeFileSync(path.join(dir, 'empty'), '\n');
      expect(parseConfig({ ...base, passwordFile: path.join(dir, 'pw') }).password).toBe('s3cret');
      expect(() => parseConfig({ ...base, passwordFile: path.join(dir, 'none') })).toThrow(
        /passwordFile .*none: ENOENT/,
      );
      expect(() => parseConfig({ ...base, passwordFile: path.join(dir, 'empty') })).toThrow(/first line is empty/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
  it('accepts the shipped example (apart from its password file)', () => {
    const raw = JSON.parse(readFileSync(example, 'utf8')) as Record<string, unknown>;
    delete raw['passwordFile'];
    expect(parseConfig(raw)).toMatchObject({
      mqttUrl: 'mqtts://broker.example.com:8883',
      caFile: '/etc/clutch-agent/ca.pem',
    });
  });
  it('documents every key in docs/gateway-agent.md', () => {
    const text = readFileSync(docs, 'utf8');
    for (const key of Object.keys(CONFIG_KEYS)) expect(text, key).toContain(`\`${key}\``);
  });
});
