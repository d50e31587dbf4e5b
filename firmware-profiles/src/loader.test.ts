import { describe, expect, it } from 'vitest';
import { signalCatalogue } from '@clutch/contracts';
import {
  commandAppliesToYear,
  findCommandForSignal,
  findMode01Command,
  loadSignalset,
  parseSignalset,
  sae1979Signalset,
} from './index.js';

describe('SAE J1979 signalset', () => {
  const set = sae1979Signalset();

  it('keeps the CC BY-SA 4.0 licence notice', () => {
    expect(set.$license).toMatch(/CC BY-SA 4\.0/);
  });

  it('defines every Mode 01 signal of the catalogue under the catalogue PID', () => {
    const obd = signalCatalogue.filter((s) => s.source === 'obd' && s.service === '01');
    expect(obd.length).toBeGreaterThan(20);
    for (const signal of obd) {
      const command = findCommandForSignal(set, signal.obdb ?? '');
      expect(command?.cmd['01'], signal.key).toBe(signal.pid);
    }
  });

  it('carries the corrected fuel-trim offset (SAE J1979: (A-128)*100/128)', () => {
    const fmt = findMode01Command(set, '06')?.signals.find((s) => s.id === 'SHRTFT1')?.fmt;
    expect(fmt).toMatchObject({ mul: 100, div: 128, add: -100 });
  });

  it('is cached by name', () => {
    expect(loadSignalset('SAEJ1979')).toBe(set);
  });
});

describe('parseSignalset', () => {
  it('rejects a signal without a length', () => {
    expect(() => parseSignalset('{"commands":[{"cmd":{"01":"0C"},"signals":[{"id":"X","fmt":{}}]}]}')).toThrow(
      /fmt.len/,
    );
  });
  it('rejects names that could escape the profiles folder', () => {
    expect(() => loadSignalset('../package')).toThrow(/invalid profile name/);
  });
});

describe('commandAppliesToYear', () => {
  it('treats from/to as an either-or range like OBDb', () => {
    const command = { cmd: { '22': '1002' }, signals: [], filter: { to: 2017, from: 2027 } };
    expect(commandAppliesToYear(command, 2016)).toBe(true);
    expect(commandAppliesToYear(command, 2020)).toBe(false);
    expect(commandAppliesToYear({ cmd: {}, signals: [], filter: { from: 2018 } }, 2019)).toBe(true);
    expect(commandAppliesToYear({ cmd: {}, signals: [], filter: { years: [2015] } }, 2015)).toBe(true);
  });
});
