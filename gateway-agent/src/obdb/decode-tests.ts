// Runs an OBDb vehicle repository's test cases (tests/test_cases/<year>/commands/*.yaml: raw ECU
// responses with expected values) through our frame parser and decoder. Rules follow OBDb's own
// harness as documented in ../shared/datasets/obdb-signalsets/SOURCE.md.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import {
  commandAppliesToYear,
  loadSignalsetFile,
  sae1979Signalset,
  type ObdCommand,
  type Signalset,
} from '@clutch/firmware-profiles';
import { decodeCommand, type SignalValue } from '../obd/decoder.js';
import { parseFrames, type ObdMessage } from '../obd/frames.js';

export interface CommandId {
  readonly hdr: string;
  readonly rax?: string;
  readonly service: string;
  readonly pid: string;
  /** Options after '|': e (extended address), ta (tester address), fc (flow control), c (priority), f (year filter), t (timeout), din. */
  readonly options: Readonly<Record<string, string>>;
}

/** `7C4.7CC.2121|e=2A,fc=1` -> parts. OBDb ids are `<hdr>[.<rax>].<service><pid>[|k=v,...]`. */
export function parseCommandId(id: string): CommandId {
  const [base = '', opts = ''] = id.split('|');
  const parts = base.split('.');
  const cmd = parts.at(-1) ?? '';
  const options: Record<string, string> = {};
  for (const kv of opts.split(',')) {
    const [k, v] = kv.split('=');
    if (k) options[k] = v ?? '';
  }
  return {
    hdr: parts[0] ?? '',
    ...(parts.length >= 3 ? { rax: parts[1] } : {}),
    service: cmd.slice(0, 2).toUpperCase(),
    pid: cmd.slice(2).toUpperCase(),
    options,
  };
}

/** The narrowest `YYYY-YYYY.json` signalset covering the year, else `default.json` (OBDb layout). */
export function signalsetFileForYear(repoDir: string, year: number): string | undefined {
  const dir = path.join(repoDir, 'signalsets', 'v3');
  if (!existsSync(dir)) return undefined;
  let best: { file: string; span: number } | undefined;
  for (const name of readdirSync(dir)) {
    const m = /^(\d{4})-(\d{4})\.json$/.exec(name);
    if (!m) continue;
    const from = Number(m[1]);
    const to = Number(m[2]);
    if (year >= from && year <= to && (!best || to - from < best.span))
      best = { file: path.join(dir, name), span: to - from };
  }
  if (best) return best.file;
  const fallback = path.join(dir, 'default.json');
  return existsSync(fallback) ? fallback : undefined;
}

export interface DecodeFailure {
  readonly file: string;
  readonly signal: string;
  readonly response: string;
  readonly actual: SignalValue | undefined;
  readonly expected: unknown;
}

export interface DecodeSkip {
  readonly file: string;
  readonly signal?: string;
  readonly reason: string;
}

export interface DecodeTestReport {
  passed: number;
  failed: DecodeFailure[];
  skipped: DecodeSkip[];
}

/** pytest.approx-like (relative 1e-6), plus OBDb's 5-decimal rounding of stored expectations. */
export function valuesMatch(actual: unknown, expected: unknown): boolean {
  if (typeof expected === 'number' && typeof actual === 'number') {
    if (actual === expected) return true;
    const diff = Math.abs(actual - expected);
    // OBDb rounds expectations to 5 decimals (Python rounds ties to even): accept either neighbour of a tie.
    if (diff <= 5e-6 + 1e-12) return true;
    return diff <= 1e-6 * Math.max(Math.abs(expected), Math.abs(actual));
  }
  return actual === expected;
}

function raxMatches(rax: string | undefined, canId: string | undefined): boolean {
  if (rax === undefined || canId === undefined) return false;
  const r = rax.toUpperCase();
  // 11-bit: the whole id; 29-bit (ISO 15765-4 / GM priority ids): the id's low bytes, e.g. 18DAF110 ~ '10'.
  return canId === r || (canId.length === 8 && canId.endsWith(r));
}

interface Sources {
  own(year: number): Signalset | undefined;
  fallback(year: number): Signalset | undefined;
  readonly sae: Signalset;
}

function candidatesIn(set: Signalset | undefined, id: CommandId, strictHeader: boolean): ObdCommand[] {
  if (!set) return [];
  return set.commands.filter((c) => {
    const pid = c.cmd[id.service] ?? c.cmd[id.service.toLowerCase()];
    if (pid?.toUpperCase() !== id.pid) return false;
    if (!strictHeader) return true;
    return (
      (c.hdr ?? '').toUpperCase() === id.hdr.toUpperCase() &&
      (c.rax?.toUpperCase() ?? undefined) === (id.rax?.toUpperCase() ?? undefined)
    );
  });
}

function pickForYear(candidates: ObdCommand[], year: number): ObdCommand | undefined {
  return candidates.find((c) => commandAppliesToYear(c, year)) ?? candidates[0];
}

/**
 * The command a test file exercises: the vehicle's own definition (same header, rax and command);
 * for the standard services (01, 02, 09) SAE J1979's; else the make's repository.
 */
