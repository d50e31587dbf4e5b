import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { lazyDtcDescriptions } from './dtc-descriptions.js';

// The parsing rules are tested beside the code in firmware-profiles/src/dtc-descriptions.test.ts;
// here: what the diagnostics routes get from the folder they are given.
describe('DTC descriptions for the diagnostics routes', () => {
  it('describes generic codes even when the data set is absent', async () => {
    const d = await lazyDtcDescriptions(mkdtempSync(path.join(tmpdir(), 'no-datasets-')))();
    expect(d.describe('P0301')).toBe('Cylinder 1 Misfire Detected');
    expect(d.describe('P1604')).toBeNull();
  });

  it('adds the manufacturer-specific descriptions of the data set, read once', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'datasets-'));
    mkdirSync(path.join(dir, 'dtc-codes-wal33d'));
    const file = path.join(dir, 'dtc-codes-wal33d', 'dtc_definitions.csv');
    writeFileSync(file, 'code,manufacturer,description\nP1604,TOYOTA,Startability Malfunction\n');
    const load = lazyDtcDescriptions(dir);
    expect((await load()).describe('P1604')).toBe('Startability Malfunction');
    writeFileSync(file, 'code,manufacturer,description\nP1604,TOYOTA,Changed\n');
    expect((await load()).describe('P1604')).toBe('Startability Malfunction');
  });
});
