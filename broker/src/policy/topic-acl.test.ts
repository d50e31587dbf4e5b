import { describe, expect, it } from 'vitest';
import type { Principal } from './principal.js';
import { clientIdAllowed } from './principal.js';
import { canPublish, canSubscribe } from './topic-acl.js';

const device: Principal = { kind: 'device', tenantId: 'acme', deviceId: 'pi-1' };
const fleet: Principal = {
  kind: 'partner',
  tenantId: 'acme',
  keyId: 'k1234567',
  scopes: ['telemetry:read', 'status:read'],
};
const admin: Principal = { kind: 'admin' };

const verdict = (d: { ok: boolean }): string => (d.ok ? 'allow' : 'deny');

describe('device publish ACL', () => {
  it.each([
    ['clutch/v1/acme/pi-1/telemetry', 'allow'],
    ['clutch/v1/acme/pi-1/status', 'allow'],
    ['clutch/v1/acme/pi-1/location', 'allow'],
    ['clutch/v1/acme/pi-1/dtc', 'allow'],
    ['clutch/v1/acme/pi-1/cmd/42/result', 'allow'],
    ['clutch/v1/acme/pi-2/telemetry', 'deny'], // another device of the same tenant
    ['clutch/v1/globex/pi-1/telemetry', 'deny'], // same device id, other tenant
    ['clutch/v1/acme/pi-1/cmd/42', 'deny'], // downlink is the platform's
    ['clutch/v1/acme/pi-1/telemetry/extra', 'deny'],
    ['$SYS/broker/uptime', 'deny'],
    ['random/topic', 'deny'],
  ])('%s -> %s', (topic, expected) => {
    expect(verdict(canPublish(device, topic))).toBe(expected);
  });

  it('explains a refusal', () => {
    expect(canPublish(device, 'clutch/v1/globex/pi-1/telemetry')).toEqual({
      ok: false,
      reason: 'a device may publish only under clutch/v1/acme/pi-1/',
    });
  });
});

describe('subscribe ACL', () => {
  it.each([
    [device, 'clutch/v1/acme/pi-1/cmd/+', 'allow'],
    [device, 'clutch/v1/acme/pi-1/cmd/abc', 'allow'],
    [device, 'clutch/v1/acme/pi-1/cmd/#', 'deny'],
    [device, 'clutch/v1/acme/pi-2/cmd/+', 'deny'],
    [device, 'clutch/v1/acme/+/telemetry', 'deny'],
    [device, '#', 'deny'],
    [fleet, 'clutch/v1/acme/+/telemetry', 'allow'],
    [fleet, 'clutch/v1/acme/pi-1/telemetry', 'allow'],
    [fleet, 'clutch/v1/acme/+/status', 'allow'],
    [fleet, 'clutch/v1/acme/+/location', 'deny'], // no location:read scope
    [fleet, 'clutch/v1/acme/#', 'deny'], // would include command topics
    [fleet, 'clutch/v1/+/+/telemetry', 'deny'], // crosses tenants
    [fleet, 'clutch/v1/globex/+/telemetry', 'deny'],
    [fleet, 'clutch/+/acme/+/telemetry', 'deny'],
    [fleet, '#', 'deny'],
    [fleet, '+/+/+/+/+', 'deny'],
    [fleet, '$SYS/#', 'deny'],
    [fleet, '$share/g/clutch/v1/acme/+/telemetry', 'deny'],
    [admin, '$SYS/#', 'allow'],
    [admin, 'clutch/v1/+/+/telemetry', 'allow'],
  ] as const)('%o subscribes %s -> %s', (principal, filter, expected) => {
    expect(verdict(canSubscribe(principal, filter))).toBe(expected);
  });
});

describe('client id namespaces', () => {
  it.each([
    [device, 'acme/pi-1', true],
    [device, 'acme/pi-1/backup', true],
    [device, 'acme/pi-2', false], // would take over another device's session
    [device, 'acme/pi-10', false],
    [fleet, 'acme/key-k1234567-dashboard', true],
    [fleet, 'acme/pi-1', false],
    [admin, 'acme/pi-1', false],
    [admin, 'admin-console', true],
  ] as const)('%o as %s -> %s', (principal, clientId, expected) => {
    expect(clientIdAllowed(principal, clientId)).toBe(expected);
  });
});
