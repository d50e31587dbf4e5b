// The simulated adapter filters ISO 15765-2 extended-address replies as the ELM327 datasheet describes
// ("CAN Extended Addressing"): with ATCEA hh on, only replies whose first data byte is the tester address
// (ATTA) pass, or the byte ATCER hh set, a command that exists from firmware v2.2 on.
import path from 'node:path';
import { datasetAvailable, datasetsDir } from '@clutch/firmware-profiles';
import { afterEach, describe, expect, it } from 'vitest';
import { ElmFramer } from '../elm327/framer.js';
import { loadObdbReplay } from './obdb-replay.js';
import { startSimulator, type RunningSimulator } from './start.js';
import { createLinkedStreams } from './streams.js';
import { syntheticDrive } from './synthetic-drive.js';

const RAV4 = path.join(datasetsDir(), 'obdb-signalsets', 'Toyota-RAV4');

let sim: RunningSimulator | undefined;
afterEach(async () => {
  await sim?.close();
  sim = undefined;
});

/** Lines the adapter printed for each command (echo off). */
async function adapter(firmware?: string, lacksAt?: string[]) {
  const [host, end] = createLinkedStreams();
  sim = await startSimulator({
    stream: end,
    drive: syntheticDrive(1),
    replay: loadObdbReplay(RAV4, 2019),
    ...(firmware ? { firmware } : {}),
    ...(lacksAt ? { personality: { multiPid: 'all', maxPidsAccepted: 6, countDigit: 'any', lacksAt } } : {}),
  });
  const framer = new ElmFramer();
  const replies: string[] = [];
  host.on('data', (chunk: Buffer) => replies.push(...framer.push(chunk)));
  const ask = async (command: string) => {
    const n = replies.length;
    host.write(`${command}\r`);
    while (replies.length === n) await new Promise((r) => setTimeout(r, 1));
    return replies[n]!.split('\r').filter(Boolean);
  };
  for (const c of ['ATE0', 'ATS1', 'ATH1', '0100']) await ask(c);
  // The RAV4 tire ECU behind the 750 gateway, sub-address 2A, flow control to 750 (OBDb fcm1).
  for (const c of ['ATSH750', 'ATCRA758', 'ATCEA2A', 'ATFCSH750', 'ATFCSD300000', 'ATFCSM1']) {
    expect(await ask(c)).toEqual(['OK']);
  }
  return ask;
}

// A recorded first and consecutive frame (e.g. `758 2A 10 07 61 16 24 25 24`, `758 2A 21 24 00 ..`); the
// replay cycles through the captures, and the simulator pads the unused bytes its own way.
const RECORDED = [
  expect.stringMatching(/^758 2A 10 07 61 16( [0-9A-F]{2}){3}$/),
  expect.stringMatching(/^758 2A 21( [0-9A-F]{2}){6}$/),
];

describe.skipIf(!datasetAvailable('obdb-signalsets'))('extended-address reply filter (ELM327 DS CEA/CER)', () => {
  it('drops replies carrying 2A while the tester address is F1, and passes them with ATTA 2A', async () => {
    const ask = await adapter();
    expect(await ask('ATI')).toEqual(['ELM327 v1.5']);
    expect(await ask('2116')).toEqual(['NO DATA']);
    expect(await ask('ATTA2A')).toEqual(['OK']);
    expect(await ask('2116')).toEqual(RECORDED);
  });

  it('refuses ATCER before firmware v2.2', async () => {
    const ask = await adapter('2.1');
    expect(await ask('ATCER2A')).toEqual(['?']);
    expect(await ask('2116')).toEqual(['NO DATA']);
  });

  it('filters on the ATCER byte from v2.2 on, whatever the tester address, until ATD', async () => {
    const ask = await adapter('2.2');
    expect(await ask('ATI')).toEqual(['ELM327 v2.2']);
    expect(await ask('ATCER2A')).toEqual(['OK']);
    expect(await ask('2116')).toEqual(RECORDED);
    // The tester address no longer decides; another receive byte drops the replies again.
    expect(await ask('ATTA30')).toEqual(['OK']);
    expect((await ask('2116'))[0]).toMatch(/^758 2A 10 07 61 16/);
    expect(await ask('ATCER30')).toEqual(['OK']);
    expect(await ask('2116')).toEqual(['NO DATA']);
    // ATCEA off and on again keeps the receive byte; ATD forgets it (and everything else).
    for (const c of ['ATCER2A', 'ATCEA', 'ATCEA2A']) expect(await ask(c)).toEqual(['OK']);
    expect((await ask('2116'))[0]).toMatch(/^758 2A 10/);
    expect(await ask('ATD')).toEqual(['OK']);
    for (const c of ['ATE0', 'ATH1', '0100', 'ATSH750', 'ATCRA758', 'ATCEA2A', 'ATFCSH750', 'ATFCSD300000', 'ATFCSM1'])
      await ask(c);
    expect(await ask('2116')).toEqual(['NO DATA']);
  });

  it('a v2.2 clone that lacks ATCER answers ?', async () => {
    const ask = await adapter('2.2', ['CER']);
    expect(await ask('ATCER2A')).toEqual(['?']);
  });
});
