import { sae1979Signalset } from '@clutch/firmware-profiles';
import { describe, expect, it } from 'vitest';
import { decodeMode01Reply, mode01Request } from './mode01.js';

const set = sae1979Signalset();

describe('Mode 01 request', () => {
  it('adds the response-count digit on CAN: frames the single ECU reply will take', () => {
    // 41 0C a b 0D c: 6 bytes, one single frame
    expect(mode01Request(set, ['0C', '0D'], true)).toBe('010C0D1');
    // 41 0C a b 0D c 05 d 11 e 2F f 42 g h: 15 bytes = first frame (6) + 2 consecutive frames (7 each)
    expect(mode01Request(set, ['0C', '0D', '05', '11', '2F', '42'], true)).toBe('010C0D05112F423');
    // legacy buses answer every request in full: no count digit
    expect(mode01Request(set, ['0C'], false)).toBe('010C');
  });

  it('refuses a PID the signalset does not define (UNSUPPORTED_PID): its reply length is unknown', () => {
    expect(() => mode01Request(set, ['0C', 'FD'], true)).toThrow(
      expect.objectContaining({ code: 'UNSUPPORTED_PID', details: { pid: 'FD' } }),
    );
  });
});

describe('Mode 01 reply', () => {
  it('decodes the PIDs of a multi-PID reply into catalogue readings', () => {
    const reply = decodeMode01Reply(set, ['7E8 06 41 0C 1A F8 0D 32'], ['0C', '0D']);
    expect(reply).toEqual({
      readings: [
        { key: 'engine.rpm', value: 1726 },
        { key: 'vehicle.speed', value: 50 },
      ],
      pidReads: 2,
      rejected: 0,
      answered: new Map([
        ['0C', '7E8'],
        ['0D', '7E8'],
      ]),
    });
  });

  it('reads a PID answered by two ECUs once, from the engine ECU (7E8 before 7EA), whatever the line order', () => {
    for (const lines of [
      ['7EA 03 41 05 5A', '7E8 03 41 05 7B'],
      ['7E8 03 41 05 7B', '7EA 03 41 05 5A'],
    ]) {
      const reply = decodeMode01Reply(set, lines, ['05']);
      expect(reply.readings).toEqual([{ key: 'engine.coolant_temp', value: 0x7b - 40 }]);
      expect(reply.pidReads).toBe(1);
      expect(reply.answered).toEqual(new Map([['05', '7E8']]));
    }
    // A PID only the second ECU answers is read from it.
    const other = decodeMode01Reply(set, ['7E8 03 41 0D 32', '7EA 04 41 0C 1A F8'], ['0C', '0D']);
    expect(other.answered).toEqual(
      new Map([
        ['0C', '7EA'],
        ['0D', '7E8'],
      ]),
    );
    expect(other.readings).toHaveLength(2);
  });

  it('omits the count digit when the adapter refuses it', () => {
    expect(mode01Request(set, ['0C'], true, false)).toBe('010C');
    expect(mode01Request(set, ['0C'], true)).toBe('010C1');
  });
});
