import { rowReader, type CopyRows, type CopyType } from './copy-binary.js';
import type { CopyColumns } from './types.js';

/** Escapes one value for PostgreSQL's COPY text format. */
export function copyField(value: unknown): string {
  if (value === null || value === undefined) return '\\N';
  // Numbers and timestamps never contain characters that need escaping (the hot path of ingest).
  if (typeof value === 'number') return String(value);
  if (value instanceof Date) return value.toISOString();
  const text = String(value);
  if (!/[\\\n\r\t]/.test(text)) return text;
  return text.replace(/[\\\n\r\t]/g, (c) => ({ '\\': '\\\\', '\n': '\\n', '\r': '\\r', '\t': '\\t' })[c] as string);
}

export function quoteIdent(name: string): string {
  if (!/^[a-z_][a-z0-9_]*$/.test(name)) throw new TypeError(`unsafe SQL identifier: ${name}`);
  return name;
}

export function copyStatement(table: string, columns: readonly string[], source: string): string {
  return `COPY ${quoteIdent(table)} (${columns.map(quoteIdent).join(', ')}) FROM ${source}`;
}

/** COPY text-format lines for rows, in chunks (one giant string would double peak memory). */
export function* copyTextChunks(rows: CopyRows, rowsPerChunk = 2000): Generator<string> {
  const rowAt = rowReader(rows);
  for (let i = 0; i < rows.length; i += rowsPerChunk) {
    let text = '';
    const end = Math.min(rows.length, i + rowsPerChunk);
    for (let r = i; r < end; r++) text += rowAt(r).map(copyField).join('\t') + '\n';
    yield text;
  }
}

export function columnNames(columns: CopyColumns): string[] {
  return columns.map((c) => (typeof c === 'string' ? c : c.name));
}

/** The column types when every column declares one (the binary format's precondition), else undefined. */
export function columnTypes(columns: CopyColumns): CopyType[] | undefined {
  const types = columns.map((c) => (typeof c === 'string' ? undefined : c.type));
  return types.every((t) => t !== undefined) ? (types as CopyType[]) : undefined;
}
