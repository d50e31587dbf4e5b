// Message decoder for one framed ELM327 reply: echo, progress lines, adapter and bus errors, data.
// The framer (framer.ts) has already cut the byte stream at the '>' prompt.
import type { AgentErrorCode } from '../errors.js';

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
  | {
      readonly ok: false;
      /** What the adapter printed, normalised. */
      readonly error: ElmErrorKind;
      /** The agent catalogue code for it: what callers compare. */
      readonly code: AgentErrorCode;
      readonly lines: readonly string[];
    };

// ELM327 DS "Messages and error codes": each is printed on a line of its own in place of data.
const ERROR_LINES: readonly [RegExp, ElmErrorKind, AgentErrorCode][] = [
  [/^NO ?DATA$/, 'NO DATA', 'NO_DATA'],
  [/^\?$/, '?', 'ADAPTER_UNKNOWN_COMMAND'],
  [/^STOPPED$/, 'STOPPED', 'ADAPTER_STOPPED'],
  [/^CAN ERROR$/, 'CAN ERROR', 'BUS_ERROR'],
  [/^BUFFER FULL$/, 'BUFFER FULL', 'ADAPTER_BUFFER_FULL'],
  [/^UNABLE TO CONNECT$/, 'UNABLE TO CONNECT', 'UNABLE_TO_CONNECT'],
  [/^BUS INIT:.*ERROR$/, 'BUS INIT ERROR', 'BUS_ERROR'],
  [/^BUS (ERROR|BUSY)$/, 'BUS ERROR', 'BUS_ERROR'],
  [/^(<)?DATA ERROR/, 'DATA ERROR', 'DATA_ERROR'],
  [/^<RX ERROR$/, 'RX ERROR', 'DATA_ERROR'],
  [/^FB ERROR$/, 'FB ERROR', 'BUS_ERROR'],
  [/^LV RESET$/, 'LV RESET', 'ADAPTER_RESET'],
  [/^ACT ALERT$/, 'ACT ALERT', 'ADAPTER_ALERT'],
  [/^ERR\d*$|^ERROR$/, 'ERROR', 'ADAPTER_ERROR'],
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
    for (const [pattern, error, code] of ERROR_LINES) {
      if (pattern.test(upper)) return { ok: false, error, code, lines };
    }
  }
  return { ok: true, lines };
}
