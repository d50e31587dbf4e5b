// CAN frame lines (as printed by an ELM327) -> reassembled ISO-TP messages (ISO 15765-2).

export interface ObdMessage {
  /** Sender's CAN id ('7E8', '18DAF110'), absent when headers were off (ATH0). */
  readonly canId?: string;
  /** Reassembled payload: service response byte first (e.g. 0x41), then PID echo and data. */
  readonly data: Uint8Array;
}

export type HeaderMode = 'auto' | 'none' | '11bit' | '29bit';

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

export function parseFrames(lines: readonly string[], headers: HeaderMode = 'auto', frameOptions: FrameOptions = {}): ObdMessage[] {
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
