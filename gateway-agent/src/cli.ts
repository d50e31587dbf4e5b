#!/usr/bin/env node
// clutch-agent: run the agent against a serial adapter, run the simulator on a serial port, or both in-process.
import { parseArgs } from 'node:util';
import { pino } from 'pino';
import { startAgent } from './agent/agent.js';
import { listCarObdDrives, loadCarObdDrive, syntheticDrive, type DriveSource } from './simulator/drive.js';
import { startSimulator } from './simulator/start.js';
import { createLinkedStreams } from './simulator/streams.js';

const USAGE = `usage:
  clutch-agent run --port <path> [--baud 38400] --mqtt <url> --tenant <t> --device <d> [--username u --password p]
  clutch-agent simulate --port <path> [--baud 38400] [--csv <file> | --seed <n>] [--row-ms 500]
  clutch-agent demo --mqtt <url> --tenant <t> --device <d> [--csv <file> | --seed <n>] [--row-ms 500]`;

function drive(csv: string | undefined, seed: string | undefined): DriveSource {
  if (csv) return loadCarObdDrive(csv);
  if (seed === undefined) {
    // Without ../shared/datasets the synthetic drive keeps `npm start` working.
    const first = listCarObdDrives()[0];
    if (first) return loadCarObdDrive(first);
  }
  return syntheticDrive(Number(seed ?? 1));
}

async function main(): Promise<void> {
  const { positionals, values } = parseArgs({
    allowPositionals: true,
    options: {
      port: { type: 'string' }, baud: { type: 'string', default: '38400' }, mqtt: { type: 'string' },
      tenant: { type: 'string' }, device: { type: 'string' }, username: { type: 'string' }, password: { type: 'string' },
      csv: { type: 'string' }, seed: { type: 'string' }, 'row-ms': { type: 'string', default: '500' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  const log = pino({ name: 'clutch-agent' });
  const command = positionals[0];
  const need = (name: keyof typeof values): string => {
    const v = values[name];
    if (typeof v !== 'string') throw new Error(`--${name} is required\n${USAGE}`);
    return v;
  };
  const closers: (() => Promise<void>)[] = [];
  if (values.help || command === undefined) {
    console.log(USAGE);
    return;
  }
  const baudRate = Number(values.baud);
  const rowIntervalMs = Number(values['row-ms']);
  if (command === 'simulate') {
    const sim = await startSimulator({ path: need('port'), baudRate, drive: drive(values.csv, values.seed), rowIntervalMs });
    closers.push(() => sim.close());
    log.info({ port: values.port }, 'simulator listening');
  } else if (command === 'run' || command === 'demo') {
    let transport: { stream: import('node:stream').Duplex } | { path: string; baudRate: number };
    if (command === 'demo') {
      const [host, adapter] = createLinkedStreams();
      const sim = await startSimulator({ stream: adapter, drive: drive(values.csv, values.seed), rowIntervalMs });
      closers.push(() => sim.close());
      transport = { stream: host };
    } else {
      transport = { path: need('port'), baudRate };
    }
    const agent = await startAgent({
      transport, mqttUrl: need('mqtt'), tenant: need('tenant'), device: need('device'),
      username: values.username, password: values.password, logger: log,
    });
    closers.unshift(() => agent.stop());
    log.info({ vin: agent.vin }, 'agent polling');
    const timer = setInterval(() => log.info(agent.stats(), 'stats'), 10_000);
    closers.push(async () => clearInterval(timer));
  } else {
    throw new Error(`unknown command ${command}\n${USAGE}`);
  }
  const shutdown = async () => {
    for (const close of closers) await close();
    process.exit(0);
  };
  process.once('SIGINT', () => void shutdown());
  process.once('SIGTERM', () => void shutdown());
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
