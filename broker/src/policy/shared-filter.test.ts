import { describe, expect, it } from 'vitest';
import { policyFilter } from './shared-filter.js';

describe('policyFilter', () => {
  it.each([
    ['clutch/v1/acme/+/telemetry', 'clutch/v1/acme/+/telemetry'],
    ['$share/ingest/clutch/v1/acme/+/telemetry', 'clutch/v1/acme/+/telemetry'],
    ['$share/g/#', '#'],
    ['$share/g/$SYS/#', '$SYS/#'], // judged as $SYS/# is: admins only
    ['$SYS/#', '$SYS/#'],
    ['$share/g', null],
    ['$share//a/b', null],
    ['$share/g/', null],
    ['$share/g+/a', null],
    ['$share/#/a', null],
    ['$share/g/$share/h/a', null],
  ] as const)('judges %s by %s', (topic, filter) => {
    expect(policyFilter(topic)).toBe(filter);
  });
});
