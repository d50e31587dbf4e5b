// PostgreSQL's binary COPY format (https://www.postgresql.org/docs/current/sql-copy.html#id-1.9.3.55.9.4):
// about half the server's work of the text format for time-series rows, because timestamps, uuids and
// floats arrive in their stored form instead of being parsed from text.

/** Column types the binary encoder writes; anything else goes through the text format. */
export type CopyType = 'timestamptz' | 'text' | 'uuid' | 'int2' | 'int4' | 'int8' | 'float8' | 'bool';

export interface CopyColumn {
  name: string;
  type: CopyType;
}

/**
 * Rows read one at a time into one reused array, for callers whose rows are objects: building an
 * array per row first made a million short-lived arrays per million rows, alive all through the
 * encoding, so the young-generation collector copied and promoted them.
 */
export interface CopyRowSource {
  readonly length: number;
  /** Writes row `i`'s values (one per column, in order) into `into` and returns it. */
  read(i: number, into: unknown[]): readonly unknown[];
}

/** What COPY takes: arrays of values, or a source that reads them from the caller's own rows. */
export type CopyRows = readonly (readonly unknown[])[] | CopyRowSource;

/** Row `i` of `rows`; a source writes it into `scratch`. */
export function rowReader(rows: CopyRows): (i: number) => readonly unknown[] {
  if (!('read' in rows)) return (i) => rows[i]!;
  const scratch: unknown[] = [];
  return (i) => rows.read(i, scratch);
}

const SIGNATURE = Buffer.from('PGCOPY\n\xff\r\n\0', 'latin1');
const PG_EPOCH_MS = Date.UTC(2000, 0, 1);
const UUID = /^[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}$/i;
const FIXED_SIZE: Record<Exclude<CopyType, 'text'>, number> = {
  timestamptz: 8,
  uuid: 16,
  int2: 2,
  int4: 4,
  int8: 8,
  float8: 8,
  bool: 1,
};

/**
 * A value the encoder cannot represent. It carries the SQLSTATE PostgreSQL itself would raise for the
 * same value in the text format (invalid_text_representation / numeric_value_out_of_range), so
 * callers treat it as bad data, exactly as if the server had refused it.
 */
export class CopyValueError extends Error {
  constructor(
    message: string,
    readonly code: '22P02' | '22003' | '22007',
  ) {
    super(message);
    this.name = 'CopyValueError';
  }
}

function epochMs(value: unknown): number {
  const ms =
    value instanceof Date
      ? value.getTime()
      : typeof value === 'number'
        ? value
        : typeof value === 'string'
          ? Date.parse(value)
          : Number.NaN;
  if (!Number.isFinite(ms))
    throw new CopyValueError(`invalid input syntax for type timestamp with time zone: "${String(value)}"`, '22007');
  return ms;
}

function integer(value: unknown, bits: 16 | 32 | 64): number | bigint {
  // The common case first (a signal id per sample row): a small JS integer needs no parsing.
  if (bits !== 64 && typeof value === 'number' && Number.isInteger(value)) {
    const limit = 2 ** (bits - 1);
    if (value >= -limit && value < limit) return value;
  }
  const n =
    typeof value === 'bigint'
      ? value
      : typeof value === 'string' && /^-?\d+$/.test(value.trim())
        ? BigInt(value.trim())
        : value;
  if (typeof n === 'bigint') {
    const limit = 1n << BigInt(bits - 1);
    if (n < -limit || n >= limit)
      throw new CopyValueError(`value "${n}" is out of range for a ${bits}-bit integer`, '22003');
    return bits === 64 ? n : Number(n);
  }
  if (typeof n !== 'number' || !Number.isInteger(n))
    throw new CopyValueError(`invalid input syntax for type integer: "${String(value)}"`, '22P02');
  const limit = 2 ** (bits - 1);
  if (n < -limit || n >= limit)
    throw new CopyValueError(`value "${n}" is out of range for a ${bits}-bit integer`, '22003');
  return bits === 64 ? BigInt(n) : n;
}

/** The value of one hexadecimal digit's character code (the caller checked it is one). */
function hexValue(code: number): number {
  return code <= 57 ? code - 48 : (code | 32) - 87; // '0'-'9', then 'a'-'f' / 'A'-'F'
}

/** Writes a uuid checked by UUID (dashes optional) as its 16 bytes at `at`, allocating nothing. */
function writeUuid(out: Buffer, at: number, uuid: string): void {
  let o = at;
  for (let i = 0; i < uuid.length;) {
    const high = uuid.charCodeAt(i);
    if (high === 45) {
      i++; // '-'
      continue;
    }
    out[o++] = (hexValue(high) << 4) | hexValue(uuid.charCodeAt(i + 1));
    i += 2;
  }
}

/**
 * Encodes rows in chunks of whole rows; the first chunk starts with the file header and the last ends
 * with the trailer. Values are JavaScript values (Date, number or ISO string for timestamptz), never
 * pre-formatted text; null and undefined become SQL NULL.
 */
