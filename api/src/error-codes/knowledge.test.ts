import { describe, expect, it } from 'vitest';
import { SERVICE_CODES } from '../partners/service-catalogue.js';
import { interpretCode, SPECIFIC_CODES } from './knowledge.js';
import { boundingBox } from './repository.js';

describe('trouble-code knowledge', () => {
  it('answers a well-known code from its own entry, a misfire as urgent ignition work', () => {
    expect(interpretCode('p0302')).toMatchObject({
      code: 'P0302',
      known: true,
      matchedBy: 'code',
      system: 'powertrain',
      definedBy: 'generic',
      severity: 'high',
      services: ['ignition', 'diagnostics'],
    });
    expect(interpretCode('P0302').area).toContain('cylinder 2');
    expect(interpretCode('P0524').severity).toBe('critical');
    expect(interpretCode('P0455').severity).toBe('low');
  });

  it('falls back to the SAE J2012 family by the code characters', () => {
    const family = (code: string) => {
      const i = interpretCode(code);
      return [i.matchedBy, i.definedBy, i.area, i.services[0]];
    };
    expect(family('P0351')).toEqual(['family', 'generic', 'Ignition system or misfire', 'ignition']);
    expect(family('P0299')).toEqual(['family', 'generic', 'Fuel and air metering (injector circuit)', 'diagnostics']);
    expect(family('P0456')[0]).toBe('code');
    expect(family('P0499')).toEqual(['family', 'generic', 'Auxiliary emission controls', 'exhaust']);
    expect(family('P0868')).toEqual(['family', 'generic', 'Transmission', 'transmission']);
    expect(family('P0AA6')).toEqual(['family', 'generic', 'Hybrid propulsion', 'electrical']);
    expect(family('P2302')).toEqual(['family', 'generic', 'Ignition system or misfire', 'ignition']);
    expect(family('P1604')).toEqual(['family', 'manufacturer', 'Manufacturer-specific powertrain code', 'diagnostics']);
    expect(family('C0561')[3]).toBe('brakes');
    expect(family('B0012')[2]).toContain('restraints');
    expect(family('B1234')[1]).toBe('manufacturer');
    expect(family('U0140')[2]).toBe('Network: lost communication with a module');
  });

  it('says honestly when it knows nothing: reserved ranges and malformed input', () => {
    for (const code of ['P0D12', 'P3999', 'C3000', 'U3FFF', 'X0000', 'P040']) {
      const i = interpretCode(code);
      expect(i, code).toMatchObject({
        known: false,
        matchedBy: 'unknown',
        severity: 'unknown',
        causes: [],
        repair: null,
      });
    }
  });

  it('maps every entry onto codes of the service catalogue, with causes and a repair', () => {
    for (const code of [...SPECIFIC_CODES, 'P0001', 'P0601', 'P0901', 'C0001', 'B0201', 'U0001', 'P1000']) {
      const i = interpretCode(code);
      expect(i.services.length, code).toBeGreaterThan(0);
      for (const s of i.services) expect(SERVICE_CODES, `${code}: ${s}`).toContain(s);
      expect(i.causes.length, code).toBeGreaterThan(0);
      expect(i.repair, code).toBeTruthy();
      expect(i.source, code).toMatch(/SAE J2012/);
    }
  });
});

describe('the bounding box of a nearby search', () => {
  it('bounds latitude and longitude around an ordinary position', () => {
    const box = boundingBox({ lat: 48.1, lon: 11.5, radiusKm: 10 });
    expect(box.maxLat - 48.1).toBeCloseTo(10 / 111.195, 3);
    expect(box.minLon).not.toBeNull();
    // 1/cos(48.1°) ≈ 1.5: a degree of longitude is shorter there.
    expect((box.maxLon! - 11.5) / (box.maxLat - 48.1)).toBeCloseTo(1 / Math.cos((48.1 * Math.PI) / 180), 5);
  });

  it('drops the longitude bound across the antimeridian and near a pole', () => {
    expect(boundingBox({ lat: 0, lon: 179.95, radiusKm: 20 }).minLon).toBeNull();
    expect(boundingBox({ lat: 89.95, lon: 0, radiusKm: 20 }).minLon).toBeNull();
  });
});
