import { describe, expect, it } from 'vitest';
import { decodeVoltageReply, parseVoltage, plausibleBatteryVoltage } from './voltage.js';

describe('ATRV battery voltage', () => {
  it("reads the adapter's answer", () => {
    expect(parseVoltage(['12.4V'])).toBe(12.4);
    expect(parseVoltage(['14 V'])).toBe(14);
    expect(parseVoltage(['?'])).toBeUndefined();
  });

  it('becomes a battery.voltage reading inside the catalogue range (0..30 V)', () => {
    expect(decodeVoltageReply(['13.9V'])).toEqual({
      readings: [{ key: 'battery.voltage', value: 13.9 }],
      pidReads: 1,
      rejected: 0,
    });
    expect(plausibleBatteryVoltage(['13.9V'])).toBe(13.9);
  });

  it('drops "ATRV -> 99.9V" like any implausible value, and counts it', () => {
    expect(decodeVoltageReply(['99.9V'])).toEqual({ readings: [], pidReads: 0, rejected: 1 });
    expect(plausibleBatteryVoltage(['99.9V'])).toBeUndefined();
  });
});
