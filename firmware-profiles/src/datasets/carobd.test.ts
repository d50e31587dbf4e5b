import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { CAROBD_COLUMNS, carObdDriveDir, listCarObdFiles, parseCarObdCsv } from './carobd.js';
import { datasetsDir } from './locate.js';

const header27 = CAROBD_COLUMNS.map((c) => `${c} ()`).join(',');
const row27 = [
  0, 800, 0, 17.6, 30, 85, -1.5, 0.8, 30, 60, 49, 16, 31, 19, 0, 100, 0, 33, 5, 400, 300, 13.9, 0, 0, 6000, 0, 200,
];

describe('parseCarObdCsv', () => {
  it('reads rows with and without the trailing comma alike, skipping blank lines', () => {
    const csv = parseCarObdCsv(`${header27},\n${row27.join(', ')},\n\n${row27.join(',')}\r\n`);
    expect(csv.columns).toEqual(CAROBD_COLUMNS);
    expect(csv.rows).toHaveLength(2);
    expect(csv.rows.map((r) => r.fields)).toEqual([27, 27]);
    expect([...csv.rows[0]!.values]).toEqual(row27);
    expect([...csv.rows[1]!.values]).toEqual(row27);
  });

  it('takes the columns from the rows when the header names more (live6.csv: 27 named, 24 carried)', () => {
    const rows = Array.from({ length: 5 }, () => row27.slice(0, 24).join(',')).join('\n');
    const csv = parseCarObdCsv(`${header27}\n${rows}\n`);
    expect(csv.columns).toEqual(CAROBD_COLUMNS.slice(0, 24));
    expect(csv.rows[0]!.values[21]).toBe(13.9); // VPWR, column 22
    expect(Number.isNaN(csv.rows[0]!.values[24])).toBe(true); // CLR_TIME is not in the file
  });

  it('keeps a cut-off last line and marks what is missing, leaving the choice to the caller', () => {
    const csv = parseCarObdCsv(`${header27}\n${row27.join(',')}\n${row27.join(',')}\n1,,abc\n`);
    const last = csv.rows.at(-1)!;
    expect(last.fields).toBe(3);
    expect(last.values[0]).toBe(1);
    expect(Number.isNaN(last.values[1])).toBe(true); // empty field
    expect(Number.isNaN(last.values[2])).toBe(true); // not a number
    expect(Number.isNaN(last.values[3])).toBe(true); // beyond the line's end
  });
});

describe('carOBD drive files', () => {
  it('lists drive files in natural order and nothing when the folder is absent', () => {
    expect(listCarObdFiles('/nonexistent/carobd')).toEqual([]);
    const files = listCarObdFiles(carObdDriveDir(datasetsDir()));
    const drives = files.filter((f) => f.startsWith('drive'));
    // drive2.csv sorts before drive10.csv (when the data set is present)
    if (drives.includes('drive10.csv'))
      expect(drives.indexOf('drive2.csv')).toBeLessThan(drives.indexOf('drive10.csv'));
    expect(files.every((f) => /^(drive|idle|live|long|ufpe)\d+\.csv$/.test(f))).toBe(true);
  });

  it('finds the CSV folder inside the data sets folder', () => {
    expect(carObdDriveDir('/data')).toBe(path.join('/data', 'carobd-toyota-etios-2014', 'obdiidata'));
  });
});
