import { describe, expect, it } from 'vitest';
import { parseFrames } from './frames.js';
import { bitmapFromPids, pidsFromBitmap, supportedPidsFromMessages } from './supported-pids.js';

describe('supported-PID bitmaps (SAE J1979 Mode 01 PID 00)', () => {
  it('decodes BE 1F A8 13 to the PIDs a typical petrol car lists', () => {
    // A common real 0100 reply; bit 7 of A is PID 01.
    expect(pidsFromBitmap(0x00, Uint8Array.of(0xbe, 0x1f, 0xa8, 0x13))).toEqual([
      0x01, 0x03, 0x04, 0x05, 0x06, 0x07, 0x0c, 0x0d, 0x0e, 0x0f, 0x10, 0x11, 0x13, 0x15, 0x1c, 0x1f, 0x20,
    ]);
  });

  it('merges ranges and ECUs from real replies', () => {
    const supported = supportedPidsFromMessages(
      parseFrames(['7E8 06 41 00 BE 1F A8 13', '7E9 06 41 00 98 18 80 10', '7E8 06 41 20 80 01 A0 01']),
    );
    expect(supported.has(0x0c)).toBe(true);
    expect(supported.has(0x21)).toBe(true);
    expect(supported.has(0x40)).toBe(true);
    expect(supported.has(0x02)).toBe(false);
  });

  it('ignores replies that are not bitmaps', () => {
    expect(supportedPidsFromMessages(parseFrames(['7E8 04 41 0C 1A F8'])).size).toBe(0);
  });

  it('round-trips through bitmapFromPids', () => {
    const pids = [0x41, 0x42, 0x4c, 0x5f, 0x60];
    expect(pidsFromBitmap(0x40, bitmapFromPids(0x40, pids))).toEqual(pids);
  });
});