function resolveCommand(
  sources: Sources,
  id: CommandId,
  year: number,
): { command: ObdCommand; standard: boolean } | undefined {
  const own = pickForYear(candidatesIn(sources.own(year), id, true), year);
  if (own) return { command: own, standard: false };
  if (id.service === '01' || id.service === '02' || id.service === '09') {
    const sae = pickForYear(
      candidatesIn(sources.sae, { ...id, service: id.service === '02' ? '01' : id.service }, false),
      year,
    );
    if (sae) return { command: sae, standard: true };
  }
  const make = pickForYear(candidatesIn(sources.fallback(year), id, true), year);
  return make ? { command: make, standard: false } : undefined;
}

function decodeResponse(
  command: ObdCommand,
  id: CommandId,
  response: string,
  standard: boolean,
): Record<string, SignalValue> | null {
  const headers = id.hdr.length > 3 ? '29bit' : 'auto';
  const extendedAddressing = command.eax !== undefined || id.options['e'] !== undefined;
  const messages: ObdMessage[] = parseFrames(response.split(/\r?\n/), headers, { extendedAddressing });
  if (standard) {
    // Several ECUs answer a broadcast Mode 01 request; OBDb's harness keeps the last one's values.
    const merged: Record<string, SignalValue> = {};
    let any = false;
    for (const m of messages) {
      const values = decodeCommand(command, m);
      if (values) {
        Object.assign(merged, values);
        any = true;
      }
    }
    return any ? merged : null;
  }
  // A capture may hold several replies of the same ECU (repeated requests); like OBDb's harness, the last counts.
  const answering = messages.filter((m) => decodeCommand(command, m) !== null);
  const fromRax = answering.filter((m) => raxMatches(command.rax, m.canId));
  const chosen = fromRax.at(-1) ?? answering.at(-1);
  return chosen ? decodeCommand(command, chosen) : null;
}

export interface DecodeTestOptions {
  /** The make's repository (e.g. OBDb/Toyota) for commands the vehicle's own signalset lacks. */
  readonly fallbackDir?: string;
  /** SAE J1979 signalset for the standard services; default the bundled, fuel-trim-corrected profile. */
  readonly sae?: Signalset;
}

interface TestCaseFile {
  command_id?: string;
  test_cases?: { response?: unknown; expected_values?: Record<string, unknown> }[];
}

export function runDecodeTests(repoDir: string, options: DecodeTestOptions = {}): DecodeTestReport {
  const cache = new Map<string, Signalset | undefined>();
  const load = (dir: string | undefined, year: number) => {
    if (!dir) return undefined;
    const file = signalsetFileForYear(dir, year);
    if (!file) return undefined;
    if (!cache.has(file)) cache.set(file, loadSignalsetFile(file));
    return cache.get(file);
  };
  const sources: Sources = {
    own: (year) => load(repoDir, year),
    fallback: (year) => load(options.fallbackDir, year),
    sae: options.sae ?? sae1979Signalset(),
  };
  const report: DecodeTestReport = { passed: 0, failed: [], skipped: [] };
  const root = path.join(repoDir, 'tests', 'test_cases');
  if (!existsSync(root)) return report;
  for (const yearDir of readdirSync(root).sort()) {
    const year = Number(yearDir);
    const commandsDir = path.join(root, yearDir, 'commands');
    if (!Number.isInteger(year) || !existsSync(commandsDir)) continue;
    for (const name of readdirSync(commandsDir).sort()) {
      if (!name.endsWith('.yaml')) continue;
      const file = path.join(commandsDir, name);
      const rel = path.relative(repoDir, file);
      const doc = parseYaml(readFileSync(file, 'utf8')) as TestCaseFile;
      const id = parseCommandId(doc.command_id ?? name.replace(/\.yaml$/, ''));
      const resolved = resolveCommand(sources, id, year);
      for (const tc of doc.test_cases ?? []) {
        const expected = Object.entries(tc.expected_values ?? {});
        if (!resolved) {
          for (const [signal] of expected)
            report.skipped.push({
              file: rel,
              signal,
              reason: `command ${doc.command_id ?? name} is not defined by the signalsets`,
            });
          continue;
        }
        const values = decodeResponse(resolved.command, id, String(tc.response ?? ''), resolved.standard);
        for (const [signal, want] of expected) {
          if (!resolved.command.signals.some((s) => s.id === signal)) {
            report.skipped.push({
              file: rel,
              signal,
              reason: `signal ${signal} is no longer defined for ${doc.command_id ?? name}`,
            });
            continue;
          }
          const actual = values?.[signal];
          if (valuesMatch(actual, want)) report.passed++;
          else report.failed.push({ file: rel, signal, response: String(tc.response), actual, expected: want });
        }
      }
    }
  }
  return report;
}

/**
 * datasets SOURCE.md "Known upstream errors": some OBDb test cases were generated with the upstream
 * fuel-trim offset (A*100/128 - 128) instead of SAE J1979's (A-128)*100/128. We decode per SAE J1979,
 * so those cases differ from ours by exactly 28 (percent).
 */
export function isUpstreamFuelTrimCase(f: DecodeFailure, sae: Signalset = sae1979Signalset()): boolean {
  const fmt = sae.commands.flatMap((c) => c.signals).find((s) => s.id === f.signal)?.fmt;
  return (
    fmt?.div === 128 &&
    fmt.add === -100 &&
    typeof f.actual === 'number' &&
    typeof f.expected === 'number' &&
    valuesMatch(f.actual - 28, f.expected)
  );
}
