// `clutch-agent read` against the simulator over a real PTY: what a technician sees, no broker needed.
import { existsSync } from 'node:fs';
import { startPtyPair } from '@clutch/test-support';
import { describe, expect, it, vi } from 'vitest';
import { syntheticDrive } from '../simulator/synthetic-drive.js';
import { startSimulator } from '../simulator/start.js';
import { readCommand } from './read.js';

describe.skipIf(!existsSync('/usr/bin/socat'))('clutch-agent read', () => {
  it('prints adapter, protocol, VIN, supported PIDs, DTCs, then readings as JSON lines', async () => {
    const pty = await startPtyPair();
    const sim = await startSimulator({
      path: pty.a,
      baudRate: 38400,
      drive: syntheticDrive(5),
      rowIntervalMs: 100,
      dtcs: { stored: ['P0301'] },
    });
    const lines: string[] = [];
    const log = vi.spyOn(console, 'log').mockImplementation((line: string) => void lines.push(line));
    const err = vi.spyOn(console, 'error').mockImplementation(() => {});
    try {
      expect(await readCommand(['--port', pty.b, '--duration', '1'])).toBe(0);
    } finally {
      log.mockRestore();
      err.mockRestore();
      await sim.close();
      await pty.close();
    }
    const [summary, ...readings] = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(summary).toMatchObject({
      adapter: 'ELM327 v1.5',
      protocol: 'A6',
      isCan: true,
      vin: sim.simulator.vin,
      ecuName: expect.stringMatching(/EngineControl/),
      supportedPids: expect.arrayContaining(['0C', '0D']),
      dtcs: [{ code: 'P0301', kind: 'stored', ecu: '7E8', description: 'Cylinder 1 Misfire Detected' }],
      freezeFrame: { dtc: 'P0301' },
      // Simulator VIN JTD… (Toyota, no model-year code): the supported PIDs pick the closest Toyota profile.
      profile: { name: 'Toyota-Corolla', reason: expect.stringMatching(/WMI JTD/) },
    });
    expect(readings.length).toBeGreaterThan(5);
    expect(readings.map((r) => r['signal'])).toContain('engine.rpm');
  });
});
