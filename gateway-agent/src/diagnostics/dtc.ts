// Diagnostic trouble codes in OBD replies (SAE J1979 Modes 03, 07, 0A; code format SAE J2012 §5.3).
import type { ObdMessage } from '../obd/frames.js';

export type DtcKind = 'stored' | 'pending' | 'permanent';

/** Request service per kind: SAE J1979 Mode 03 (confirmed/stored), 07 (pending), 0A (permanent). */
export const DTC_SERVICES: Readonly<Record<DtcKind, number>> = { stored: 0x03, pending: 0x07, permanent: 0x0a };

/**
 * Two bytes -> 'P0301'. SAE J2012: bits 15-14 pick the system (P, C, B, U), bits 13-12 the first
 * digit (0-3), then three hex digits.
 */
export function decodeDtc(hi: number, lo: number): string {
  const system = 'PCBU'[hi >> 6]!;
  const first = (hi >> 4) & 0x03;
  const rest = (((hi & 0x0f) << 8) | lo).toString(16).toUpperCase().padStart(3, '0');
  return `${system}${first}${rest}`;
}

export interface EcuDtc {
  readonly code: string;
  readonly ecu?: string;
}

/**
 * Codes in the replies to one DTC request. On CAN (ISO 15765-4) the positive response is
 * `<sid+40> <count> <hi lo>...` (SAE J1979 §8.3: the count byte exists on CAN only); on the legacy
 * buses each message carries three 2-byte slots with 0000 as padding and no count.
 */
export function dtcsFromMessages(service: number, messages: readonly ObdMessage[], isCan: boolean): EcuDtc[] {
  const out: EcuDtc[] = [];
  const seen = new Set<string>();
  for (const m of messages) {
    if (m.data[0] !== service + 0x40) continue;
    let bytes = m.data.subarray(1);
    if (isCan) {
      const count = bytes[0] ?? 0;
      bytes = bytes.subarray(1, 1 + 2 * count);
    }
    for (let i = 0; i + 1 < bytes.length; i += 2) {
      if (bytes[i] === 0 && bytes[i + 1] === 0) continue; // padding, "no code"
      const code = decodeDtc(bytes[i]!, bytes[i + 1]!);
      const key = `${m.canId ?? ''}:${code}`;
      if (seen.has(key)) continue;
      seen.add(key);
      out.push({ code, ...(m.canId ? { ecu: m.canId } : {}) });
    }
  }
  return out;
}
