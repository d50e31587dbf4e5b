import { describe, expect, it } from 'vitest';
import {
  addressingCommands,
  busDefault,
  commandAddressing,
  supportsExtendedReceive,
  type AddressedCommand,
} from './addressing.js';

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

  it('expects the replies of an extended-address command without tst to carry its eax byte', () => {
    // The RAV4's 2116@750: recorded replies `758 2A 10 07 61 16 ..`; the tester address stays F1.
    expect(commandAddressing(cmd({ hdr: '750', rax: '758', eax: '2A', fcm1: true }), '6')).toMatchObject({
      addressing: { extended: '2A', tester: 'F1', replyAddress: '2A' },
    });
    // With tst, or without extended addressing, replies carry the tester address.
    for (const fields of [{ eax: '2A', tst: '30' }, { tst: '30' }, { eax: 'F1' }]) {
      const target = commandAddressing(cmd({ hdr: '750', ...fields }), '6');
      expect(target.ok && target.addressing.replyAddress).toBeUndefined();
    }
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

  const tires = commandAddressing(cmd({ hdr: '750', rax: '758', eax: '2A', fcm1: true }), '6');
  if (!tires.ok) throw new Error('fixture');

  it('lets replies carrying eax through with ATTA on an adapter without ATCER (11-bit ids)', () => {
    const there = addressingCommands(busDefault('6'), tires.addressing);
    expect(there.commands).toEqual([
      'ATSH750',
      'ATCRA758',
      'ATCEA2A',
      'ATTA2A',
      'ATFCSH750',
      'ATFCSD300000',
      'ATFCSM1',
    ]);
    expect(there.state.tester).toBe('2A');
    expect(there.state.extendedReceive).toBeUndefined();
    expect(addressingCommands(there.state, busDefault('6')).commands).toContain('ATTAF1');
    // The command that names tst 2A needs nothing more once the tester address is 2A.
    expect(addressingCommands(there.state, body.addressing).commands).toEqual([]);
  });

  it('sets ATCER instead when the adapter has it, and keeps it while extended addressing is off', () => {
    const support = { extendedReceive: true };
    const there = addressingCommands(busDefault('6'), tires.addressing, support);
    expect(there.commands).toEqual([
      'ATSH750',
      'ATCRA758',
      'ATCEA2A',
      'ATCER2A',
      'ATFCSH750',
      'ATFCSD300000',
      'ATFCSM1',
    ]);
    expect(there.state).toMatchObject({ tester: 'F1', extendedReceive: '2A' });
    const back = addressingCommands(there.state, busDefault('6'), support);
    expect(back.commands).toEqual(['ATSH7DF', 'ATCRA', 'ATCEA', 'ATFCSM0']);
    expect(back.state.extendedReceive).toBe('2A');
    // ATCER 2A still names the reply byte of the tst 2A command; another sub-address needs a new one.
    expect(addressingCommands(back.state, body.addressing, support).commands).not.toContain('ATCER2A');
    const other = commandAddressing(cmd({ hdr: '750', rax: '758', eax: '30', tst: '30' }), '6');
    if (!other.ok) throw new Error('fixture');
    expect(addressingCommands(back.state, other.addressing, support).commands).toEqual([
      'ATSH750',
      'ATCRA758',
      'ATCEA30',
      'ATTA30',
      'ATCER30',
    ]);
    // A tst that names the reply byte needs no ATCER on an adapter where it was never set.
    expect(addressingCommands(busDefault('6'), body.addressing, support).commands).not.toContain('ATCER2A');
  });

  it('leaves the tester address of a 29-bit header alone: there only ATCER sets the reply byte', () => {
    const gateway = commandAddressing(cmd({ hdr: 'DA60', eax: '2A' }), '6');
    if (!gateway.ok) throw new Error('fixture');
    const without = addressingCommands(busDefault('6'), gateway.addressing);
    expect(without.commands).toContain('ATSHDA60F1');
    expect(without.commands.filter((c) => c.startsWith('ATTA') || c.startsWith('ATCER'))).toEqual([]);
    const withCer = addressingCommands(busDefault('6'), gateway.addressing, { extendedReceive: true });
    expect(withCer.commands).toContain('ATCER2A');
  });
});

describe('supportsExtendedReceive (ATCER from ELM327 v2.2)', () => {
  it('reads the version from the banner', () => {
    expect(supportsExtendedReceive('ELM327 v1.5')).toBe(false);
    expect(supportsExtendedReceive('ELM327 v2.1')).toBe(false);
    expect(supportsExtendedReceive('ELM327 v2.2')).toBe(true);
    expect(supportsExtendedReceive('elm327 v2.3')).toBe(true);
    expect(supportsExtendedReceive('ELM327 v3.0')).toBe(true);
    expect(supportsExtendedReceive('OBDLink MX')).toBe(false);
    expect(supportsExtendedReceive(undefined)).toBe(false);
  });
});
