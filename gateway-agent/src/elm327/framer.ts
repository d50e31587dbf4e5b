// Frame decoder for the ELM327 byte stream: bytes in, one raw response text per '>' prompt out.
// Meaning (echo, errors, data lines) is assigned by parseResponse, never here.

/** ELM327 DS: every reply, including errors, ends with the '>' prompt when the adapter is ready again. */
export const ELM_PROMPT = 0x3e;

export class ElmFramer {
  private buffer: number[] = [];

  /** Feeds bytes; returns the text of each response completed by a prompt in this chunk. */
  push(chunk: Uint8Array | string): string[] {
    const bytes = typeof chunk === 'string' ? Buffer.from(chunk, 'latin1') : chunk;
    const out: string[] = [];
    for (const byte of bytes) {
      if (byte === ELM_PROMPT) {
        out.push(Buffer.from(this.buffer).toString('latin1'));
        this.buffer = [];
      } else if (byte !== 0x00) {
        // ELM327 DS: some clones emit NUL bytes around the prompt; they carry nothing.
        this.buffer.push(byte);
      }
    }
    // A stream with no prompt is not an adapter; cap the buffer so garbage cannot grow it without bound.
    if (this.buffer.length > 64 * 1024) this.buffer = this.buffer.slice(-4096);
    return out;
  }

  /** Bytes received since the last prompt (e.g. to detect a silent adapter). */
  get pending(): number {
    return this.buffer.length;
  }

  reset(): void {
    this.buffer = [];
  }
}

export type ElmErrorKind =
  | 'NO DATA'
  | '?'
  | 'STOPPED'
  | 'CAN ERROR'
  | 'BUFFER FULL'
  | 'UNABLE TO CONNECT'
  | 'BUS INIT ERROR'
  | 'BUS ERROR'
  | 'DATA ERROR'
  | 'RX ERROR'
  | 'FB ERROR'
  | 'LV RESET'
  | 'ACT ALERT'
  | 'ERROR';

export type ElmResponse =
  | { readonly ok: true; readonly lines: readonly string[] }
  | { readonly ok: false; readonly error: ElmErrorKind; readonly lines: readonly string[] };

// ELM327 DS "Messages and error codes": each is printed on a line of its own in place of data.
const ERROR_LINES: readonly [RegExp, ElmErrorKind][] = [
  [/^NO ?DATA$/, 'NO DATA'],
  [/^\?$/, '?'],
  [/^STOPPED$/, 'STOPPED'],
  [/^CAN ERROR$/, 'CAN ERROR'],
  [/^BUFFER FULL$/, 'BUFFER FULL'],
  [/^UNABLE TO CONNECT$/, 'UNABLE TO CONNECT'],
  [/^BUS INIT:.*ERROR$/, 'BUS INIT ERROR'],
  [/^BUS (ERROR|BUSY)$/, 'BUS ERROR'],
  [/^(<)?DATA ERROR/, 'DATA ERROR'],
  [/^<RX ERROR$/, 'RX ERROR'],
  [/^FB ERROR$/, 'FB ERROR'],
  [/^LV RESET$/, 'LV RESET'],
  [/^ACT ALERT$/, 'ACT ALERT'],
  [/^ERR\d*$|^ERROR$/, 'ERROR'],
];

function normaliseCommand(command: string): string {
  return command.replace(/\s+/g, '').toUpperCase();
}

/**
 * Turns one framed response into lines of data or an error. `sentCommand` lets the echo (ATE1) be
 * recognised; the echo is always the first line because the adapter repeats input as it arrives.
 */
export function parseResponse(text: string, sentCommand?: string): ElmResponse {
  let lines = text
    .split(/[\r\n]+/)
    .map((line) => line.trim())
    .filter((line) => line.length > 0);
  if (sentCommand !== undefined && lines.length > 0) {
    const echo = normaliseCommand(sentCommand);
    if (normaliseCommand(lines[0]!) === echo && echo.length > 0) lines = lines.slice(1);
  }
  // ELM327 DS: 'SEARCHING...' precedes the first reply under ATSP0; 'BUS INIT: ...OK' under ISO 9141/14230.
  lines = lines.filter((line) => !/^SEARCHING\.*$/i.test(line) && !/^BUS INIT:\s*\.*\s*OK$/i.test(line));
  for (const line of lines) {
    const upper = line.toUpperCase();
    for (const [pattern, kind] of ERROR_LINES) {
      if (pattern.test(upper)) return { ok: false, error: kind, lines };
    }
  }
  return { ok: true, lines };
}
