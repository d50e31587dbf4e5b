// The poller against adapters that refuse multi-PID requests (issue 18 §1), over a real PTY pair (socat):
// it learns the request forms the adapter and ECUs accept, merges two-ECU answers, re-probes, and backs
// off a failing PID. No timing assertions: counts over requests the simulated adapter saw.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { signalByKey, signalByObdbId } from '@clutch/contracts';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { listCarObdDrives, loadCarObdDrive, type DriveSource } from '../simulator/drive.js';
import {
  PERSONALITIES,
  type AdapterPersonality,
  type PersonalityName,
  type SimulatorQuirks,
} from '../simulator/elm327-simulator.js';
import { startSimulator, type StartSimulatorOptions } from '../simulator/start.js';
import { simulatedVehicle } from '../simulator/vehicles.js';
import { syntheticDrive } from '../simulator/synthetic-drive.js';
import { AdapterLink } from './adapter-link.js';
import { startPoller, type Poller, type PollerOptions } from './poller.js';

const SOCAT = '/usr/bin/socat';
const silent = pino({ level: 'silent' });
const csv = listCarObdDrives().find((p) => p.endsWith('drive1.csv'));
const drive: DriveSource = csv ? loadCarObdDrive(csv) : syntheticDrive(3);

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function waitFor(check: () => boolean, what: string, timeoutMs = 30_000) {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** A Mode 01 request naming several PIDs ('010C0D', '010C0D1104494A3'). */
const isMulti = (command: string) => /^01([0-9A-F]{2}){2,}[0-9A-F]?$/.test(command);
const isMode01 = (command: string) => /^01[0-9A-F]{2,}$/.test(command);

interface Rig {
  poller: Poller;
  /** Every command the simulated adapter received, in order. */
  commands: string[];
  /** Every value the poller emitted. */
  emitted: { key: string; value: number }[];
}

async function rig(
  personality: PersonalityName | AdapterPersonality,
  extra: Partial<PollerOptions> = {},
  quirks?: SimulatorQuirks,
  car: Partial<StartSimulatorOptions> = {},
): Promise<Rig> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'clutch-cap-'));
  const socat: ChildProcess = spawn(
    SOCAT,
    ['-d', '-d', `pty,raw,echo=0,link=${dir}/a`, `pty,raw,echo=0,link=${dir}/b`],
    { stdio: 'ignore' },
  );
  cleanups.push(() => {
    socat.kill();
    rmSync(dir, { recursive: true, force: true });
  });
  await waitFor(() => existsSync(`${dir}/a`) && existsSync(`${dir}/b`), 'socat PTY links');
  const commands: string[] = [];
  const sim = await startSimulator({
    path: `${dir}/a`,
    baudRate: 115200,
    drive,
    rowIntervalMs: 100,
    startRow: 100,
    personality,
    onCommand: (c) => commands.push(c),
    ...(quirks ? { quirks } : {}),
    ...car,
  });
  cleanups.push(() => sim.close());
  const link = new AdapterLink({ path: `${dir}/b`, baudRate: 115200 }, silent);
  await link.open();
  cleanups.push(() => link.close());
  const emitted: { key: string; value: number }[] = [];
  const poller = startPoller({
    link,
    logger: silent,
    pollScale: 0.01,
    emit: (key, value) => emitted.push({ key, value }),
    ...extra,
  });
  cleanups.push(() => poller.stop());
  return { poller, commands, emitted };
}

const mode01Items = (poller: Poller) => poller.plan().filter((p) => p.pid !== 'ATRV' && !p.vehicle);

