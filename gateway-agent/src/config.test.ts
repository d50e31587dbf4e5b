import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { CONFIG_KEYS, parseConfig } from './config.js';

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
