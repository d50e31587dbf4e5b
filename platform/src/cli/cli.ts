import type { CliOutput } from '../audit/cli.js';
import { IMPORT_USAGE, importCommand } from './import.js';
import { answerHelp } from './help.js';

export const CLUTCH_USAGE = `usage: clutch <command> [options]
  import   import an app's log into a vehicle's history
${IMPORT_USAGE.replace('usage: ', '')}`;

/** `clutch <command> [options]`; resolves to the exit status. */
export async function clutchCli(
  argv: readonly string[],
  env: NodeJS.ProcessEnv,
  cwd: string,
  io: CliOutput,
): Promise<number> {
  const [command, ...options] = argv;
  const help = answerHelp(command, CLUTCH_USAGE, io);
  if (help !== undefined) return help;
  if (command === 'import') return importCommand(options, env, cwd, io);
  io.err(`unknown command ${JSON.stringify(command)}\n${CLUTCH_USAGE}`);
  return 2;
}
