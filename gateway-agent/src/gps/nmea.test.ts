import { parseLocation } from '@clutch/contracts';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { createLinkedStreams } from '../simulator/streams.js';
import { startGpsReader } from './gps-reader.js';
import { FixBuilder, nmeaChecksum, parseNmea } from './nmea.js';

const sentence = (body: string) => `$${body}*${nmeaChecksum(body)}`;
// The classic NMEA examples (Munich), dated 2026-03-23 here, with their checksums computed.
const GGA = sentence('GPGGA,123519,4807.038,N,01131.000,E,1,08,0.9,545.4,M,46.9,M,,');
const RMC = sentence('GPRMC,123519,A,4807.038,N,01131.000,E,022.4,084.4,230326,003.1,W');
const VTG = sentence('GPVTG,054.7,T,034.4,M,005.5,N,010.2,K');

describe('NMEA 0183', () => {
  it('validates checksums', () => {
    expect(parseNmea('$GPGGA,123519,4807.038,N,01131.000,E,1,08,0.9,545.4,M,46.9,M,,*47')).toMatchObject({
      type: 'GGA',
    });
    expect(parseNmea('$GPGGA,123519,4807.038,N,01131.000,E,1,08,0.9,545.4,M,46.9,M,,*48')).toBeNull();
    expect(parseNmea('$GPGGA,123519,4807.038,N,01131.000,E,1,08,0.9,545.4,M,46.9,M,,')).toBeNull();
  });
  it('parses GGA, RMC and VTG into a location fix', () => {
    const b = new FixBuilder();
    expect(b.push(parseNmea(GGA)!)).toBeNull();
    const fix = b.push(parseNmea(RMC)!);
    expect(fix).toEqual({
      v: 1,
      t: Date.UTC(2026, 2, 23, 12, 35, 19),
      lat: 48.1173,
      lon: 11.5166667,
      altM: 545.4,
      speedKmh: 41.48,
      headingDeg: 84.4,
      hdop: 0.9,
      satellites: 8,
    });
    expect(parseNmea(VTG)).toEqual({ type: 'VTG', courseDeg: 54.7, speedKmh: 10.2 });
  });
  it('refuses a void RMC (status V) and a GGA without fix', () => {
    const b = new FixBuilder();
    expect(b.push(parseNmea(sentence('GPRMC,123519,V,4807.038,N,01131.000,E,022.4,084.4,230324,,'))!)).toBeNull();
    b.push(parseNmea(sentence('GNGGA,123520,4807.038,N,01131.000,E,0,00,99.9,,M,,M,,'))!);
    expect(b.push(parseNmea(sentence('GNRMC,123520,A,4807.038,N,01131.000,E,0.0,,230324,,'))!)).toBeNull();
  });
  it('reads fixes from a serial stream split anywhere, ignoring garbage, as valid location payloads', async () => {
    const [gpsSide, hostSide] = createLinkedStreams();
    const fixes: unknown[] = [];
    const reader = startGpsReader({
      open: async () => hostSide,
      onFix: (f) => fixes.push(f),
      logger: pino({ level: 'silent' }),
      minIntervalMs: 0,
    });
    const text =
      [
        'garbage\x00\xff',
        ...Array.from({ length: 3 }, (_, i) => [
          sentence(`GNGGA,10000${i},5130.000,N,00007.500,W,1,10,0.8,35.0,M,47.0,M,,`),
          sentence(`GNRMC,10000${i},A,5130.000,N,00007.500,W,10.0,270.0,250326,,,A`),
        ]).flat(),
        '$GNRMC,bad*00',
      ].join('\r\n') + '\r\n';
    for (let i = 0; i < text.length; i += 7) gpsSide.write(Buffer.from(text.slice(i, i + 7), 'latin1'));
    await new Promise((r) => setTimeout(r, 50));
    await reader.stop();
    expect(fixes).toHaveLength(3);
    for (const f of fixes) expect(parseLocation(JSON.stringify(f)).ok).toBe(true);
    expect(fixes[0]).toMatchObject({ lat: 51.5, lon: -0.125, speedKmh: 18.52, headingDeg: 270, satellites: 10 });
    expect(reader.refused).toBe(1);
  });
});
