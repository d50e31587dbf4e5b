// Vehicle-specific signals (OBDb Mode 21/22) of every car the simulated fleet drives, polled through
// the adapter setup each ECU needs: 11-bit and 29-bit request ids (ATTP, ATCP, ATSH, ATCRA), ISO 15765-2
// extended addressing (ATCEA, ATTA) and forced flow control (ATFCSH/ATFCSD/ATFCSM1).
import { datasetAvailable, selectProfile } from '@clutch/firmware-profiles';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { PERSONALITIES } from '../simulator/elm327-simulator.js';
import { startSimulator, type StartSimulatorOptions } from '../simulator/start.js';
import { createLinkedStreams } from '../simulator/streams.js';
import { syntheticDrive } from '../simulator/synthetic-drive.js';
import { simulatedVehicle } from '../simulator/vehicles.js';
import { AdapterLink } from './adapter-link.js';
import { readDtcs } from '../diagnostics/diagnostics.js';
import { parseCommand } from '../downlink/command-schema.js';
import { startPoller } from './poller.js';
import { vehicleCommands } from './poll-plan.js';
import { protocolNumber, type Addressing } from '../obd/addressing.js';
import { requestKey } from '../simulator/obdb-replay.js';

/** The CAN id a setup sends with: the header on 11-bit, priority + header on 29-bit. */
const requestIdOf = (c: { addressing: Addressing }) =>
  c.addressing.header.length === 6 ? `${c.addressing.priority}${c.addressing.header}` : c.addressing.header;

const silent = pino({ level: 'silent' });

/** Polls one simulated fleet car until each of its vehicle commands that the captures answer was read. */
async function pollCar(i: number, extra: Partial<StartSimulatorOptions> = {}) {
  const car = simulatedVehicle(i);
  const [host, adapter] = createLinkedStreams();
  const commands: string[] = [];
  const sim = await startSimulator({
    stream: adapter,
    drive: syntheticDrive(i),
    vin: car.vin,
    rowIntervalMs: 50,
    ...extra,
    ...(car.replay ? { replay: car.replay } : {}),
    onCommand: (c) => commands.push(c),
  });
  const link = new AdapterLink({ stream: host }, silent);
  const info = await link.open();
  const keys = new Set<string>();
  const poller = startPoller({ link, logger: silent, pollScale: 0.02, emit: (key) => keys.add(key) });
  return {
    car,
    info,
    keys,
    commands,
    poller,
    async stop() {
      await poller.stop();
      await link.close();
      await sim.close();
    },
  };
}

