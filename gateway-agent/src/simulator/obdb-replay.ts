// Answers for any OBDb vehicle: the ECU responses recorded in its repository's test cases
// (tests/test_cases/<year>/commands/*.yaml), replayed per request header and command, cycling
// through the captures. Lets the simulator stand in for a Camry, a Leaf or an F-150 on Modes 21/22.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { parseCommandId, type CommandId } from '../obdb/decode-tests.js';
import { commandAddressing } from '../obd/addressing.js';
import { parseFrames } from '../obd/frames.js';
import { agentError } from '../errors.js';

export interface ReplayAnswer {
  /** Responding CAN id as recorded, e.g. '7E8', '7CC', '18DAF110'. */
  readonly canId: string;
  /** Reassembled payload (service response byte first). */
  readonly payload: number[];
  /** ISO 15765-2 extended address byte the ECU put before the PCI (recorded), when it uses one. */
  readonly extendedAddress?: number;
}

/**
 * The key an ECU answers to: its whole request CAN id ('7E0', '14DA11F1': priority, DA11, tester) and,
 * with ISO 15765-2 extended addressing, the target address byte ('750+2A'). The simulator computes the
 * same key from the adapter's ATCP/ATSH/ATCEA settings, so only a correctly addressed request answers.
 */
export function requestKey(requestId: string, extendedAddress?: string): string {
  return `${requestId.toUpperCase()}${extendedAddress ? `+${extendedAddress.toUpperCase()}` : ''}`;
}

function captureKey(id: CommandId): string {
  const target = commandAddressing(
    { hdr: id.hdr, cmd: {}, signals: [], pri: id.options['c'], tst: id.options['ta'], eax: id.options['e'] },
    '6',
  );
  return requestKey(target.ok ? target.requestId : id.hdr, id.options['e']);
}

export interface ObdbReplay {
  readonly vehicle: string;
  readonly modelYear: number;
  /**
   * The next recorded answer for `command` (e.g. '2121', '22F40D') sent to `key` (requestKey: '7C4',
   * '14DA11F1', '750+2A'); any ECU's when omitted (a functional request).
   */
  answer(command: string, key?: string): ReplayAnswer | undefined;
  readonly commands: number;
}

/** Loads a vehicle's captures for the model year nearest to `modelYear` (default: the newest). */
export function loadObdbReplay(repoDir: string, modelYear?: number): ObdbReplay {
  const root = path.join(repoDir, 'tests', 'test_cases');
  const years = existsSync(root) ? readdirSync(root).map(Number).filter(Number.isInteger) : [];
  if (years.length === 0) throw agentError('REPLAY_INVALID', repoDir);
  const year = years.reduce((a, b) => (Math.abs(b - (modelYear ?? 9999)) < Math.abs(a - (modelYear ?? 9999)) ? b : a));
  const byKey = new Map<string, ReplayAnswer[]>();
  const dir = path.join(root, String(year), 'commands');
  for (const name of existsSync(dir) ? readdirSync(dir) : []) {
    if (!name.endsWith('.yaml')) continue;
    const doc = parseYaml(readFileSync(path.join(dir, name), 'utf8')) as {
      command_id?: string;
      test_cases?: { response?: unknown }[];
    };
    const id = parseCommandId(doc.command_id ?? name.replace(/\.yaml$/, ''));
    const answers: ReplayAnswer[] = [];
    const extended = id.options['e'] !== undefined;
    const idLength = id.hdr.length > 3 ? 8 : 3;
    for (const tc of doc.test_cases ?? []) {
      const lines = String(tc.response ?? '').split(/\r?\n/);
      const messages = parseFrames(lines, id.hdr.length > 3 ? '29bit' : 'auto', { extendedAddressing: extended });
      // The address byte the ECU sent before the PCI (parseFrames drops it).
      // (Some captures start with the echoed request, e.g. `2130`: too short to be a frame.)
      const first = lines
        .map((l) => l.replace(/\s+/g, ''))
        .find((l) => /^[0-9A-F]+$/i.test(l) && l.length >= idLength + 6);
      const address = extended && first ? parseInt(first.slice(idLength, idLength + 2), 16) : undefined;
      const service = parseInt(id.service, 16) + 0x40;
      for (const m of messages)
        if (m.canId && m.data[0] === service)
          answers.push({
            canId: m.canId,
            payload: [...m.data],
            ...(address !== undefined && !Number.isNaN(address) ? { extendedAddress: address } : {}),
          });
    }
    if (answers.length === 0) continue;
    const key = `${captureKey(id)}:${id.service}${id.pid}`;
    byKey.set(key, [...(byKey.get(key) ?? []), ...answers]);
    const any = `*:${id.service}${id.pid}`;
    byKey.set(any, [...(byKey.get(any) ?? []), ...answers]);
  }
  const cursor = new Map<string, number>();
  return {
    vehicle: path.basename(repoDir),
    modelYear: year,
    commands: [...byKey.keys()].filter((k) => !k.startsWith('*:')).length,
    answer(command, target) {
      const key = `${target?.toUpperCase() ?? '*'}:${command.toUpperCase()}`;
      const list = byKey.get(key);
      if (!list) return undefined;
      const i = cursor.get(key) ?? 0;
      cursor.set(key, (i + 1) % list.length);
      return list[i];
    },
  };
}
