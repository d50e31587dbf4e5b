/**
 * Minimal `--flag value` / `--flag=value` / `--switch` parser for the broker CLI. `flags` keeps the
 * last value of each flag, `lists` every value of a repeatable one (`--device a/b --device c/d`).
 */
export function parseArgs(
  argv: readonly string[],
  switches: readonly string[],
): { positional: string[]; flags: Map<string, string>; lists: Map<string, string[]> } {
  const positional: string[] = [];
  const flags = new Map<string, string>();
  const lists = new Map<string, string[]>();
  const set = (name: string, value: string): void => {
    flags.set(name, value);
    lists.set(name, [...(lists.get(name) ?? []), value]);
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (!arg.startsWith('--')) {
      positional.push(arg);
      continue;
    }
    const eq = arg.indexOf('=');
    const name = eq > 0 ? arg.slice(2, eq) : arg.slice(2);
    if (eq > 0) set(name, arg.slice(eq + 1));
    else if (switches.includes(name)) set(name, 'true');
    else {
      const value = argv[i + 1];
      if (value === undefined || value.startsWith('--')) throw new Error(`--${name} needs a value`);
      set(name, value);
      i++;
    }
  }
  return { positional, flags, lists };
}
