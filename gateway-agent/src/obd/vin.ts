// SAE J1979 Mode 09 PID 02: the VIN in the reply to `0902`.
import { parseFrames } from './frames.js';

/** SAE J1979 Mode 09 PID 02 on CAN: 49 02 <count 01> then 17 ASCII characters. */
export function vinFromLines(lines: readonly string[]): string | undefined {
  for (const message of parseFrames(lines)) {
    if (message.data[0] !== 0x49 || message.data[1] !== 0x02) continue;
    const text = Buffer.from(message.data.subarray(3))
      .toString('latin1')
      .replace(/[^A-HJ-NPR-Z0-9]/g, '');
    if (text.length >= 17) return text.slice(-17);
  }
  return undefined;
}