describe.skipIf(!datasetAvailable('obdb-signalsets'))('vehicle-specific signals of the simulated fleet', () => {
  const fleet = Array.from({ length: 8 }, (_, k) => k + 1).map((i) => [i, simulatedVehicle(i)] as const);
  const silverado = fleet.find(([, c]) => c.model === 'Silverado 1500')!;

  it('reaches a 29-bit ECU: twin protocol, priority, header, receive filter and flow control, then back to 11-bit for Mode 01', async () => {
    const run = await pollCar(silverado[0]);
    try {
      expect(run.info.profile.name).toBe('Chevrolet-Silverado-1500');
      await expect
        .poll(() => [...run.keys].filter((k) => k.startsWith('vehicle.silverado1500_')).length, { timeout: 10_000 })
        .toBeGreaterThan(3);
      const at = run.commands.indexOf('ATTP7');
      expect(at).toBeGreaterThan(0);
      expect(run.commands.slice(at, at + 7)).toEqual([
        'ATTP7',
        'ATCP14',
        expect.stringMatching(/^ATSHDA(11|18|28)F1$/),
        expect.stringMatching(/^ATCRA142AF1(11|18|28)$/),
        expect.stringMatching(/^ATFCSH14DA(11|18|28)F1$/),
        'ATFCSD300000',
        'ATFCSM1',
      ]);
      // Mode 01 goes out on the 11-bit bus default again.
      const back = run.commands.indexOf('ATTP6', at);
      expect(back).toBeGreaterThan(at);
      expect(run.commands.slice(back, back + 4)).toEqual(expect.arrayContaining(['ATSH7DF', 'ATCRA', 'ATFCSM0']));
      expect(run.keys.has('engine.rpm') || run.keys.has('vehicle.speed')).toBe(true);
    } finally {
      await run.stop();
    }
  });

  it('on a car whose OBD bus is 29-bit: Mode 01 on 18DB33F1, 11-bit ECUs on the twin protocol', async () => {
    const camry = fleet.find(([, c]) => c.model === 'Camry')!;
    for (const [i, to11] of [
      [silverado[0], false],
      [camry[0], true],
    ] as const) {
      const run = await pollCar(i, { obdIds: 29 });
      try {
        expect(run.info.protocol).toBe('A7');
        const vehicleReads = () => [...run.poller.readsByItem().keys()].filter((k) => k.includes('@')).length;
        await expect
          .poll(() => [run.keys.has('engine.rpm'), vehicleReads() > 3], { timeout: 10_000 })
          .toEqual([true, true]);
        if (to11) {
          // To an 11-bit ECU on protocol 6, and back to the 29-bit functional default for Mode 01.
          const there = run.commands.indexOf('ATTP6');
          expect(there).toBeGreaterThan(0);
          const back = run.commands.indexOf('ATTP7', there);
          expect(run.commands.slice(back, back + 2)).toEqual(['ATTP7', 'ATSHDB33F1']);
        } else {
          // A 29-bit ECU on a 29-bit bus: its priority for it, the default one restored for Mode 01.
          expect(run.commands).toContain('ATCP14');
          const back = run.commands.indexOf('ATCP18');
          expect(run.commands.slice(back, back + 2)).toEqual(['ATCP18', 'ATSHDB33F1']);
        }
      } finally {
        await run.stop();
      }
    }
  });

  it('on an adapter lacking ATCEA, ATTA and ATTP: Mode 01 and the reachable ECUs go on, SP stands in for TP', async () => {
    const camry = fleet.find(([, c]) => c.model === 'Camry')!;
    for (const [i, model] of [camry, silverado]) {
      const run = await pollCar(i, {
        personality: { ...PERSONALITIES.default, lacksAt: ['CEA', 'TA', 'TP'] },
      });
      try {
        const vehicleReads = () => [...run.poller.readsByItem().keys()].filter((k) => k.includes('@')).length;
        await expect.poll(vehicleReads, { timeout: 10_000 }).toBeGreaterThan(3);
        const rpm = run.poller.readsByItem().get('0C') ?? 0;
        // Mode 01 keeps its rate after the refused switches (the default needs no ATCEA/ATTA to restore).
        await expect.poll(() => run.poller.readsByItem().get('0C') ?? 0, { timeout: 5000 }).toBeGreaterThan(rpm + 5);
        if (model.model === 'Camry') {
          expect(run.commands).toContain('ATCEA2A');
          expect(run.poller.readsByItem().get('2116@750') ?? 0).toBe(0);
          // Refused once, never sent again: the extended-addressing command fails before its switch.
          expect(run.commands.filter((c) => c === 'ATCEA2A').length).toBe(1);
          expect(run.commands).not.toContain('ATCEA');
        } else {
          expect(run.commands).toContain('ATSP7');
          expect(run.poller.readsByItem().get('22005C@DA11') ?? 0).toBeGreaterThan(0);
        }
      } finally {
        await run.stop();
      }
    }
  });

  it('reads DTCs from the OBD ECU between vehicle commands, never from the ECU they addressed last', async () => {
    const run = await pollCar(silverado[0], { dtcs: { stored: ['P0301'] } });
    try {
      for (let k = 0; k < 6; k++) {
        // Wait until the adapter is set to a vehicle ECU again, then ask.
        const switches = run.poller.headerSwitches;
        await expect.poll(() => run.poller.headerSwitches, { timeout: 5000 }).toBeGreaterThan(switches);
        const codes = await run.poller.exclusive((driver) => readDtcs(driver, true));
        expect(codes.map((c) => `${c.kind} ${c.code}`)).toEqual(['stored P0301']);
      }
    } finally {
      await run.stop();
    }
    await expect(run.poller.exclusive(async () => 1)).rejects.toMatchObject({ code: 'ADAPTER_UNAVAILABLE' });
  });

  it('set_poll_plan sets the rate of, and turns off, vehicle-specific items (by plan key or signal key)', async () => {
    const run = await pollCar(silverado[0]);
    try {
      await expect.poll(() => run.poller.readsByItem().get('22005C@DA11') ?? 0, { timeout: 10_000 }).toBeGreaterThan(0);
      const parsed = parseCommand(
        JSON.stringify({
          v: 1,
          id: 'plan-vs',
          type: 'set_poll_plan',
          params: { periodsMs: { 'vehicle.silverado1500_eot': 0, '22000D@7E0': 60_000 } },
          expiresAt: Date.now() + 60_000,
        }),
      );
      if (!parsed.ok || parsed.value.type !== 'set_poll_plan') throw new Error(JSON.stringify(parsed));
      run.poller.setPeriods(parsed.value.periodsMs);
      expect(run.poller.plan().find((p) => p.pid === '22005C@DA11')).toBeUndefined();
      expect(run.poller.plan().find((p) => p.pid === '22000D@7E0')?.periodMs).toBe(60_000);
      const mark = run.commands.length;
      const since = () => run.commands.slice(mark);
      // The rest of the 29-bit ECU's commands keep coming, many rounds of them...
      await expect
        .poll(() => since().filter((c) => c === '220078' || c === '22009D').length, { timeout: 10_000 })
        .toBeGreaterThan(10);
      // ...while the one turned off is never asked again and the slowed one once at most.
      expect(since().filter((c) => c === '22005C')).toEqual([]);
      expect(since().filter((c) => c === '22000D').length).toBeLessThanOrEqual(1);
    } finally {
      await run.stop();
    }
  });

  it('every fleet car publishes vehicle signals for every command its captures answer (none skipped as unreachable)', async () => {
    const polled: string[] = [];
    for (const [i, car] of fleet) {
      if (!car.replay) continue;
      const run = await pollCar(i);
      try {
        const choice = selectProfile(run.info.vin, run.info.supportedPids);
        const profile = {
          signalset: choice.signalset,
          ...(choice.modelYear ? { modelYear: choice.modelYear } : {}),
          protocol: protocolNumber(run.info.protocol),
        };
        const { commands, skipped } = vehicleCommands(profile);
        expect(
          skipped.filter((s) => s.reason !== 'no catalogue signal'),
          car.model,
        ).toEqual([]);
        // The commands whose ECU answered in the captures, from the id the profile names (and, with
        // extended addressing, with the address byte the adapter's tester address lets through).
        const answered = commands.filter((c) => {
          const recorded = car.replay!.answer(c.request, requestKey(requestIdOf(c), c.addressing.extended));
          if (!recorded || (c.receiveId !== '' && recorded.canId !== c.receiveId)) return false;
          return (
            recorded.extendedAddress === undefined || recorded.extendedAddress === parseInt(c.addressing.tester, 16)
          );
        });
        if (answered.length === 0) continue;
        const read = () => answered.filter((c) => (run.poller.readsByItem().get(`${c.request}@${c.header}`) ?? 0) > 0);
        await expect.poll(() => read().length, { timeout: 15_000 }).toBe(answered.length);
        polled.push(`${car.model}: ${answered.length}`);
      } finally {
        await run.stop();
      }
    }
    // 11-bit, 29-bit (Silverado, Civic) and extended-addressing (Camry, RAV4) ECUs among them.
    expect(polled.length).toBeGreaterThanOrEqual(4);
  }, 60_000);
});
