import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** Plain-words descriptions of SAE J2012 trouble codes. */
export interface DtcDescriptions {
  /** The generic (SAE) description, else a manufacturer's; null when the code is unknown or no data set is present. */
  describe(code: string): string | null;
  readonly size: number;
}

const CODE = /^[PCBU][0-3][0-9A-F]{3}$/;
const FILE = path.join('dtc-codes-wal33d', 'dtc_definitions.csv');

/** The shared data sets folder: `CLUTCH_DATASETS_DIR`, else `../shared/datasets` beside the repository. */
export function defaultDatasetsDir(): string {
  return process.env.CLUTCH_DATASETS_DIR ?? fileURLToPath(new URL('../../../../shared/datasets', import.meta.url));
}

/** RFC 4180 CSV: quoted fields may hold commas, doubled quotes and newlines. */
export function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"' && field === '') quoted = true;
    else if (c === ',') {
      row.push(field);
      field = '';
    } else if (c === '\n' || c === '\r') {
      if (c === '\r' && text[i + 1] === '\n') i++;
      row.push(field);
      rows.push(row);
      row = [];
      field = '';
    } else field += c;
  }
  if (field !== '' || row.length > 0) {
    row.push(field);
    rows.push(row);
  }
  return rows;
}

/**
 * Builds the lookup from the CSV text (`code,manufacturer,description,...` with a header). Rows with a
 * malformed code, an empty or over-long description or control characters are skipped, never trusted.
 */
export function dtcDescriptionsFromCsv(text: string): DtcDescriptions {
  const [header, ...rows] = parseCsv(text);
  const col = (name: string): number => header?.indexOf(name) ?? -1;
  const [iCode, iMaker, iText] = [col('code'), col('manufacturer'), col('description')];
  const generic = new Map<string, string>();
  const specific = new Map<string, string>();
  if (iCode >= 0 && iText >= 0) {
    for (const row of rows) {
      const code = row[iCode]?.trim().toUpperCase() ?? '';
      const text = row[iText]?.trim() ?? '';
      // eslint-disable-next-line no-control-regex
      if (!CODE.test(code) || text === '' || text.length > 500 || /[\u0000-\u001f\u007f]/.test(text)) continue;
      const target = (iMaker >= 0 ? row[iMaker]?.trim().toUpperCase() : 'GENERIC') === 'GENERIC' ? generic : specific;
      if (!target.has(code)) target.set(code, text);
    }
  }
  return {
    describe: (code) => generic.get(code) ?? specific.get(code) ?? null,
    size: new Set([...generic.keys(), ...specific.keys()]).size,
  };
}

export const NO_DESCRIPTIONS: DtcDescriptions = { describe: () => null, size: 0 };

/** Reads the data set in place once, on first use; a missing file means null descriptions, not an error. */
export function lazyDtcDescriptions(datasetsDir: string = defaultDatasetsDir()): () => Promise<DtcDescriptions> {
  let loaded: Promise<DtcDescriptions> | undefined;
  return () =>
    (loaded ??= readFile(path.join(datasetsDir, FILE), 'utf8').then(dtcDescriptionsFromCsv, () => NO_DESCRIPTIONS));
}
