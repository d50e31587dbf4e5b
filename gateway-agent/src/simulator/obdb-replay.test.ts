import path from 'node:path';
import { loadSignalsetFile } from '@clutch/firmware-profiles';
import { describe, expect, it } from 'vitest';
import { datasetAvailable, datasetsDir } from '@clutch/firmware-profiles';
import { Elm327Driver } from '../elm327/driver.js';
import { initialiseAdapter } from '../agent/session.js';
import { decodeCommand } from '../obd/decoder.js';
import { parseFrames } from '../obd/frames.js';
import { syntheticDrive } from './synthetic-drive.js';
import { loadObdbReplay } from './obdb-replay.js';
import { startSimulator } from './start.js';
import { createLinkedStreams } from './streams.js';

const RAV4 = path.join(datasetsDir(), 'obdb-signalsets', 'Toyota-RAV4');

describe.skipIf(!datasetAvailable('obdb-signalsets'))('simulator replaying an OBDb vehicle', () => {
  it('answers a RAV4 body-ECU Mode 21 request with its recorded frames, which decode with the RAV4 signalset', async () => {
    const replay = loadObdbReplay(RAV4, 2019);
    expect(replay.modelYear).toBe(2019);
    expect(replay.commands).toBeGreaterThan(10);
    const [host, adapter] = createLinkedStreams();
    const sim = await startSimulator({ stream: adapter, drive: syntheticDrive(1), replay });
    const driver = new Elm327Driver(host);
    try {
      await initialiseAdapter(driver);
      expect((await driver.send('ATSH7C4')).ok).toBe(true);
      const reply = await driver.send('2122');
      expect(reply.ok).toBe(true);
      const set = loadSignalsetFile(path.join(RAV4, 'signalsets', 'v3', 'default.json'));
      const command = set.commands.find((c) => c.hdr === '7C4' && c.cmd['21'] === '22')!;
      const [message] = parseFrames(reply.lines);
      expect(message?.canId).toBe('7CC');
      const values = decodeCommand(command, message!);
      expect(values?.['RAV4_AAT']).toEqual(expect.any(Number));
      // Requests the car never answered in the captures stay NO DATA.
      expect(await driver.send('22FFFF')).toMatchObject({ ok: false, error: 'NO DATA' });
    } finally {
      driver.close();
      await sim.close();
    }
  });
});
