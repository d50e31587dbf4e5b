import { parseDtcReport } from '@clutch/contracts';
import { describe, expect, it } from 'vitest';
import { Elm327Driver } from '../elm327/driver.js';
import { parseFrames } from '../obd/frames.js';
import { initialiseAdapter } from '../agent/session.js';
import { syntheticDrive } from '../simulator/synthetic-drive.js';
import { startSimulator } from '../simulator/start.js';
import { createLinkedStreams } from '../simulator/streams.js';
import { clearDtcs, dtcReport, readDiagnostics } from './diagnostics.js';
import { decodeDtc, dtcsFromMessages } from './dtc.js';

describe('DTC decoding (SAE J2012)', () => {
  it.each([
    [0x03, 0x01, 'P0301'],
    [0x04, 0x20, 'P0420'],
    [0x41, 0x23, 'C0123'],
    [0x90, 0x01, 'B1001'],
    [0xc1, 0x00, 'U0100'],
    [0xf2, 0x34, 'U3234'],
  ])('%i %i -> %s', (hi, lo, code) => expect(decodeDtc(hi, lo)).toBe(code));
  it('reads the CAN count byte, and the legacy three-slot padding', () => {
    expect(dtcsFromMessages(0x03, parseFrames(['7E8 06 43 02 03 01 04 20']), true)).toEqual([
      { code: 'P0301', ecu: '7E8' },
      { code: 'P0420', ecu: '7E8' },
    ]);
    expect(dtcsFromMessages(0x03, parseFrames(['43 01 33 00 00 00 00']), false)).toEqual([{ code: 'P0133' }]);
    expect(dtcsFromMessages(0x03, parseFrames(['7E8 02 43 00']), true)).toEqual([]);
  });
});

describe('diagnostics against the simulated ECU', () => {
  it('reads stored, pending and permanent codes with descriptions, VIN, ECU name, voltage and the freeze frame; clears on Mode 04', async () => {
    const [host, adapter] = createLinkedStreams();
    const sim = await startSimulator({
      stream: adapter,
      drive: syntheticDrive(4),
      rowIntervalMs: 100,
      dtcs: { stored: ['P0301', 'P0420'], pending: ['P0171'], permanent: ['P0420'] },
    });
    const driver = new Elm327Driver(host);
    try {
      await initialiseAdapter(driver);
      const d = await readDiagnostics(driver, { withFreezeFrame: true });
      expect(d.codes).toEqual([
        { code: 'P0301', kind: 'stored', ecu: '7E8', description: 'Cylinder 1 Misfire Detected' },
        {
          code: 'P0420',
          kind: 'stored',
          ecu: '7E8',
          description: expect.stringMatching(/Catalyst System Efficiency Below Threshold/i),
        },
        { code: 'P0171', kind: 'pending', ecu: '7E8', description: expect.stringMatching(/System Too Lean/i) },
        { code: 'P0420', kind: 'permanent', ecu: '7E8', description: expect.stringMatching(/Catalyst/i) },
      ]);
      expect(d.vin).toBe(sim.simulator.vin);
      expect(d.ecuName).toMatch(/EngineControl/);
      expect(d.batteryVoltage).toBeGreaterThan(5);
      expect(d.freezeFrame?.dtc).toBe('P0301');
      expect(d.freezeFrame?.values['RPM']).toEqual(expect.any(Number));
      const report = dtcReport(d.codes, 1_700_000_000_000);
      expect(parseDtcReport(JSON.stringify(report)).ok).toBe(true);

      expect(await clearDtcs(driver)).toBe(true);
      const after = await readDiagnostics(driver);
      expect(after.codes).toEqual([{ code: 'P0420', kind: 'permanent', ecu: '7E8', description: expect.any(String) }]);
    } finally {
      driver.close();
      await sim.close();
    }
  });
});