export function* copyBinaryChunks(rows: CopyRows, types: readonly CopyType[], rowsPerChunk = 2000): Generator<Buffer> {
  const rowAt = rowReader(rows);
  const header = Buffer.alloc(SIGNATURE.length + 8);
  SIGNATURE.copy(header, 0); // then flags and header-extension length, both 0
  let first = true;
  // Consecutive rows usually repeat a text or uuid (one vehicle's samples): encode or check it once.
  const lastInput: unknown[] = new Array(types.length).fill(undefined);
  const lastBytes: (Buffer | undefined)[] = new Array(types.length).fill(undefined);
  const bytesOf = (col: number, value: unknown): Buffer => {
    if (lastInput[col] === value && lastBytes[col]) return lastBytes[col];
    const text = String(value);
    if (text.includes('\0')) throw new CopyValueError('invalid byte sequence for encoding "UTF8": 0x00', '22P02');
    const bytes = Buffer.from(text, 'utf8');
    lastInput[col] = value;
    lastBytes[col] = bytes;
    return bytes;
  };

  for (let start = 0; start < rows.length || first; start += rowsPerChunk) {
    const end = Math.min(rows.length, start + rowsPerChunk);
    let size = first ? header.length : 0;
    for (let r = start; r < end; r++) {
      const row = rowAt(r);
      size += 2;
      for (let c = 0; c < types.length; c++) {
        const v = row[c];
        const t = types[c]!;
        size += 4;
        if (v === null || v === undefined) continue;
        size += t === 'text' ? bytesOf(c, v).length : FIXED_SIZE[t];
      }
    }
    if (end === rows.length) size += 2;
    const out = Buffer.allocUnsafe(size);
    // DataView's setters compile to plain stores; Buffer's writeXxxBE check their arguments in
    // JavaScript on every call, which was most of the encoder's time (five values per sample row).
    const view = new DataView(out.buffer, out.byteOffset, out.byteLength);
    let o = 0;
    if (first) o += header.copy(out, 0);
    for (let r = start; r < end; r++) {
      const row = rowAt(r);
      view.setInt16(o, types.length);
      o += 2;
      for (let c = 0; c < types.length; c++) {
        const v = row[c];
        if (v === null || v === undefined) {
          view.setInt32(o, -1);
          o += 4;
          continue;
        }
        switch (types[c]!) {
          case 'timestamptz': {
            // Microseconds since 2000-01-01 as two 32-bit halves: exact below 2^53, and no BigInt per row.
            const us = Math.round(((typeof v === 'number' ? v : epochMs(v)) - PG_EPOCH_MS) * 1000);
            if (!Number.isFinite(us)) epochMs(v); // throws the 22007 error
            // Beyond 2^53 µs (±285,000 years, about PostgreSQL's own range) the halves would wrap silently.
            if (Math.abs(us) > Number.MAX_SAFE_INTEGER)
              throw new CopyValueError(`timestamp out of range: "${String(v)}"`, '22003');
            const high = Math.floor(us / 2 ** 32);
            view.setInt32(o, 8);
            view.setInt32(o + 4, high);
            view.setUint32(o + 8, us - high * 2 ** 32);
            o += 12;
            break;
          }
          case 'float8': {
            const n = typeof v === 'number' ? v : Number(v);
            if (typeof v !== 'number' && (typeof v !== 'string' || Number.isNaN(n)))
              throw new CopyValueError(`invalid input syntax for type double precision: "${String(v)}"`, '22P02');
            view.setInt32(o, 8);
            view.setFloat64(o + 4, n);
            o += 12;
            break;
          }
          case 'int2':
            view.setInt32(o, 2);
            // The common case inline (a signal id per sample row): a small JS integer.
            view.setInt16(
              o + 4,
              typeof v === 'number' && (v | 0) === v && v >= -32768 && v < 32768 ? v : (integer(v, 16) as number),
            );
            o += 6;
            break;
          case 'int4':
            view.setInt32(o, 4);
            view.setInt32(o + 4, typeof v === 'number' && (v | 0) === v ? v : (integer(v, 32) as number));
            o += 8;
            break;
          case 'int8':
            view.setInt32(o, 8);
            view.setBigInt64(o + 4, integer(v, 64) as bigint);
            o += 12;
            break;
          case 'bool':
            view.setInt32(o, 1);
            view.setUint8(o + 4, v ? 1 : 0);
            o += 5;
            break;
          case 'text': {
            const bytes = bytesOf(c, v);
            view.setInt32(o, bytes.length);
            o += 4;
            o += bytes.copy(out, o);
            break;
          }
          case 'uuid': {
            // Checked once per run of the same value (one vehicle's samples), then decoded in place.
            if (lastInput[c] !== v) {
              if (typeof v !== 'string' || !UUID.test(v))
                throw new CopyValueError(`invalid input syntax for type uuid: "${String(v)}"`, '22P02');
              lastInput[c] = v;
            }
            view.setInt32(o, 16);
            o += 4;
            writeUuid(out, o, v as string);
            o += 16;
            break;
          }
        }
      }
    }
    if (end === rows.length) view.setInt16(o, -1);
    first = false;
    yield out;
    if (end === rows.length) return;
  }
}
