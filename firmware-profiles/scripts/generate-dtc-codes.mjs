#!/usr/bin/env node
// Generates dtc/generic-codes.json from ../shared/datasets/dtc-codes-wal33d/dtc_definitions.csv (MIT).
// Only GENERIC rows (SAE J2012 codes every make shares). Rows are validated; malformed ones are
// skipped and reported on stderr, never guessed at.
// usage: node firmware-profiles/scripts/generate-dtc-codes.mjs [datasets-dir]
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const datasets = process.argv[2] ?? path.resolve(here, '../../../shared/datasets');
const source = path.join(datasets, 'dtc-codes-wal33d');
const text = readFileSync(path.join(source, 'dtc_definitions.csv'), 'utf8');

/** RFC 4180: quoted fields, doubled quotes, commas and newlines inside quotes. */
function parseCsv(input) {
  const rows = [];
  let row = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < input.length; i++) {
    const ch = input[i];
    if (quoted) {
      if (ch === '"' && input[i + 1] === '"') {
        field += '"';
        i++;
      } else if (ch === '"') quoted = false;
      else field += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === ',') {
      row.push(field);
      field = '';
    } else if (ch === '\n' || ch === '\r') {
      if (ch === '\r' && input[i + 1] === '\n') i++;
      row.push(field);
      rows.push(row);
      row = [];
      field = '';
    } else field += ch;
  }
  if (field !== '' || row.length > 0) {
    row.push(field);
    rows.push(row);
  }
  return rows;
}

const [header, ...rows] = parseCsv(text);
const expected = ['code', 'manufacturer', 'description', 'type', 'locale', 'is_generic', 'source_file'];
if (header.join(',') !== expected.join(',')) throw new Error(`unexpected header ${header.join(',')}`);
const codes = {};
const skipped = [];
rows.forEach((r, i) => {
  const line = i + 2;
  if (r.length === 1 && r[0] === '') return;
  if (r.length !== 7) return skipped.push(`line ${line}: ${r.length} fields`);
  const [code, manufacturer, rawDescription, type, , isGeneric] = r;
  if (manufacturer !== 'GENERIC' || isGeneric !== '1') return;
  const description = rawDescription
    .replace(/\s+/g, ' ')
    .trim()
    .replace(/^"+|"+$/g, '');
  if (!/^[PCBU][0-3][0-9A-F]{3}$/.test(code)) return skipped.push(`line ${line}: bad code ${JSON.stringify(code)}`);
  if (type !== code[0]) return skipped.push(`line ${line}: type ${type} does not match ${code}`);
  if (description.length === 0 || description.length > 200 || [...description].some((c) => c.charCodeAt(0) < 0x20)) {
    return skipped.push(`line ${line}: bad description for ${code}`);
  }
  if (codes[code] !== undefined && codes[code] !== description) return skipped.push(`line ${line}: duplicate ${code}`);
  codes[code] = description;
});
const sorted = Object.fromEntries(Object.entries(codes).sort(([a], [b]) => a.localeCompare(b)));
const out = {
  $license:
    'Derived from dtc-codes by Wal33D (Waleed Judah), MIT License (see NOTICE.md). GENERIC rows only, whitespace normalised.',
  codes: sorted,
};
writeFileSync(path.join(here, '../dtc/generic-codes.json'), `${JSON.stringify(out)}\n`);
console.error(`${Object.keys(sorted).length} generic codes written; ${skipped.length} rows skipped`);
for (const s of skipped) console.error(`  skipped ${s}`);
