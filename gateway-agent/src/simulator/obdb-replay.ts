// Answers for any OBDb vehicle: the ECU responses recorded in its repository's test cases
// (tests/test_cases/<year>/commands/*.yaml), replayed per request header and command, cycling
// through the captures. Lets the simulator stand in for a Camry, a Leaf or an F-150 on Modes 21/22.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { parseCommandId } from '../obdb/decode-tests.js';
import { parseFrames } from '../obd/frames.js';
import { agentError } from '../errors.js';

export interface ReplayAnswer {
  /** Responding CAN id as recorded, e.g. '7E8', '7CC', '18DAF110'. */
  readonly canId: string;
  /** Reassembled payload (service response byte first). */
  readonly payload: number[];
}

export interface ObdbReplay {
  readonly vehicle: string;
  readonly modelYear: number;
  /** The next recorded answer for `command` (e.g. '2121', '22F40D') sent with header `hdr` ('7C4'); any header when omitted. */
  answer(command: string, hdr?: string): ReplayAnswer | undefined;
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
    for (const tc of doc.test_cases ?? []) {
      const messages = parseFrames(String(tc.response ?? '').split(/\r?\n/), id.hdr.length > 3 ? '29bit' : 'auto', {
        extendedAddressing: id.options['e'] !== undefined,
      });
      const service = parseInt(id.service, 16) + 0x40;
      for (const m of messages)
        if (m.canId && m.data[0] === service) answers.push({ canId: m.canId, payload: [...m.data] });
    }
    if (answers.length === 0) continue;
    const key = `${id.hdr.toUpperCase()}:${id.service}${id.pid}`;
    byKey.set(key, [...(byKey.get(key) ?? []), ...answers]);
    const any = `*:${id.service}${id.pid}`;
    byKey.set(any, [...(byKey.get(any) ?? []), ...answers]);
  }
  const cursor = new Map<string, number>();
  return {
    vehicle: path.basename(repoDir),
    modelYear: year,
    commands: [...byKey.keys()].filter((k) => !k.startsWith('*:')).length,
    answer(command, hdr) {
      const key = `${hdr?.toUpperCase() ?? '*'}:${command.toUpperCase()}`;
      const list = byKey.get(key) ?? (hdr === undefined ? undefined : byKey.get(`*:${command.toUpperCase()}`));
      if (!list) return undefined;
      const i = cursor.get(key) ?? 0;
      cursor.set(key, (i + 1) % list.length);
      return list[i];
    },
  };
}
