import { describe, expect, it } from 'vitest';
import { connectFrame, publishFrame } from '../testing/raw-mqtt.js';
import { inspectFirstPacket } from './protocol-level.js';

describe('inspectFirstPacket', () => {
  it.each([
    ['3.1.1', connectFrame({ clientId: 'c', level: 4 }), 'pass'],
    ['3.1 (MQIsdp)', connectFrame({ clientId: 'c', level: 3, protocolName: 'MQIsdp' }), 'pass'],
    ['3.1.1 bridge (0x84)', connectFrame({ clientId: 'c', level: 0x84 }), 'pass'],
    ['MQTT 5', connectFrame({ clientId: 'c', level: 5 }), 'pass'],
    ['level 6', connectFrame({ clientId: 'c', level: 6 }), 'unsupported-protocol-level'],
    ['level 0', connectFrame({ clientId: 'c', level: 0 }), 'unsupported-protocol-level'],
    ['an unknown protocol name', connectFrame({ clientId: 'c', level: 9, protocolName: 'MQTX' }), 'pass'],
    ['a PUBLISH', publishFrame('t', 'x'), 'pass'],
  ] as const)('judges %s the same however the bytes are split', (_name, bytes, verdict) => {
    const decidedAt = [...Array(bytes.length).keys()]
      .map((n) => inspectFirstPacket(bytes.subarray(0, n + 1)))
      .findIndex((v) => v !== 'need-more');
    expect(decidedAt).toBeGreaterThanOrEqual(0);
    expect(decidedAt).toBeLessThan(14); // never buffers more than the fixed header, name and level
    for (let n = decidedAt + 1; n <= bytes.length; n++) expect(inspectFirstPacket(bytes.subarray(0, n))).toBe(verdict);
    expect(inspectFirstPacket(Buffer.alloc(0))).toBe('need-more');
  });

  it('passes a CONNECT too short to hold a level, or with a malformed length, to the parser', () => {
    expect(inspectFirstPacket(Buffer.from([0x10, 0x01, 0x00]))).toBe('pass');
    expect(inspectFirstPacket(Buffer.from([0x10, 0xff, 0xff, 0xff, 0xff]))).toBe('pass');
  });
});