describe.skipIf(!existsSync(SOCAT))('poller against a strict clone (no multi-PID, two ECUs)', () => {
  it('reads every supported PID after demoting multi-PID requests once, and sends none after that', async () => {
    const { poller, commands } = await rig('strict');
    // The carOBD drive 1 car reports 27 catalogue PIDs as supported (issue 18: a strict clone read 2 of them).
    const expected = csv ? 27 : mode01Items(poller).length;
    expect(mode01Items(poller)).toHaveLength(expected);
    await waitFor(
      () => mode01Items(poller).every((p) => (poller.readsByItem().get(p.pid) ?? 0) >= 3),
      'three reads of every supported PID',
    );
    expect(poller.demotions).toBeGreaterThanOrEqual(1);
    const mode01 = commands.filter(isMode01).filter((c) => !/^01[02468ACE]0$/.test(c)); // minus init bitmaps
    const lastMulti = mode01.findLastIndex(isMulti);
    // Two strikes for the count digit, two for the multi-PID form itself, then single PIDs only.
    expect(lastMulti).toBeLessThan(4);
    const after = mode01.length;
    await waitFor(() => commands.filter(isMode01).length > after + 200, '200 more Mode 01 requests');
    expect(commands.filter(isMode01).slice(-200).filter(isMulti)).toEqual([]);
    // The clone accepts the count digit after a single PID: every single request carries it.
    expect(
      commands
        .filter(isMode01)
        .slice(-200)
        .every((c) => c.length === 5),
    ).toBe(true);
  });

  it('drops the count digit the adapter refuses, and reads a PID two ECUs answer once per request', async () => {
    const { poller, commands, emitted } = await rig({ ...PERSONALITIES.strict, countDigit: 'never' });
    await waitFor(() => (poller.readsByItem().get('05') ?? 0) >= 10, 'ten coolant temperature reads');
    // 7E8 and 7EA both answer 0105 (no count digit: the adapter waits for both); one reading per request.
    expect(emitted.filter((e) => e.key === 'engine.coolant_temp').length).toBe(poller.readsByItem().get('05'));
    expect(poller.coalesced).toBe(0);
    expect(
      commands
        .filter(isMode01)
        .slice(-50)
        .every((c) => c.length === 4),
    ).toBe(true);
  });

  it('re-probes multi-PID requests after the demotion expires, and demotes again', async () => {
    const { poller, commands } = await rig('strict', { reprobeMs: 300 });
    await waitFor(() => poller.reprobes >= 1 && poller.demotions >= 3, 'a re-probe and a second demotion');
    // The first round of probes was four multi-PID requests; the re-probe sent more.
    expect(commands.filter(isMulti).length).toBeGreaterThan(4);
    // Between probes the PIDs are read one by one as before.
    await waitFor(
      () => mode01Items(poller).every((p) => (poller.readsByItem().get(p.pid) ?? 0) >= 1),
      'every PID read once',
    );
  });

  it('demotes an ECU that answers NO DATA to two PIDs at once, even when the adapter takes the request', async () => {
    const ecuOnly: AdapterPersonality = { multiPid: 'none', maxPidsAccepted: 6, countDigit: 'any' };
    const { poller, commands } = await rig(ecuOnly);
    await waitFor(() => mode01Items(poller).every((p) => (poller.readsByItem().get(p.pid) ?? 0) >= 3), 'reads');
    expect(poller.demotions).toBe(1); // ECU 7E8 multi-PID; the count digit and the adapter were never at fault
    const n = commands.length;
    await waitFor(() => commands.length > n + 100, '100 more requests');
    expect(commands.slice(n).filter(isMulti)).toEqual([]);
  });

  it('an ECU answering only the first PID of a request (a short answer) is demoted too', async () => {
    const firstOnly: AdapterPersonality = { multiPid: 'first-only', maxPidsAccepted: 6, countDigit: 'any' };
    const { poller, commands } = await rig(firstOnly);
    await waitFor(() => mode01Items(poller).every((p) => (poller.readsByItem().get(p.pid) ?? 0) >= 3), 'reads');
    expect(poller.demotions).toBe(1);
    const n = commands.length;
    await waitFor(() => commands.length > n + 100, '100 more requests');
    expect(commands.slice(n).filter(isMulti)).toEqual([]);
  });
});

