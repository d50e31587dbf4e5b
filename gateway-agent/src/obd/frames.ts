// CAN frame lines (as printed by an ELM327) -> reassembled ISO-TP messages (ISO 15765-2).

export interface ObdMessage {
  /** Sender's CAN id ('7E8', '18DAF110'), absent when headers were off (ATH0). */
  readonly canId?: string;
  /** Reassembled payload: service response byte first (e.g. 0x41), then PID echo and data. */
  readonly data: Uint8Array;
}

/**
 * How data lines start. 'legacy' = SAE J1850 / ISO 9141-2 / ISO 14230-4 with headers on (ATH1):
 * three header bytes (priority/format, target, source), the data, then the checksum byte
 * (ELM327 DS "ATH1": header and check bytes are shown on the non-CAN protocols).
 */
export type HeaderMode = 'auto' | 'none' | '11bit' | '29bit' | 'legacy';

/** ELM327 ATDPN protocol number -> how its header lines look with ATH1 (ELM327 DS "ATSP"). */
export function headerModeForProtocol(protocol: string | undefined): HeaderMode {
  const n = (protocol ?? '').replace(/^A/, '');
  if (/^[1-5]$/.test(n)) return 'legacy';
  // CAN: auto-detection is exact for 11/29-bit ids and also copes with a clone that ignored ATH1.
  return 'auto';
}

/** SAE J1850 CRC-8 (polynomial 0x1D, initial 0xFF, inverted result). */
export function j1850Crc(bytes: readonly number[]): number {
  let crc = 0xff;
  for (const b of bytes) {
    crc ^= b;
    for (let i = 0; i < 8; i++) crc = crc & 0x80 ? ((crc << 1) ^ 0x1d) & 0xff : (crc << 1) & 0xff;
  }
  return crc ^ 0xff;
}

/** ISO 9141-2 / ISO 14230-4 checksum: the sum of all bytes modulo 256. */
export function sumChecksum(bytes: readonly number[]): number {
  return bytes.reduce((a, b) => (a + b) & 0xff, 0);
}

/**
 * One legacy (non-CAN) line with headers: `48 6B 10 41 0C 1A F8 CS`. The check byte must match
 * either checksum (the line does not say which bus it came from); a corrupt line is dropped.
 * ISO 14230-4 format bytes 0x81-0xBF carry the data length in their low 6 bits.
 */
function legacyLine(bytes: number[]): { source: string; data: number[] } | null {
  if (bytes.length < 5) return null;
  const body = bytes.slice(0, -1);
  const check = bytes.at(-1)!;
  if (check !== sumChecksum(body) && check !== j1850Crc(body)) return null;
  const format = bytes[0]!;
  let data = body.slice(3);
  if ((format & 0xc0) === 0x80 && (format & 0x3f) > 0) data = data.slice(0, format & 0x3f);
  return { source: bytes[2]!.toString(16).toUpperCase().padStart(2, '0'), data };
}

/**
 * Legacy multi-message replies (e.g. the VIN on ISO 9141: `49 02 01 00 00 00 31`, `49 02 02 ..`) carry
 * a message counter after the PID (SAE J1979 Mode 09 on non-CAN). Lines of one ECU with the same
 * service and PID and counters 1, 2, ... are joined into one payload with a single counter byte.
 */
function joinLegacy(lines: { source: string; data: number[] }[]): ObdMessage[] {
  const out: ObdMessage[] = [];
  const groups = new Map<string, { source: string; head: number[]; parts: number[][] }>();
  for (const { source, data } of lines) {
    const sid = data[0] ?? 0;
    if (sid === 0x49 && data.length >= 3) {
      const key = `${source}:${data[1]}`;
      const g = groups.get(key) ?? { source, head: [sid, data[1]!], parts: [] };
      g.parts[data[2]! - 1] = data.slice(3);
      groups.set(key, g);
      continue;
    }
    out.push({ ...(source ? { canId: source } : {}), data: Uint8Array.from(data) });
  }
  for (const g of groups.values()) {
    const count = g.parts.length;
    out.push({
      ...(g.source ? { canId: g.source } : {}),
      data: Uint8Array.from([...g.head, count, ...g.parts.flatMap((p) => p ?? [])]),
    });
  }
  return out;
}

const HEX = /^[0-9A-F]+$/;

function hexBytes(hex: string): number[] {
  const out: number[] = [];
  for (let i = 0; i + 1 < hex.length; i += 2) out.push(parseInt(hex.slice(i, i + 2), 16));
  return out;
}

interface Pending {
  length: number;
  bytes: number[];
}

/**
 * Parses data lines into messages. With headers: the first 3 (11-bit) or 8 (29-bit) hex digits are
 * the CAN id and the next byte is the ISO-TP PCI. Without headers (ATH0, CAF1) the adapter has
 * removed the PCI: single frames are bare payloads, and multi-frame replies are printed as a byte
 * count line followed by `N: ..` lines (ELM327 DS, "Multiline responses").
 */
