import type { CliOutput } from '../audit/cli.js';
import { IMPORT_USAGE, importCommand } from './import.js';

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
  if (command === undefined || command === 'help' || command === '--help' || command === '-h') {
    (command === undefined ? io.err : io.out)(CLUTCH_USAGE);
    return command === undefined ? 2 : 0;
  }
  if (command === 'import') return importCommand(options, env, cwd, io);
  io.err(`unknown command ${JSON.stringify(command)}\n${CLUTCH_USAGE}`);
  return 2;
}
