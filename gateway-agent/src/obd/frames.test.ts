import { describe, expect, it } from 'vitest';
import { isPlausible, signalByKey } from '@clutch/contracts';
import { sae1979Signalset } from '@clutch/firmware-profiles';
import { decodeMode01Reply } from './mode01.js';
import { vinFromLines } from './vin.js';
import { headerModeForProtocol, j1850Crc, parseFrames, sumChecksum } from './frames.js';

const set = sae1979Signalset();
const rpmOf = (lines: string[], protocol?: string) =>
  decodeMode01Reply(set, lines, ['0C'], headerModeForProtocol(protocol)).readings.find((r) => r.key === 'engine.rpm')
    ?.value;

// RPM 1726 (0x1AF8) as each protocol prints it (ELM327 DS, "Interpreting trouble codes" and "Headers").
describe('reply forms of every OBD protocol', () => {
  const body = [0x41, 0x0c, 0x1a, 0xf8];
  const hex = (bytes: number[], sep = ' ') => bytes.map((b) => b.toString(16).toUpperCase().padStart(2, '0')).join(sep);
  it.each([
    ['CAN 11-bit, headers, spaces', ['7E8 04 41 0C 1A F8'], 'A6'],
    ['CAN 11-bit, headers, no spaces', ['7E804410C1AF8'], '6'],
    ['CAN 29-bit, headers, spaces', ['18 DA F1 10 04 41 0C 1A F8'], '7'],
    ['CAN 29-bit, headers, no spaces', ['18DAF11004410C1AF8'], '9'],
    ['CAN, headers off', ['41 0C 1A F8'], '6'],
    ['CAN, headers off, no spaces', ['410C1AF8'], '8'],
    [
      'ISO 9141-2 with headers and checksum',
      [hex([0x48, 0x6b, 0x10, ...body, sumChecksum([0x48, 0x6b, 0x10, ...body])])],
      '3',
    ],
    [
      'ISO 14230-4 KWP with length in the format byte',
      [hex([0x84, 0xf1, 0x11, ...body, sumChecksum([0x84, 0xf1, 0x11, ...body])])],
      '5',
    ],
    ['SAE J1850 VPW with CRC', [hex([0x48, 0x6b, 0x10, ...body, j1850Crc([0x48, 0x6b, 0x10, ...body])], '')], '2'],
    ['SAE J1850 PWM with CRC', [hex([0x41, 0x6b, 0x10, ...body, j1850Crc([0x41, 0x6b, 0x10, ...body])])], '1'],
    ['legacy protocol, headers ignored by a clone', ['41 0C 1A F8'], '4'],
  ])('%s', (_name, lines, protocol) => {
    expect(rpmOf(lines, protocol)).toBe(1726);
  });

  it('drops a legacy line whose check byte is wrong', () => {
    expect(rpmOf(['48 6B 10 41 0C 1A F8 00'], '3')).toBeUndefined();
  });

  it('joins a VIN sent as five ISO 9141-2 messages with counters (SAE J1979 Mode 09 on non-CAN)', () => {
    const vin = '1D4GP24R45B123456';
    const payload = [0, 0, 0, ...[...vin].map((c) => c.charCodeAt(0))];
    const lines: string[] = [];
    for (let i = 0; i < 5; i++) {
      const bytes = [0x48, 0x6b, 0x10, 0x49, 0x02, i + 1, ...payload.slice(i * 4, i * 4 + 4)];
      lines.push(hex([...bytes, sumChecksum(bytes)]));
    }
    const [message] = parseFrames(lines.reverse(), 'legacy');
    expect(message?.canId).toBe('10');
    expect(vinFromLines(lines)).toBeUndefined(); // auto mode cannot know these are legacy lines
    expect(Buffer.from(message!.data.subarray(3)).toString('latin1').replace(/\0/g, '')).toBe(vin);
  });

  it('reassembles ISO-TP from two ECUs interleaved, and reads a PID both answer once (from 7E8)', () => {
    const lines = ['7E8 10 0A 41 0C 1A F8 0D 32', '7E9 03 41 0D 20', '7E8 21 05 7B 00 00 00 00 00'];
    const reply = decodeMode01Reply(set, lines, ['0C', '0D', '05']);
    expect(reply.readings).toEqual([
      { key: 'engine.rpm', value: 1726 },
      { key: 'vehicle.speed', value: 50 },
      { key: 'engine.coolant_temp', value: 83 },
    ]);
    expect(reply.pidReads).toBe(3);
  });
});

describe('fuzz: random lines never crash the decoder nor yield out-of-range readings', () => {
  it('holds for 20k random replies, and a real frame among the garbage still decodes to its value', () => {
    let seed = 1234;
    const rnd = (n: number) => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed % n;
    };
    const pids = ['04', '05', '0C', '0D', '0F', '11', '2F', '42', '06', '0E'];
    let readings = 0;
    let rejected = 0;
    let planted = 0;
    for (let i = 0; i < 20_000; i++) {
      const lines = Array.from({ length: 1 + rnd(4) }, () => {
        const head = ['7E8 ', '7E8', '18DAF110', '48 6B 10 ', '', '41 '][rnd(6)]!;
        const bytes = Array.from({ length: rnd(12) }, () => rnd(256).toString(16).padStart(2, '0'));
        if (rnd(3) === 0) bytes.splice(0, 0, '41', pids[rnd(pids.length)]!);
        return head + bytes.join(rnd(2) ? ' ' : '');
      });
      const headers = (['auto', 'legacy', 'none'] as const)[rnd(3)]!;
      // A well-formed single frame from another ECU (7E9): coolant at a known raw byte, A - 40 °C (SAE J1979 PID 05).
      const coolantRaw = rnd(256);
      if (headers === 'auto') {
        lines.splice(
          rnd(lines.length + 1),
          0,
          `7E9 03 41 05 ${coolantRaw.toString(16).padStart(2, '0').toUpperCase()}`,
        );
        planted++;
      }
      const reply = decodeMode01Reply(set, lines, pids, headers);
      rejected += reply.rejected;
      for (const r of reply.readings) {
        readings++;
        expect(isPlausible(signalByKey(r.key)!, r.value), `${r.key}=${r.value}`).toBe(true);
      }
      if (headers === 'auto')
        expect(reply.readings).toContainEqual({ key: 'engine.coolant_temp', value: coolantRaw - 40 });
    }
    expect(planted).toBeGreaterThan(5000);
    // The random frames did decode to readings besides the planted ones (the range check ran on them).
    expect(readings).toBeGreaterThan(planted + 1000);
    // The decoder clamps to the OBDb range, which the catalogue shares: nothing in Mode 01 is out of range.
    expect(rejected).toBe(0);
  });
});