describe.skipIf(!existsSync(SOCAT))('poller against the default adapter', () => {
  it('keeps multi-PID requests in use, and backs a PID that never answers off while the others keep their rate', async () => {
    const { poller, commands } = await rig(
      'default',
      { backoff: { baseMs: 2000, capMs: 60_000 } },
      { silentPids: ['0F'] },
    );
    const others = () => mode01Items(poller).filter((p) => p.pid !== '0F');
    await waitFor(() => others().every((p) => (poller.readsByItem().get(p.pid) ?? 0) >= 5), 'five reads of the others');
    const window = commands.filter(isMode01).filter((c) => !/^01[02468ACE]0$/.test(c));
    expect(poller.demotions).toBe(0);
    // Nearly every Mode 01 request names several PIDs (the silent PID's lone retries aside).
    expect(window.filter(isMulti).length).toBeGreaterThan(window.length * 0.8);
    // 0F: a failed multi, one lone confirmation, then backed off >= 2 s: a handful of attempts at most,
    // while each other PID was read five times or more.
    const asked = (pid: string) =>
      window.filter((c) => (c.slice(2).match(/../g) ?? ([] as string[])).includes(pid)).length;
    expect(asked('0F')).toBeLessThanOrEqual(4);
    expect(poller.readsByItem().get('0F')).toBeUndefined();
    expect(poller.plan().find((p) => p.pid === '0F')!.failures).toBeGreaterThanOrEqual(1);
  });
});

// The fleet's 5th car is a 2022 Toyota Camry whose OBDb captures the simulator replays (Modes 21/22).
const camry = simulatedVehicle(5);

describe.skipIf(!existsSync(SOCAT) || !camry.replay || !csv)('poller on a profile vehicle (Mode 21/22)', () => {
  it.each(['default', 'strict'] as const)(
    '%s adapter: publishes the Camry signals under their contracts keys, switching headers per group',
    async (personality) => {
      const { poller, commands, emitted } = await rig(personality, {}, undefined, {
        vin: camry.vin,
        ...(camry.replay ? { replay: camry.replay } : {}),
      });
      const vehicleItems = () => poller.plan().filter((p) => p.vehicle);
      expect(vehicleItems().length).toBeGreaterThan(50);
      await waitFor(
        () => vehicleItems().every((p) => (poller.readsByItem().get(p.pid) ?? 0) >= 1 || p.failures >= 1),
        'every vehicle command read or failed once',
      );
      const keys = new Set(emitted.map((e) => e.key).filter((k) => k.startsWith('vehicle.camry_')));
      // 22 1002 on 700 (engine ECU, replies from 708): the 12 V system voltage.
      expect(keys).toContain(signalByObdbId('CAMRY_12V_V')!.key);
      expect(keys.size).toBeGreaterThan(40);
      for (const key of keys) expect(signalByKey(key)).toBeDefined();
      for (const e of emitted.filter((x) => keys.has(x.key))) {
        const def = signalByKey(e.key)!;
        expect(e.value).toBeGreaterThanOrEqual(def.min);
        expect(e.value).toBeLessThanOrEqual(def.max);
      }
      // Each vehicle request went out under its own header and receive filter, set only when it changed.
      const header = commands.findLast((c) => c.startsWith('ATSH'));
      expect(commands.filter((c) => c === '221002').length).toBeGreaterThan(0);
      expect(commands[commands.indexOf('221002') - 2]).toBe('ATSH700');
      expect(commands[commands.indexOf('221002') - 1]).toBe('ATCRA708');
      expect(header).toBeDefined();
      const vehicleRequests = commands.filter((c) => /^2[12][0-9A-F]+$/.test(c)).length;
      expect(poller.headerSwitches).toBeLessThan(vehicleRequests);
      // Mode 01 still runs under the functional header with no filter.
      expect(mode01Items(poller).every((p) => (poller.readsByItem().get(p.pid) ?? 0) >= 1)).toBe(true);
    },
  );
});
