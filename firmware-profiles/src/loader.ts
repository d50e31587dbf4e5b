import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { ObdCommand, Signalset } from './types.js';

// The profiles folder sits beside both src/ and dist/, so one relative URL serves both.
const PROFILES_DIR = fileURLToPath(new URL('../profiles/', import.meta.url));

const cache = new Map<string, Signalset>();

export class SignalsetError extends Error {
  readonly code = 'SIGNALSET_INVALID';
}

/** Parses OBDb signalset JSON text and checks the parts the decoder relies on. */
export function parseSignalset(text: string, source = 'signalset'): Signalset {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (err) {
    throw new SignalsetError(`${source}: not valid JSON: ${(err as Error).message}`);
  }
  const commands = (data as { commands?: unknown }).commands;
  if (!Array.isArray(commands)) throw new SignalsetError(`${source}: missing "commands" array`);
  commands.forEach((command: ObdCommand, i) => {
    if (
      typeof command !== 'object' ||
      command === null ||
      typeof command.cmd !== 'object' ||
      !Array.isArray(command.signals)
    ) {
      throw new SignalsetError(`${source}: commands[${i}] needs "cmd" and "signals"`);
    }
    for (const signal of command.signals) {
      if (typeof signal.id !== 'string' || typeof signal.fmt?.len !== 'number' || signal.fmt.len <= 0) {
        throw new SignalsetError(
          `${source}: commands[${i}] signal ${JSON.stringify(signal.id)} needs an id and fmt.len > 0`,
        );
      }
    }
  });
  return data as Signalset;
}

/** Loads a signalset from a file path (e.g. an OBDb `signalsets/v3/default.json`). */
export function loadSignalsetFile(file: string): Signalset {
  return parseSignalset(readFileSync(file, 'utf8'), file);
}

/** Loads a bundled profile by name (file `profiles/<name>.json`), cached. */
export function loadSignalset(name: string): Signalset {
  if (!/^[A-Za-z0-9_-]+$/.test(name)) throw new SignalsetError(`invalid profile name ${JSON.stringify(name)}`);
  let set = cache.get(name);
  if (!set) {
    set = loadSignalsetFile(`${PROFILES_DIR}${name}.json`);
    cache.set(name, set);
  }
  return set;
}

/** The SAE J1979 generic profile (Mode 01 PIDs), the fallback for any vehicle. */
export function sae1979Signalset(): Signalset {
  return loadSignalset('SAEJ1979');
}

/** The command that carries a given signal id, if any. */
export function findCommandForSignal(set: Signalset, signalId: string): ObdCommand | undefined {
  return set.commands.find((c) => c.signals.some((s) => s.id === signalId));
}

/** The Mode 01 command for a PID (two hex digits), if the signalset defines it. */
export function findMode01Command(set: Signalset, pid: string): ObdCommand | undefined {
  const wanted = pid.toUpperCase();
  return set.commands.find((c) => c.cmd['01']?.toUpperCase() === wanted);
}

/** Whether a command applies to a model year (`filter`, not the debug-only `dbgfilter`). */
export function commandAppliesToYear(command: ObdCommand, year: number): boolean {
  const f = command.filter;
  if (!f) return true;
  if (f.years?.includes(year)) return true;
  if (f.from !== undefined && year >= f.from) return true;
  if (f.to !== undefined && year <= f.to) return true;
  return false;
}
