import { describe, expect, it } from 'vitest';
import { addressingCommands, busDefault, commandAddressing, type AddressedCommand } from './addressing.js';

const cmd = (fields: Partial<AddressedCommand>): AddressedCommand => ({
  cmd: { '22': '1234' },
  signals: [],
  ...fields,
});

describe('commandAddressing (OBDb hdr/pri/rax/eax/tst/fcm1/tmo -> adapter setup)', () => {
  it('reads an 11-bit ECU on the bus protocol, a 29-bit one on its twin at the same bit rate', () => {
    expect(commandAddressing(cmd({ hdr: '7E0', rax: '7E8' }), '6')).toMatchObject({
      ok: true,
      requestId: '7E0',
      addressing: { protocol: '6', header: '7E0', receive: '7E8' },
    });
    expect(commandAddressing(cmd({ hdr: '7E0' }), '9')).toMatchObject({ addressing: { protocol: '8', receive: '' } });
    expect(commandAddressing(cmd({ hdr: 'DA10', rax: '10' }), '6')).toMatchObject({
      requestId: '18DA10F1',
      addressing: { protocol: '7', priority: '18', header: 'DA10F1', receive: '18DAF110' },
    });
    expect(commandAddressing(cmd({ hdr: 'DA10' }), '8')).toMatchObject({
      addressing: { protocol: '9', receive: '18DAF110' },
    });
  });

  it('follows the OBDb receive-address forms under the command priority and tester address', () => {
    const reply = (fields: Partial<AddressedCommand>) => {
      const r = commandAddressing(cmd(fields), '6');
      return r.ok ? r.addressing.receive : r.reason;
    };
    expect(reply({ hdr: 'DA10', rax: '10', pri: '14' })).toBe('14DAF110');
    expect(reply({ hdr: 'DA11', rax: '2AF111', pri: '14' })).toBe('142AF111');
    expect(reply({ hdr: 'FC00', rax: 'FE007B', pri: '17' })).toBe('17FE007B');
    expect(reply({ hdr: 'D016', rax: '1EC60E80', pri: '1D', tst: '30' })).toBe('1EC60E80');
    expect(commandAddressing(cmd({ hdr: 'D016', pri: '1D', tst: '30' }), '6')).toMatchObject({
      requestId: '1DD01630',
      addressing: { header: 'D01630', receive: '' },
    });
  });

  it('carries extended addressing, tester address, forced flow control and timeout', () => {
    expect(
      commandAddressing(cmd({ hdr: '750', rax: '758', eax: '2A', tst: '2A', tmo: '96', fcm1: true }), '6'),
    ).toEqual({
      ok: true,
      requestId: '750',
      addressing: {
        protocol: '6',
        priority: '18',
        header: '750',
        receive: '758',
        extended: '2A',
        tester: '2A',
        flowControl: '750/300000',
        timeout: '96',
      },
    });
    expect(commandAddressing(cmd({ hdr: 'DA11', rax: '2AF111', pri: '14', fcm1: true }), '6')).toMatchObject({
      addressing: { flowControl: '14DA11F1/300000' },
    });
  });

  it('says why a command cannot be reached', () => {
    expect(commandAddressing(cmd({ hdr: '7E0' }), '3')).toMatchObject({ ok: false, reason: /not ISO 15765-4/ });
    expect(commandAddressing(cmd({}), '6')).toEqual({ ok: false, reason: 'no request header' });
    expect(commandAddressing(cmd({ hdr: '7E' }), '6')).toMatchObject({ ok: false, reason: /neither/ });
    expect(commandAddressing(cmd({ hdr: 'DA10', pri: '20' }), '6')).toMatchObject({ ok: false, reason: /priority/ });
    expect(commandAddressing(cmd({ hdr: 'DA1G' }), '6')).toMatchObject({ ok: false, reason: /hexadecimal/ });
  });
});

describe('addressingCommands (only what differs, in an order the ELM327 takes)', () => {
  const silverado = commandAddressing(cmd({ hdr: 'DA11', rax: '2AF111', pri: '14', fcm1: true }), '6');
  const body = commandAddressing(cmd({ hdr: '750', rax: '758', eax: '2A', tst: '2A', fcm1: true }), '6');
  if (!silverado.ok || !body.ok) throw new Error('fixtures');

  it('goes to a 29-bit ECU and back to the 11-bit bus default', () => {
    const there = addressingCommands(busDefault('6'), silverado.addressing);
    expect(there.commands).toEqual([
      'ATTP7',
      'ATCP14',
      'ATSHDA11F1',
      'ATCRA142AF111',
      'ATFCSH14DA11F1',
      'ATFCSD300000',
      'ATFCSM1',
    ]);
    const back = addressingCommands(there.state, busDefault('6'));
    expect(back.commands).toEqual(['ATTP6', 'ATSH7DF', 'ATCRA', 'ATFCSM0']);
    // The priority is left as it was on 11-bit; the next 29-bit ECU with the same one needs no ATCP.
    expect(addressingCommands(back.state, silverado.addressing).commands).not.toContain('ATCP14');
    expect(addressingCommands(there.state, silverado.addressing).commands).toEqual([]);
  });

  it('turns extended addressing on and off, and restores the tester address', () => {
    const there = addressingCommands(busDefault('6'), body.addressing);
    expect(there.commands).toEqual([
      'ATSH750',
      'ATCRA758',
      'ATCEA2A',
      'ATTA2A',
      'ATFCSH750',
      'ATFCSD300000',
      'ATFCSM1',
    ]);
    expect(addressingCommands(there.state, busDefault('6')).commands).toEqual([
      'ATSH7DF',
      'ATCRA',
      'ATCEA',
      'ATTAF1',
      'ATFCSM0',
    ]);
  });

  it('sends every setting when the adapter state is unknown, and restores 18DB33F1 on a 29-bit bus', () => {
    expect(addressingCommands(undefined, busDefault('7')).commands).toEqual([
      'ATTP7',
      'ATCP18',
      'ATSHDB33F1',
      'ATCRA',
      'ATCEA',
      'ATTAF1',
      'ATFCSM0',
      'ATST32',
    ]);
  });
});
