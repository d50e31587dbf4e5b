import type { CliOutput } from '../audit/cli.js';

/**
 * The platform CLIs' shared answer to no command or a request for help: the usage on stdout and
 * status 0 when asked for, on stderr and status 2 when the command is missing; undefined otherwise.
 */
export function answerHelp(command: string | undefined, usage: string, io: CliOutput): number | undefined {
  if (command !== undefined && command !== 'help' && command !== '--help' && command !== '-h') return undefined;
  (command === undefined ? io.err : io.out)(usage);
  return command === undefined ? 2 : 0;
}
