/**
 * The CSV layer every app format shares: lines (BOM and CRLF gone), the field delimiter, and fields
 * with RFC 4180 quoting ("" inside a quoted field is one quote). Apps write one record per line, so a
 * quoted field spanning lines is not supported: its line is cut there and counted as garbage later.
 */

/** The lines of a file: the UTF-8 byte order mark dropped, CRLF / CR / LF all ending a line. */
export function textLines(text: string): string[] {
  const body = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  return body.split(/\r\n|\r|\n/);
}

export type Delimiter = ',' | ';' | '\t';

/**
 * The delimiter of a header line: the candidate occurring most often outside quotes. Car Scanner
 * writes `;`, Torque and OBD Auto Doctor `,` (or `;` / tab in locales with a decimal comma).
 */
export function detectDelimiter(header: string): Delimiter {
  const counts: Record<Delimiter, number> = { ',': 0, ';': 0, '\t': 0 };
  let quoted = false;
  for (const ch of header) {
    if (ch === '"') quoted = !quoted;
    else if (!quoted && (ch === ',' || ch === ';' || ch === '\t')) counts[ch]++;
  }
  const best = (Object.keys(counts) as Delimiter[]).sort((a, b) => counts[b] - counts[a])[0]!;
  return counts[best] > 0 ? best : ',';
}

/** The fields of one line, unquoted and trimmed; a trailing delimiter (Car Scanner ends every line with one) adds no field. */
export function splitFields(line: string, delimiter: Delimiter): string[] {
  const fields: string[] = [];
  let field = '';
  let quoted = false;
  let wasQuoted = false;
  for (let i = 0; i < line.length; i++) {
    const ch = line[i]!;
    if (quoted) {
      if (ch === '"') {
        if (line[i + 1] === '"') {
          field += '"';
          i++;
        } else quoted = false;
      } else field += ch;
    } else if (ch === '"' && field.trim() === '') {
      quoted = true;
      wasQuoted = true;
      field = '';
    } else if (ch === delimiter) {
      fields.push(wasQuoted ? field : field.trim());
      field = '';
      wasQuoted = false;
    } else field += ch;
  }
  fields.push(wasQuoted ? field : field.trim());
  if (fields.length > 1 && fields.at(-1) === '' && !wasQuoted) fields.pop();
  return fields.map((f) => f.trim());
}

/**
 * A number as apps write it: `12.5`, `12,5` (decimal comma: a single comma and no point), `1e3`,
 * a leading `+`. Null for what means "no value": empty, `-` (Torque), `NaN`, `N/A`, text.
 */
export function parseNumber(raw: string): number | null {
  let s = raw.trim();
  if (s === '' || s === '-') return null;
  if (!s.includes('.') && /^[+-]?\d*,\d+$/.test(s)) s = s.replace(',', '.');
  if (!/^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i.test(s)) return null;
  const n = Number(s);
  return Number.isFinite(n) ? n : null;
}