export interface FrameOptions {
  /**
   * ISO 15765-2 extended addressing (e.g. Toyota body ECUs behind a gateway, OBDb `eax`): one target
   * address byte sits between the CAN id and the PCI. It is dropped here.
   */
  readonly extendedAddressing?: boolean;
}

export function parseFrames(
  lines: readonly string[],
  headers: HeaderMode = 'auto',
  frameOptions: FrameOptions = {},
): ObdMessage[] {
  if (headers === 'legacy') {
    const parsed: { source: string; data: number[] }[] = [];
    for (const raw of lines) {
      const hex = raw.replace(/\s+/g, '').toUpperCase();
      if (!HEX.test(hex) || hex.length % 2 !== 0) continue;
      const bytes = hexBytes(hex);
      // A line failing the check byte is either corrupt or printed without headers (a clone that
      // ignored ATH1): as bare data it can only decode if it starts with a response service id.
      parsed.push(legacyLine(bytes) ?? { source: '', data: bytes });
    }
    return joinLegacy(parsed);
  }
  const messages: ObdMessage[] = [];
  const pending = new Map<string, Pending>();
  let headerless: Pending | undefined;

  const flushHeaderless = () => {
    if (headerless) messages.push({ data: Uint8Array.from(headerless.bytes.slice(0, headerless.length)) });
    headerless = undefined;
  };

  for (const raw of lines) {
    // OBDb test cases sometimes quote the request (`> 7DF.010D`); it is not a frame.
    if (raw.startsWith('>')) continue;
    const spaced = raw.trim().toUpperCase();
    const indexed = /^([0-9A-F]):\s*(.*)$/.exec(spaced);
    if (indexed && headers !== '11bit' && headers !== '29bit') {
      const hex = indexed[2]!.replace(/\s+/g, '');
      if (HEX.test(hex) && headerless) headerless.bytes.push(...hexBytes(hex));
      continue;
    }
    const hex = spaced.replace(/\s+/g, '');
    if (!HEX.test(hex) || hex.length < 2) continue;

    const mode = headers === 'auto' ? detectHeader(spaced, hex) : headers;
    if (mode === 'none') {
      if (hex.length === 3) {
        // ATH0 multi-frame: a 3-digit byte count opens the message.
        flushHeaderless();
        headerless = { length: parseInt(hex, 16), bytes: [] };
        continue;
      }
      flushHeaderless();
      messages.push({ data: Uint8Array.from(hexBytes(hex)) });
      continue;
    }
    const idLength = mode === '11bit' ? 3 : 8;
    if (hex.length < idLength + 2) continue;
    const canId = hex.slice(0, idLength);
    const bytes = hexBytes(hex.slice(idLength));
    if (frameOptions.extendedAddressing) bytes.shift();
    if (bytes.length === 0) continue;
    const pci = bytes[0]!;
    switch (pci >> 4) {
      case 0: // single frame: OBDb uses the rest of the line, padding included
        messages.push({ canId, data: Uint8Array.from(bytes.slice(1)) });
        break;
      case 1: {
        // first frame: 12-bit total length, then the first 6 payload bytes
        const length = ((pci & 0x0f) << 8) | (bytes[1] ?? 0);
        pending.set(canId, { length, bytes: bytes.slice(2) });
        break;
      }
      case 2: {
        // consecutive frame: append per sender; a CF with no FF before it is dropped
        const message = pending.get(canId);
        if (!message) break;
        message.bytes.push(...bytes.slice(1));
        if (message.bytes.length >= message.length) {
          messages.push({ canId, data: Uint8Array.from(message.bytes.slice(0, message.length)) });
          pending.delete(canId);
        }
        break;
      }
      default: // 3 = flow control, the rest are not ISO-TP: ignore
        break;
    }
  }
  flushHeaderless();
  // An incomplete multi-frame message still carries its leading bytes; decode what arrived.
  for (const [canId, message] of pending) messages.push({ canId, data: Uint8Array.from(message.bytes) });
  return messages;
}

function detectHeader(spaced: string, hex: string): Exclude<HeaderMode, 'auto'> {
  const tokens = spaced.split(/\s+/);
  if (tokens.length > 1) {
    if (tokens[0]!.length === 3) return '11bit';
    if (tokens[0]!.length === 8) return '29bit';
    if (tokens.length >= 5 && tokens[0] === '18' && tokens[1] === 'DA') return '29bit';
    return 'none';
  }
  // Without spaces an 11-bit id leaves an odd digit count; 29-bit physical ids start 18DA (ISO 15765-4).
  if (hex.length === 3) return 'none';
  if (hex.length % 2 === 1) return '11bit';
  if (hex.startsWith('18DA') && hex.length >= 12) return '29bit';
  return 'none';
}
