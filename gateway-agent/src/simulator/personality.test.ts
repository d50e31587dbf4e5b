// The strict-clone personality as the agent meets it on the wire (ELM327 DS behaviour, issue 18 §1).
import { afterEach, describe, expect, it } from 'vitest';
import { ElmFramer } from '../elm327/framer.js';
import type { DriveSource } from './drive.js';
import { startSimulator, type RunningSimulator } from './start.js';
import { createLinkedStreams } from './streams.js';

const idling: DriveSource = {
  name: 'idling',
  signals: ['RPM', 'VSS', 'ECT', 'MAF', 'VPWR'],
  length: 1,
  row: () => ({ RPM: 800, VSS: 0, ECT: 83, MAF: 3, VPWR: 13.9 }),
};

let sim: RunningSimulator | undefined;
afterEach(async () => {
  await sim?.close();
  sim = undefined;
});

/** Raw text between prompts, exactly as the adapter printed it (echo and all). */
async function strictClone() {
  const [host, adapter] = createLinkedStreams();
  sim = await startSimulator({ stream: adapter, drive: idling, personality: 'strict' });
  const framer = new ElmFramer();
  const replies: string[] = [];
  host.on('data', (chunk: Buffer) => replies.push(...framer.push(chunk)));
  return async (command: string) => {
    const n = replies.length;
    host.write(`${command}\r`);
    while (replies.length === n) await new Promise((r) => setTimeout(r, 1));
    return replies[n]!.split('\r').filter(Boolean);
  };
}

describe('strict clone personality', () => {
  it('echoes after ATZ until ATE0, and searches before its first answer', async () => {
    const ask = await strictClone();
    expect(await ask('ATZ')).toEqual(['ATZ', 'ELM327 v1.5']);
    expect(await ask('ATH1')).toEqual(['ATH1', 'OK']);
    expect(await ask('ATE0')).toEqual(['ATE0', 'OK']);
    expect(await ask('ATS0')).toEqual(['OK']);
    expect((await ask('010C1'))[0]).toBe('SEARCHING...');
    expect(await ask('010C1')).toEqual(['7E804410C0C80']);
  });

  it('refuses multi-PID requests: ? for several PIDs or a count digit after them, NO DATA for two', async () => {
    const ask = await strictClone();
    for (const c of ['ATE0', 'ATS0', 'ATH1', '0100']) await ask(c);
    expect(await ask('010C0D1104494A3')).toEqual(['?']);
    expect(await ask('010C0D1104494A')).toEqual(['?']);
    expect(await ask('010C0D1')).toEqual(['?']);
    expect(await ask('010C0D')).toEqual(['NO DATA']);
  });

  it('answers a single PID from both ECUs without a count digit, from the first with one', async () => {
    const ask = await strictClone();
    for (const c of ['ATE0', 'ATS0', 'ATH1', '0100']) await ask(c);
    // 0105: 83 degC = 0x7B; the transmission ECU 7EA reads the same sensor.
    expect(await ask('0105')).toEqual(['7E80341057B', '7EA0341057B']);
    expect(await ask('01051')).toEqual(['7E80341057B']);
    // MAF (0110) is the engine ECU's alone.
    expect(await ask('0110')).toEqual(['7E8044110012C']);
    // ATCRA shows one sender only; bare ATCRA shows all again.
    await ask('ATCRA7EA');
    expect(await ask('0105')).toEqual(['7EA0341057B']);
    await ask('ATCRA');
    expect(await ask('0105')).toHaveLength(2);
  });
});
