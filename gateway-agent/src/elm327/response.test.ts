import { describe, expect, it } from 'vitest';
import { parseResponse } from './response.js';

// Replies as adapters print them (text between two prompts), with the command that was sent.
describe('parseResponse', () => {
  it.each([
    ['ATZ', 'ATZ\r\r\rELM327 v1.5\r\r', ['ELM327 v1.5']],
    ['ATE0', 'ATE0\rOK\r\r', ['OK']],
    ['0100', 'SEARCHING...\r7E8 06 41 00 BE 3F A8 13 \r\r', ['7E8 06 41 00 BE 3F A8 13']],
    ['010D', '41 0D 32 \r\n\r\n', ['41 0D 32']],
    ['0105', 'BUS INIT: ...OK\r41 05 7B\r\r', ['41 05 7B']],
  ])('%s: data lines without echo or progress messages', (sent, text, lines) => {
    expect(parseResponse(text, sent)).toEqual({ ok: true, lines });
  });

  it.each([
    ['NO DATA\r\r', 'NO DATA', 'NO_DATA'],
    ['?\r\r', '?', 'ADAPTER_UNKNOWN_COMMAND'],
    ['STOPPED\r\r', 'STOPPED', 'ADAPTER_STOPPED'],
    ['BUS INIT: ...ERROR\r\r', 'BUS INIT ERROR', 'BUS_ERROR'],
    ['CAN ERROR\r\r', 'CAN ERROR', 'BUS_ERROR'],
    ['BUS BUSY\r\r', 'BUS ERROR', 'BUS_ERROR'],
    ['FB ERROR\r\r', 'FB ERROR', 'BUS_ERROR'],
    ['BUFFER FULL\r\r', 'BUFFER FULL', 'ADAPTER_BUFFER_FULL'],
    ['SEARCHING...\rUNABLE TO CONNECT\r\r', 'UNABLE TO CONNECT', 'UNABLE_TO_CONNECT'],
    ['7E8 03 41 0D\r<DATA ERROR\r\r', 'DATA ERROR', 'DATA_ERROR'],
    ['<RX ERROR\r\r', 'RX ERROR', 'DATA_ERROR'],
    ['LV RESET\r\r', 'LV RESET', 'ADAPTER_RESET'],
    ['ACT ALERT\r\r', 'ACT ALERT', 'ADAPTER_ALERT'],
    ['ERR94\r\r', 'ERROR', 'ADAPTER_ERROR'],
  ])('%j is the adapter error %s with code %s', (text, error, code) => {
    expect(parseResponse(text, '0100')).toMatchObject({ ok: false, error, code });
  });

  it('strips only an exact echo of the sent command, so data is never dropped', () => {
    expect(parseResponse('01 0D\r7E803410D32\r\r', '010D').lines).toEqual(['7E803410D32']);
    expect(parseResponse('7E803410D32\r\r', '010D').lines).toEqual(['7E803410D32']);
  });
});
