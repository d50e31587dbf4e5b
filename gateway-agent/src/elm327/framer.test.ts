import { describe, expect, it } from 'vitest';
import { ElmFramer } from './framer.js';
import { parseResponse, type ElmResponse } from './response.js';

interface Exchange {
  sent: string;
  bytes: string;
}

// Replies as real adapters print them: echo on/off, headers on/off, spaces on/off, ISO-TP, errors.
const STREAM: Exchange[] = [
  { sent: 'ATZ', bytes: 'ATZ\r\r\rELM327 v1.5\r\r>' },
  { sent: 'ATE0', bytes: 'ATE0\rOK\r\r>' },
  { sent: '0100', bytes: 'SEARCHING...\r7E8 06 41 00 BE 3F A8 13 \r\r>' },
  { sent: '010C', bytes: '7E804410C1AF8\r\r>' },
  { sent: '010D', bytes: '41 0D 32 \r\n\r\n>' },
  { sent: '0902', bytes: '7E8 10 14 49 02 01 31 44 34\r7E8 21 47 50 32 34 52 34 35\r7E8 22 42 31 32 33 34 35 36\r\r>' },
  { sent: '0902', bytes: '014\r0: 49 02 01 31 44 34\r1: 47 50 32 34 52 34 35\r2: 42 31 32 33 34 35 36\r\r>' },
  { sent: '0111', bytes: '7E90341112A\r7E80341112A\r\r>' },
  { sent: '0105', bytes: 'BUS INIT: ...OK\r41 05 7B\r\r>' },
  { sent: '0142', bytes: 'NO DATA\r\r>' },
  { sent: 'XYZ', bytes: '?\r\r>' },
  { sent: '0100', bytes: '\0STOPPED\r\r>' },
  { sent: '0100', bytes: 'BUS INIT: ...ERROR\r\r>' },
  { sent: '0100', bytes: 'CAN ERROR\r\r>' },
  { sent: '0100', bytes: 'BUFFER FULL\r\r>' },
  { sent: '0100', bytes: 'SEARCHING...\rUNABLE TO CONNECT\r\r>' },
];

function frameAll(chunks: string[]): ElmResponse[] {
  const framer = new ElmFramer();
  const texts = chunks.flatMap((c) => framer.push(Buffer.from(c, 'latin1')));
  return texts.map((text, i) => parseResponse(text, STREAM[i]?.sent));
}

describe('ElmFramer (cut at the prompt) + parseResponse', () => {
  const whole = STREAM.map((e) => e.bytes).join('');
  const expected = frameAll([whole]);

  it('cuts one response per prompt', () => {
    expect(expected).toHaveLength(STREAM.length);
    expect(expected[0]).toEqual({ ok: true, lines: ['ELM327 v1.5'] });
    expect(expected[5]!.lines).toHaveLength(3);
  });

  it('yields the same responses for every split of the stream at every byte', () => {
    for (let i = 0; i <= whole.length; i++) {
      expect(frameAll([whole.slice(0, i), whole.slice(i)])).toEqual(expected);
    }
  });

  it('yields the same responses when fed one byte at a time or in random chunks', () => {
    expect(frameAll([...whole])).toEqual(expected);
    let seed = 7;
    for (let round = 0; round < 50; round++) {
      const chunks: string[] = [];
      for (let i = 0; i < whole.length;) {
        seed = (seed * 1103515245 + 12345) & 0x7fffffff;
        const n = 1 + (seed % 13);
        chunks.push(whole.slice(i, i + n));
        i += n;
      }
      expect(frameAll(chunks)).toEqual(expected);
    }
  });

  it('survives garbage bytes and still frames the next real reply', () => {
    const framer = new ElmFramer();
    let seed = 42;
    for (let i = 0; i < 20_000; i++) {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      const chunk = Buffer.from([seed & 0xff, (seed >> 8) & 0xff, (seed >> 16) & 0xff]);
      for (const text of framer.push(chunk)) expect(() => parseResponse(text, '0100')).not.toThrow();
    }
    framer.push('>');
    expect(framer.push('41 0D 32\r\r>').map((t) => parseResponse(t))).toEqual([{ ok: true, lines: ['41 0D 32'] }]);
  });

  it('counts an overflow when a stream carries no prompt (not an ELM327, or the wrong baud rate)', () => {
    const framer = new ElmFramer();
    expect(framer.push(Buffer.alloc(70 * 1024, 0x41))).toEqual([]);
    expect(framer.overflows).toBe(1);
    expect(framer.push('\r41 0D 32\r\r>')).toHaveLength(1);
  });
});
