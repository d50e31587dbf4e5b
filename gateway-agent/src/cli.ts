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
  clutch-agent simulate --port <path> [--baud 38400] [--pace] [--personality default|strict] [--vehicle <obdb-repo-dir> [--year 2019]] [--vin <vin>]
                        [--csv <file> | --seed <n>] [--row-ms 500] [--latency-ms 0] [--quirks 0.01] [--dtc P0301,P0420]
  clutch-agent demo --mqtt-url <url> --tenant <t> --device <d> [--username <u> (--password-file <file> | --password <p>)]
                    [--mqtt-version 5|4] [--ca-file <pem>] [--queue-dir <dir>] [--csv <file> | --seed <n>] [--row-ms 500]
run: config keys in docs/gateway-agent.md; each may also be given as --<key> or as the environment variable
  CLUTCH_AGENT_<KEY> (passwordFile: CLUTCH_AGENT_PASSWORD_FILE); flags win over the environment, which wins
  over the file. Until the adapter answers, run keeps trying (backoff up to adapterWaitMaxMs, default 30 s).
demo: a simulated car; --mqtt-url, --tenant, --device, --username, --password, --password-file, --mqtt-version,
  --ca-file and --queue-dir may also come from CLUTCH_AGENT_MQTT_URL, _TENANT, _DEVICE, _USERNAME, _PASSWORD,
  _PASSWORD_FILE, _MQTT_VERSION, _CA_FILE, _QUEUE_DIR. Prefer a password file or the environment to --password,
  which other users of the machine can read in the process list.`;

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
