// What to read and how often (DESIGN §5 "Polling plan"): the catalogue's Mode 01 PIDs the car supports,
// the adapter's ATRV, and the vehicle-specific Mode 21/22 commands of the car's OBDb profile.
import { saeSignals, signalByObdbId, type SignalDefinition } from '@clutch/contracts';
import { commandAppliesToYear, findMode01Command, type ObdCommand, type Signalset } from '@clutch/firmware-profiles';
import { addressingKey, commandAddressing, type Addressing } from '../obd/addressing.js';
import { MAX_PIDS_PER_REQUEST, mode01Request } from '../obd/mode01.js';
import { pidHex } from '../obd/supported-pids.js';

export { MAX_PIDS_PER_REQUEST };
export const DEFAULT_POLL_SECONDS = 5;

/** A vehicle-specific command (OBDb profile, Mode 21/22) sent to one ECU by its physical header. */
export interface VehicleCommand {
  /** The profile's request header, e.g. '7E0' (11-bit) or 'DA11' (29-bit, OBDb form). */
  readonly header: string;
  /** The profile's receive address as written, e.g. '7E8' or '2AF111'. */
  readonly rax?: string;
  /** How the adapter reaches the ECU: protocol, ATCP/ATSH, ATCRA, ATCEA/ATTA, flow control, ATST. */
  readonly addressing: Addressing;
  /** The whole CAN id the reply comes from ('7E8', '142AF111'; '' when the profile names none). */
  readonly receiveId: string;
  /** The request as sent, e.g. '221002'. */
  readonly request: string;
  readonly command: ObdCommand;
}

export interface PollItem {
  /** Mode 01 PID as two hex digits, 'ATRV', or `<request>@<header>` for a vehicle command ('221002@7E0'). */
  readonly pid: string;
  readonly periodMs: number;
  nextDueMs: number;
  /** Failed reads in a row (NO DATA, timeout, undecodable); while > 0 the item backs off and is asked alone. */
  failures: number;
  readonly vehicle?: VehicleCommand;
}

export interface PollPlanOptions {
  /** Multiplies every period (0.01 = 100x faster, for fast replays; 0 = as fast as the link goes). */
  readonly scale?: number;
  /**
   * Per-item period overrides in ms ('0C', 'ATRV', '221002@7E0', or a vehicle signal's catalogue key
   * such as 'vehicle.camry_12v_v' for the command that reads it); 0 removes the item from the plan.
   */
  readonly periodsMs?: Readonly<Record<string, number>>;
  /** The car's OBDb profile: its Mode 21/22 commands join the plan. */
  readonly vehicle?: VehicleProfilePlan;
}

export interface VehicleProfilePlan {
  readonly signalset: Signalset;
  readonly modelYear?: number;
  /** ELM327 protocol number of the bus (ATDPN without the A): '6'..'9' are ISO 15765-4 CAN. */
  readonly protocol: string;
  /** The catalogue entry a profile signal publishes as (default: contracts' signalByObdbId). */
  readonly signalFor?: (obdbId: string) => SignalDefinition | undefined;
}

/** Why a profile command is left out of the plan (logged once per plan). */
export interface SkippedCommand {
  readonly request: string;
  readonly reason: string;
}

/** Services polled from a profile: manufacturer data by local identifier (21) and by DID (22, ISO 14229). */
const VEHICLE_SERVICES = new Set(['21', '22']);

/** The profile's Mode 21/22 commands that can be polled and publish at least one catalogue signal. */
export function vehicleCommands(profile: VehicleProfilePlan): {
  commands: VehicleCommand[];
  skipped: SkippedCommand[];
} {
  const signalFor = profile.signalFor ?? signalByObdbId;
  const commands: VehicleCommand[] = [];
  const skipped: SkippedCommand[] = [];
  const seen = new Set<string>();
  for (const command of profile.signalset.commands) {
    const [service, pid] = Object.entries(command.cmd)[0] ?? [];
    if (service === undefined || pid === undefined || !VEHICLE_SERVICES.has(service)) continue;
    const request = `${service}${pid}`.toUpperCase();
    const skip = (reason: string) => skipped.push({ request: `${request}@${command.hdr ?? ''}`, reason });
    if (profile.modelYear !== undefined && !commandAppliesToYear(command, profile.modelYear)) continue;
    const target = commandAddressing(command, profile.protocol);
    if (!target.ok) {
      skip(target.reason);
      continue;
    }
    if (!command.signals.some((s) => signalFor(s.id) !== undefined)) {
      skip('no catalogue signal');
      continue;
    }
    const header = command.hdr!.toUpperCase();
    const key = `${request}@${header}`;
    if (seen.has(key)) continue;
    seen.add(key);
    commands.push({
      header,
      ...(command.rax ? { rax: command.rax.toUpperCase() } : {}),
      addressing: target.addressing,
      receiveId: target.addressing.receive,
      request,
      command,
    });
  }
  return { commands, skipped };
}

