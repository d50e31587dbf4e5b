// Plain-words descriptions of trouble codes for the platform: the bundled generic table (dtc.ts,
// always there) plus, when the dtc-codes-wal33d data set is present, its manufacturer-specific rows,
// which are too many and too make-dependent to bundle.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { datasetsDir } from './datasets/locate.js';
import { parseCsv } from './datasets/csv.js';
import { genericDtcTable } from './dtc.js';

// A description with control characters is damaged data (and would reach pages and logs as is).
// eslint-disable-next-line no-control-regex
const CONTROL_CHARACTER = /[\u0000-\u001f\u007f]/;
const hasControlCharacter = (text: string): boolean => CONTROL_CHARACTER.test(text);

export interface DtcDescriptions {
  /** The generic (SAE J2012) description, else a manufacturer's; null when the code is unknown. */
  describe(code: string): string | null;
  /** Codes with a description. */
  readonly size: number;
}

const CODE = /^[PCBU][0-3][0-9A-F]{3}$/;
/** The data set's table, read in place (never copied into the repository). */
export const DTC_DATASET_FILE = path.join('dtc-codes-wal33d', 'dtc_definitions.csv');

/**
 * Descriptions from `generic` (the bundled table by default) and the data set's CSV text
 * (`code,manufacturer,description,...` with a header). The CSV fills generic codes the table lacks and
 * adds manufacturer-specific ones; rows with a malformed code, an empty or over-long description or
 * control characters are skipped, never trusted.
 */
export function dtcDescriptionsFromCsv(
  text: string,
  generic: ReadonlyMap<string, string> = genericDtcTable().codes,
): DtcDescriptions {
  const [header, ...rows] = parseCsv(text);
  const col = (name: string): number => header?.indexOf(name) ?? -1;
  const [iCode, iMaker, iText] = [col('code'), col('manufacturer'), col('description')];
  const csvGeneric = new Map<string, string>();
  const specific = new Map<string, string>();
  if (iCode >= 0 && iText >= 0) {
    for (const row of rows) {
      const code = row[iCode]?.trim().toUpperCase() ?? '';
      const description = row[iText]?.trim() ?? '';
      if (!CODE.test(code) || description === '' || description.length > 500 || hasControlCharacter(description))
        continue;
      const target =
        (iMaker >= 0 ? row[iMaker]?.trim().toUpperCase() : 'GENERIC') === 'GENERIC' ? csvGeneric : specific;
      if (!target.has(code)) target.set(code, description);
    }
  }
  return {
    describe: (code) => {
      const c = code.toUpperCase();
      return generic.get(c) ?? csvGeneric.get(c) ?? specific.get(c) ?? null;
    },
    size: new Set([...generic.keys(), ...csvGeneric.keys(), ...specific.keys()]).size,
  };
}

/** The bundled generic table alone (the data set is absent). */
export function genericDtcDescriptions(
  generic: ReadonlyMap<string, string> = genericDtcTable().codes,
): DtcDescriptions {
  return { describe: (code) => generic.get(code.toUpperCase()) ?? null, size: generic.size };
}

/** Reads the data set in place when present; without it the bundled generic descriptions still answer. */
export async function loadDtcDescriptions(dir: string = datasetsDir()): Promise<DtcDescriptions> {
  let text: string;
  try {
    text = await readFile(path.join(dir, DTC_DATASET_FILE), 'utf8');
  } catch {
    return genericDtcDescriptions();
  }
  return dtcDescriptionsFromCsv(text);
}
