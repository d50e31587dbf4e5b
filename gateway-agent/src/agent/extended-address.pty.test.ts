// OBDb commands with ISO 15765-2 extended addressing over a real PTY pair (socat): the RAV4's 2116@750
// names `eax 2A` but no `tst`, and its ECU answers with 2A before the PCI. A genuine ELM327 passes such
// replies only when the tester address (ATTA) or, from v2.2, the extended receive address (ATCER) is 2A
// (ELM327 DS "CAN Extended Addressing"); the simulated adapter filters the same way.
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { signalByObdbId } from '@clutch/contracts';
import { datasetAvailable, datasetsDir, loadSignalsetFile } from '@clutch/firmware-profiles';
import { startPtyPair } from '@clutch/test-support';
import { pino } from 'pino';
import { parse as parseYaml } from 'yaml';
import { afterEach, describe, expect, it } from 'vitest';
import {
  addressingCommands,
  busDefault,
  commandAddressing,
  protocolNumber,
  supportsExtendedReceive,
} from '../obd/addressing.js';
import { decodeCommand } from '../obd/decoder.js';
import { parseFrames } from '../obd/frames.js';
import { listCarObdDrives, loadCarObdDrive, type DriveSource } from '../simulator/drive.js';
import { loadObdbReplay } from '../simulator/obdb-replay.js';
import { PERSONALITIES } from '../simulator/elm327-simulator.js';
import { startSimulator, type StartSimulatorOptions } from '../simulator/start.js';
import { syntheticDrive } from '../simulator/synthetic-drive.js';
import { simulatedVehicle } from '../simulator/vehicles.js';
import { AdapterLink } from './adapter-link.js';
import { startPoller } from './poller.js';

const SOCAT = '/usr/bin/socat';
const silent = pino({ level: 'silent' });
const RAV4 = path.join(datasetsDir(), 'obdb-signalsets', 'Toyota-RAV4');
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

/** A simulated adapter on one end of a socat PTY pair and the agent's link, opened, on the other. */
async function ptyRig(sim: Partial<StartSimulatorOptions>): Promise<{ link: AdapterLink; commands: string[] }> {
  const pty = await startPtyPair();
  cleanups.push(() => pty.close());
  const commands: string[] = [];
  const running = await startSimulator({
    path: pty.a,
    baudRate: 115200,
    drive,
    rowIntervalMs: 100,
    startRow: 100,
    onCommand: (c) => commands.push(c),
    ...sim,
  });
  cleanups.push(() => running.close());
  const link = new AdapterLink({ path: pty.b, baudRate: 115200 }, silent);
  await link.open();
  cleanups.push(() => link.close());
  return { link, commands };
}

/** The expected values of the RAV4 2019 captures of 2116@750 (OBDb test cases). */
function recordedValues(): Record<string, number>[] {
  const file = path.join(RAV4, 'tests', 'test_cases', '2019', 'commands', '750.758.2116|e=2A,fc=1.yaml');
  const doc = parseYaml(readFileSync(file, 'utf8')) as { test_cases: { expected_values: Record<string, number> }[] };
  return doc.test_cases.map((t) => t.expected_values);
}

const rav4 = simulatedVehicle(7);

describe.skipIf(!existsSync(SOCAT) || !datasetAvailable('obdb-signalsets'))(
  'RAV4 2116@750 (eax 2A, no tst) over a serial link',
  () => {
    it.each([
      ['1.5', 'ATTA2A'],
      ['2.2', 'ATCER2A'],
    ])('ELM327 v%s: the switch sets %s and the recorded reply decodes', async (firmware, filter) => {
      const { link, commands } = await ptyRig({ firmware, replay: loadObdbReplay(RAV4, 2019) });
      const set = loadSignalsetFile(path.join(RAV4, 'signalsets', 'v3', 'default.json'));
      const command = set.commands.find((c) => c.hdr === '750' && c.cmd['21'] === '16' && !c.tst)!;
      const protocol = protocolNumber(link.info?.protocol);
      const target = commandAddressing(command, protocol);
      if (!target.ok) throw new Error(target.reason);
      const support = { extendedReceive: supportsExtendedReceive(link.info?.banner) };
      const { commands: setup } = addressingCommands(busDefault(protocol), target.addressing, support);
      expect(setup).toContain(filter);
      for (const at of setup) expect((await link.driver!.send(at)).ok).toBe(true);
      const reply = await link.driver!.send('2116');
      expect(reply.ok).toBe(true);
      const [message] = parseFrames(reply.lines, '11bit', { extendedAddressing: true });
      expect(message?.canId).toBe('758');
      expect(recordedValues()).toContainEqual(decodeCommand(command, message!));
      // The tester address stays F1 where ATCER carries the reply byte.
      expect(commands.includes('ATTA2A')).toBe(filter === 'ATTA2A');
    });

    // Whichever filter the poller picks for an adapter (ATCER where it has one, else ATTA), the replies pass.
    it.skipIf(!rav4.replay || !csv).each([
      ['ELM327 v1.5', {}],
      ['ELM327 v2.2', { firmware: '2.2' }],
      [
        'ELM327 v2.2 clone without ATCER',
        { firmware: '2.2', personality: { ...PERSONALITIES.default, lacksAt: ['CER'] } },
      ],
    ] as const)('%s: the poller publishes the tire temperatures from 2116@750', async (_name, adapter) => {
      const { link, commands } = await ptyRig({
        vin: rav4.vin,
        ...(rav4.replay ? { replay: rav4.replay } : {}),
        ...adapter,
      });
      expect(link.info?.profile.name).toBe('Toyota-RAV4');
      const emitted: { key: string; value: number }[] = [];
      const poller = startPoller({
        link,
        logger: silent,
        pollScale: 0.01,
        emit: (key, value) => emitted.push({ key, value }),
      });
      cleanups.push(() => poller.stop());
      const frontLeft = signalByObdbId('RAV4_TT_1')!;
      await waitFor(() => emitted.some((e) => e.key === frontLeft.key), 'a front left tire temperature', 15_000);
      const value = emitted.find((e) => e.key === frontLeft.key)!.value;
      expect(recordedValues().map((v) => v['RAV4_TT_1'])).toContain(value);
      // The first 2116 went out with extended address 2A and a reply filter of 2A: the last ATCER byte
      // sent before it, else the last ATTA one (ELM327 DS).
      const before = commands.slice(0, commands.indexOf('2116'));
      const last = (prefix: string) => before.findLast((c) => c.startsWith(prefix))?.slice(prefix.length);
      expect(last('ATCEA')).toBe('2A');
      expect(last('ATCER') ?? last('ATTA')).toBe('2A');
    });
  },
);
