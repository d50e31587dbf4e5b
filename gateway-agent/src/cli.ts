#!/usr/bin/env node
// clutch-agent: one binary for the car (run, read), the bench (simulate, demo) and profile work (decode-tests).
import { runCommand } from './commands/run.js';
import { readCommand } from './commands/read.js';
import { simulateCommand, demoCommand } from './commands/simulate.js';
import { decodeTestsCommand } from './commands/decode-tests.js';
import { agentError } from './errors.js';

export const USAGE = `usage:
  clutch-agent run --config <file.json> [--<key> <value> ...] [--trace-samples]
  clutch-agent read --port <path> [--baud 38400] [--duration 10]
  clutch-agent decode-tests <obdb-repo-dir> [--fallback <make-repo-dir>] [--verbose]
  clutch-agent simulate --port <path> [--baud 38400] [--pace] [--vehicle <obdb-repo-dir> [--year 2019]] [--vin <vin>]
                        [--csv <file> | --seed <n>] [--row-ms 500] [--latency-ms 0] [--quirks 0.01] [--dtc P0301,P0420]
  clutch-agent demo --mqtt-url <url> --tenant <t> --device <d> [--csv <file> | --seed <n>] [--row-ms 500]
Config keys: see docs/gateway-agent.md (every key may also be given as --<key>).`;

const commands: Record<string, (args: string[]) => Promise<number | 'running'>> = {
  run: runCommand,
  read: readCommand,
  simulate: simulateCommand,
  demo: demoCommand,
  'decode-tests': decodeTestsCommand,
};

async function main(): Promise<void> {
  const [name, ...rest] = process.argv.slice(2);
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    console.log(USAGE);
    return;
  }
  const command = commands[name];
  if (!command) throw agentError('USAGE', `unknown command ${name}\n${USAGE}`);
  const result = await command(rest);
  if (result !== 'running') process.exitCode = result;
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
