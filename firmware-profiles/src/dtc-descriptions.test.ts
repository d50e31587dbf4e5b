import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseCsv } from './datasets/csv.js';
import { datasetAvailable, datasetsDir } from './datasets/locate.js';
import { dtcDescriptionsFromCsv, loadDtcDescriptions } from './dtc-descriptions.js';

const HEADER = 'code,manufacturer,description,type,locale,is_generic,source_file';

describe('DTC descriptions', () => {
  it('parses quoted CSV fields with commas, doubled quotes and newlines', () => {
    expect(parseCsv('a,b\r\n"x, y","say ""hi""\nthere"\n')).toEqual([
      ['a', 'b'],
      ['x, y', 'say "hi"\nthere'],
    ]);
  });

  it('prefers the generic description, keeps manufacturer-only ones, and skips malformed rows', () => {
    const csv = [
      HEADER,
      'P0301,AUDI,"Worn out spark plugs, ignition wires",P,en,0,audi',
      'P0301,GENERIC,"Cylinder 1 Misfire Detected",P,en,1,p_codes',
      'P1234,FORD,"Maker only",P,en,0,ford',
      'X9999,GENERIC,"bad code",P,en,1,x',
      'P0420,GENERIC,,P,en,1,p',
      'P0171,GENERIC,"bell\u0007",P,en,1,p',
      'truncated-row',
    ].join('\n');
    const d = dtcDescriptionsFromCsv(csv, new Map());
    expect(d.describe('P0301')).toBe('Cylinder 1 Misfire Detected');
    expect(d.describe('p1234')).toBe('Maker only');
    expect(d.describe('P0420')).toBeNull();
    expect(d.describe('P0171')).toBeNull();
    expect(d.size).toBe(2);
  });

  it('answers generic codes from the bundled table, before any data set row', () => {
    const d = dtcDescriptionsFromCsv(
      `${HEADER}\nP0300,GENERIC,Random Misfire,P,en,1,p\nP1604,TOYOTA,Startability Malfunction,P,en,0,t\n`,
    );
    expect(d.describe('P0300')).toBe('Random/Multiple Cylinder Misfire Detected');
    expect(d.describe('P1604')).toBe('Startability Malfunction');
  });

  it('serves the bundled generic descriptions without the data set, and adds its manufacturer codes when present', async () => {
    const absent = await loadDtcDescriptions(mkdtempSync(path.join(tmpdir(), 'no-datasets-')));
    expect(absent.describe('P0171')).toBe('System Too Lean Bank 1');
    expect(absent.describe('P1604')).toBeNull();
    const dir = mkdtempSync(path.join(tmpdir(), 'datasets-'));
    mkdirSync(path.join(dir, 'dtc-codes-wal33d'));
    writeFileSync(
      path.join(dir, 'dtc-codes-wal33d', 'dtc_definitions.csv'),
      `${HEADER}\nP1604,TOYOTA,Startability Malfunction,P,en,0,t\n`,
    );
    const present = await loadDtcDescriptions(dir);
    expect(present.describe('P1604')).toBe('Startability Malfunction');
    expect(present.size).toBe(absent.size + 1);
  });

  it.skipIf(!datasetAvailable('dtc-codes-wal33d'))(
    'reads the real data set in place: generic plus manufacturer-specific codes',
    async () => {
      const real = await loadDtcDescriptions(datasetsDir());
      const bundled = await loadDtcDescriptions('/nonexistent');
      expect(real.describe('P0301')).toBe('Cylinder 1 Misfire Detected');
      expect(real.size).toBeGreaterThan(bundled.size);
    },
  );
});