/**
 * One item per catalogue PID the car supports (and ATRV), plus the profile's vehicle commands, all due
 * immediately. The period is the catalogue's, else the profile command's OBDb `freq`, else
 * DEFAULT_POLL_SECONDS; overrides win.
 */
export function buildPollPlan(
  set: Signalset,
  supported: ReadonlySet<number>,
  now: number,
  options: PollPlanOptions = {},
): PollItem[] {
  const scale = options.scale ?? 1;
  const periods = new Map<string, number>();
  const vehicle = new Map<string, VehicleCommand>();
  for (const signal of saeSignals) {
    let seconds = signal.pollSeconds;
    if (seconds === undefined && signal.pid !== undefined) seconds = findMode01Command(set, signal.pid)?.freq;
    const periodMs = (seconds ?? DEFAULT_POLL_SECONDS) * 1000 * scale;
    let pid: string | undefined;
    if (signal.source === 'obd' && signal.pid !== undefined) {
      if (!supported.has(parseInt(signal.pid, 16)) || !findMode01Command(set, signal.pid)) continue;
      pid = signal.pid.toUpperCase();
    } else if (signal.source === 'elm327' && signal.command === 'ATRV') {
      pid = 'ATRV';
    }
    if (pid !== undefined) periods.set(pid, Math.min(periods.get(pid) ?? Infinity, periodMs));
  }
  if (options.vehicle) {
    for (const v of vehicleCommands(options.vehicle).commands) {
      const key = `${v.request}@${v.header}`;
      vehicle.set(key, v);
      periods.set(key, (v.command.freq ?? DEFAULT_POLL_SECONDS) * 1000 * scale);
    }
  }
  for (const [key, ms] of resolveOverrides(options.periodsMs ?? {}, vehicle, options.vehicle?.signalFor)) {
    if (!periods.has(key)) continue;
    if (ms <= 0) periods.delete(key);
    else periods.set(key, ms);
  }
  return [...periods].map(([pid, periodMs]) => {
    const v = vehicle.get(pid);
    return { pid, periodMs, nextDueMs: now, failures: 0, ...(v ? { vehicle: v } : {}) };
  });
}

/**
 * Period overrides per plan item. A key is a plan item ('0C', 'ATRV', '221002@700', '22005C@DA11') or a
 * vehicle-specific catalogue key ('vehicle.camry_12v_v'), which stands for the command that reads it.
 * Several keys of one command: the shortest period asked for wins, and it leaves the plan (0) only
 * when every one of them asks for that.
 */
function resolveOverrides(
  periodsMs: Readonly<Record<string, number>>,
  vehicle: ReadonlyMap<string, VehicleCommand>,
  signalFor: VehicleProfilePlan['signalFor'] = signalByObdbId,
): Map<string, number> {
  const bySignal = new Map<string, string>();
  for (const [item, v] of vehicle)
    for (const s of v.command.signals) {
      const key = signalFor(s.id)?.key;
      if (key) bySignal.set(key, item);
    }
  const asked = new Map<string, number[]>();
  for (const [key, ms] of Object.entries(periodsMs)) {
    const item = key.startsWith('vehicle.') ? bySignal.get(key) : key.toUpperCase();
    if (item !== undefined) asked.set(item, [...(asked.get(item) ?? []), ms]);
  }
  const out = new Map<string, number>();
  for (const [item, list] of asked) {
    const running = list.filter((ms) => ms > 0);
    out.set(item, running.length > 0 ? Math.min(...running) : 0);
  }
  return out;
}

/** The adapter setup an item is sent under, as a key: '' = the bus default (functional 7DF / 18DB33F1). */
export function headerGroup(item: PollItem): string {
  return item.vehicle ? addressingKey(item.vehicle.addressing) : '';
}

