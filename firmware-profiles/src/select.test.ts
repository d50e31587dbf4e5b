import { describe, expect, it } from 'vitest';
import { checkDigit, decodeVin, modelYearOf, selectProfile, vehicleProfiles } from './index.js';

const NOW = new Date('2026-06-01T00:00:00Z');
const pids = (hex: readonly string[]) => hex.map((h) => parseInt(h, 16));

describe('VIN decoding (SAE J853, 49 CFR 565)', () => {
  it('validates the check digit', () => {
    expect(checkDigit('1M8GDM9AXKP042788')).toBe('X'); // the 49 CFR 565 worked example
    expect(decodeVin('1M8GDM9AXKP042788')?.checkDigitOk).toBe(true);
    expect(decodeVin('1M8GDM9A1KP042788')?.checkDigitOk).toBe(false);
    expect(decodeVin('1M8GDM9AXKP04278')).toBeUndefined(); // 16 characters
    expect(decodeVin('IM8GDM9AXKP042788')).toBeUndefined(); // I is never used
  });
  it('reads the model year cycle from positions 7 and 10', () => {
    expect(modelYearOf('1HGCM82633A004352', NOW)).toBe(2003);
    expect(modelYearOf('4T1B11HK5KU000000', NOW)).toBe(2019);
    expect(modelYearOf('JTDBT4K3XA0000000', NOW)).toBe(2010);
  });
});

describe('profile selection', () => {
  it('ships a profile for each of the twelve OBDb vehicles', () => {
    expect(vehicleProfiles()).toHaveLength(12);
  });
  it('picks the vehicle whose captured PID answers match the car (Toyota: Camry vs Corolla vs RAV4)', () => {
    const camry = vehicleProfiles().find((v) => v.name === 'Toyota-Camry')!;
    const answers = pids(camry.supportedMode01ByYear['2019']!);
    const choice = selectProfile('4T1B11HK5KU000000', answers, NOW);
    expect(choice.name).toBe('Toyota-Camry');
    expect(choice.modelYear).toBe(2019);
    expect(choice.signalset.commands.length).toBeGreaterThan(10);
  });
  it('takes a make with a single profile by its WMI alone', () => {
    expect(selectProfile('1N4AZ1CP8JC000000', [], NOW).name).toBe('Nissan-Leaf');
  });
  it('falls back to SAE J1979 for unknown makes, bad VINs and weak matches', () => {
    expect(selectProfile('WBA3A5C50DF000000', [0x0c], NOW)).toMatchObject({
      name: 'SAEJ1979',
      reason: expect.stringMatching(/WMI WBA/),
    });
    expect(selectProfile(undefined, [0x0c], NOW).name).toBe('SAEJ1979');
    expect(selectProfile('4T1B11HK5KU000000', [0x0c], NOW).name).toBe('SAEJ1979');
  });
});
