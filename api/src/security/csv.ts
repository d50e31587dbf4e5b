/**
 * CSV (RFC 4180) for spreadsheet users: CRLF between records, a field quoted when it holds a comma,
 * a quote, CR or LF, quotes doubled inside. A cell a spreadsheet would run as a formula (starting
 * with = + - @, or tab / CR, which some applications skip before looking) gets a leading `'`, so
 * an attacker-chosen actor or target in the audit log cannot execute on the reader's machine
 * (OWASP "CSV Injection").
 */

const FORMULA_START = /^[=+\-@\t\r]/;
const NEEDS_QUOTES = /[",\r\n]/;

export function csvCell(value: string | number | null): string {
  if (value === null) return '';
  let text = String(value);
  if (FORMULA_START.test(text)) text = `'${text}`;
  return NEEDS_QUOTES.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

export const csvRecord = (values: readonly (string | number | null)[]): string =>
  `${values.map(csvCell).join(',')}\r\n`;