export interface RequestContext {
  /** ISO 15765-4: multi-PID requests and the count digit exist only on CAN. */
  readonly isCan: boolean;
  /** PIDs per Mode 01 request (1..6, default 6). */
  readonly maxPids?: number;
  /** Whether a Mode 01 PID may share a request now (adapter and ECU capability). */
  readonly multiAllowed?: (pid: string) => boolean;
  /** Whether to append the response-count digit for a request of n PIDs. */
  readonly countDigit?: (pidCount: number) => boolean;
  /** The header group the adapter is set to now. */
  readonly group?: string;
}

export type PollRequest =
  | { readonly kind: 'atrv'; readonly command: 'ATRV'; readonly items: PollItem[] }
  | { readonly kind: 'mode01'; readonly command: string; readonly items: PollItem[]; readonly countDigit: boolean }
  | { readonly kind: 'vehicle'; readonly command: string; readonly items: PollItem[]; readonly group: string };

/**
 * The next request: the most overdue item, with up to five more due Mode 01 PIDs on CAN when they may
 * share a request. Header switches cost two AT commands, so while the adapter is set to a group, the
 * group's due items go first unless another item is late by more than a quarter of its period.
 */
export function nextRequest(
  plan: readonly PollItem[],
  set: Signalset,
  now: number,
  ctx: RequestContext,
): PollRequest | null {
  // Most overdue first; among equally due, the faster signal (shorter period) has priority.
  const due = plan
    .filter((p) => p.nextDueMs <= now)
    .sort((a, b) => a.nextDueMs - b.nextDueMs || a.periodMs - b.periodMs);
  if (due.length === 0) return null;
  let head = due[0]!;
  const current = ctx.group ?? '';
  if (headerGroup(head) !== current && now - head.nextDueMs <= head.periodMs / 4) {
    head = due.find((p) => headerGroup(p) === current) ?? head;
  }
  if (head.pid === 'ATRV') return { kind: 'atrv', command: 'ATRV', items: [head] };
  if (head.vehicle) {
    return { kind: 'vehicle', command: head.vehicle.request, items: [head], group: headerGroup(head) };
  }
  const maxPids = ctx.isCan ? Math.max(1, Math.min(ctx.maxPids ?? MAX_PIDS_PER_REQUEST, MAX_PIDS_PER_REQUEST)) : 1;
  const shareable = (p: PollItem) =>
    p.pid !== 'ATRV' && !p.vehicle && p.failures === 0 && (ctx.multiAllowed?.(p.pid) ?? true);
  const items =
    maxPids > 1 && shareable(head)
      ? [head, ...due.filter((p) => p !== head && shareable(p))].slice(0, maxPids)
      : [head];
  const countDigit = ctx.isCan && (ctx.countDigit?.(items.length) ?? true);
  return {
    kind: 'mode01',
    command: mode01Request(
      set,
      items.map((p) => p.pid),
      ctx.isCan,
      countDigit,
    ),
    items,
    countDigit,
  };
}

/**
 * Schedules the next read one period after the due time; a late item waits at least half a period
 * from now, so a slow link degrades every PID evenly instead of re-reading the late ones back to back.
 */
export function markRead(item: PollItem, now: number): void {
  item.failures = 0;
  item.nextDueMs = Math.max(item.nextDueMs + item.periodMs, now + item.periodMs / 2);
}

export interface BackoffPolicy {
  /** First retry delay floor (default 1 s): a PID read every 250 ms still waits a second after a failure. */
  readonly baseMs?: number;
  /** Longest wait between attempts (default 60 s). */
  readonly capMs?: number;
}

/**
 * A failed read (NO DATA, timeout, undecodable) doubles the wait before the next attempt, from
 * max(period, baseMs) up to capMs, so one dead PID costs the link one request per minute at most
 * while the others keep their rate. A success (markRead) clears it.
 */
export function markFailed(item: PollItem, now: number, policy: BackoffPolicy = {}): void {
  item.failures++;
  const base = Math.max(item.periodMs, policy.baseMs ?? 1000);
  const cap = Math.max(base, policy.capMs ?? 60_000);
  item.nextDueMs = now + Math.min(cap, base * 2 ** (item.failures - 1));
}

export { pidHex };
