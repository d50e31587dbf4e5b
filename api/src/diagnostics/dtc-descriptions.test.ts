import { mkdtempSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { dtcDescriptionsFromCsv, lazyDtcDescriptions, parseCsv } from './dtc-descriptions.js';

describe('DTC descriptions', () => {
  it('parses quoted CSV fields with commas, doubled quotes and newlines', () => {
    expect(parseCsv('a,b\r\n"x, y","say ""hi""\nthere"\n')).toEqual([['a', 'b'], ['x, y', 'say "hi"\nthere']]);
  });

  it('prefers the generic description and skips malformed rows', () => {
    const csv = [
      'code,manufacturer,description,type,locale,is_generic,source_file',
      'P0301,AUDI,"Worn out spark plugs, ignition wires",P,en,0,audi',
      'P0301,GENERIC,"Cylinder 1 Misfire Detected",P,en,1,p_codes',
      'P1234,FORD,"Maker only",P,en,0,ford',
      'X9999,GENERIC,"bad code",P,en,1,x',
      'P0420,GENERIC,,P,en,1,p',
      'P0171,GENERIC,"bell\u0007",P,en,1,p',
      'truncated-row',
    ].join('\n');
    const d = dtcDescriptionsFromCsv(csv);
    expect(d.describe('P0301')).toBe('Cylinder 1 Misfire Detected');
    expect(d.describe('P1234')).toBe('Maker only');
    expect(d.describe('P0420')).toBeNull();
    expect(d.describe('P0171')).toBeNull();
    expect(d.size).toBe(2);
  });

  it('returns null descriptions when the data set is absent, and reads the real one in place when present', async () => {
    expect((await lazyDtcDescriptions(mkdtempSync(path.join(tmpdir(), 'no-datasets-')))()).describe('P0301')).toBeNull();
    const dir = mkdtempSync(path.join(tmpdir(), 'datasets-'));
    mkdirSync(path.join(dir, 'dtc-codes-wal33d'));
    writeFileSync(path.join(dir, 'dtc-codes-wal33d', 'dtc_definitions.csv'), 'code,manufacturer,description\nP0300,GENERIC,Random Misfire\n');
    expect((await lazyDtcDescriptions(dir)()).describe('P0300')).toBe('Random Misfire');
    const real = await lazyDtcDescriptions()();
    if (real.size > 0) expect(real.describe('P0301')).toBe('Cylinder 1 Misfire Detected');
  });
});
