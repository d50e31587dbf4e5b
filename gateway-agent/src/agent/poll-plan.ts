// Which Mode 01 PIDs to read and how often (DESIGN §5 "Polling plan").
import { signalCatalogue } from '@clutch/contracts';
import { findMode01Command, type Signalset } from '@clutch/firmware-profiles';
import { MAX_PIDS_PER_REQUEST, mode01Request } from '../obd/mode01.js';
import { pidHex } from '../obd/supported-pids.js';

export { MAX_PIDS_PER_REQUEST };
export const DEFAULT_POLL_SECONDS = 5;

export interface PollItem {
  /** Mode 01 PID as two hex digits, or 'ATRV' for the adapter's voltage reading. */
  readonly pid: string;
  readonly periodMs: number;
  nextDueMs: number;
}

export interface PollPlanOptions {
  /** Multiplies every period (0.01 = 100x faster, for fast replays). */
  readonly scale?: number;
  /** Per-PID period overrides in ms ('0C', 'ATRV'); 0 removes the PID from the plan. */
  readonly periodsMs?: Readonly<Record<string, number>>;
}

/**
 * One item per catalogue PID the car supports (and ATRV), due immediately. The period is the
 * catalogue's, else the profile command's OBDb `freq`, else DEFAULT_POLL_SECONDS; overrides win.
 */
export function buildPollPlan(
  set: Signalset,
  supported: ReadonlySet<number>,
  now: number,
  options: PollPlanOptions = {},
): PollItem[] {
  const periods = new Map<string, number>();
  for (const signal of signalCatalogue) {
    let seconds = signal.pollSeconds;
    if (seconds === undefined && signal.pid !== undefined) seconds = findMode01Command(set, signal.pid)?.freq;
    const periodMs = (seconds ?? DEFAULT_POLL_SECONDS) * 1000 * (options.scale ?? 1);
    let pid: string | undefined;
    if (signal.source === 'obd' && signal.service === '01' && signal.pid !== undefined) {
      if (!supported.has(parseInt(signal.pid, 16)) || !findMode01Command(set, signal.pid)) continue;
      pid = signal.pid.toUpperCase();
    } else if (signal.source === 'elm327' && signal.command === 'ATRV') {
      pid = 'ATRV';
    }
    if (pid !== undefined) periods.set(pid, Math.min(periods.get(pid) ?? Infinity, periodMs));
  }
  for (const [pid, ms] of Object.entries(options.periodsMs ?? {})) {
    const key = pid.toUpperCase();
    if (!periods.has(key)) continue;
    if (ms <= 0) periods.delete(key);
    else periods.set(key, ms);
  }
  return [...periods].map(([pid, periodMs]) => ({ pid, periodMs, nextDueMs: now }));
}

/** The next request: the most overdue items, up to six Mode 01 PIDs together on CAN (obd/mode01.ts). */
export function nextRequest(
  plan: readonly PollItem[],
  set: Signalset,
  now: number,
  isCan: boolean,
  maxPids: number = MAX_PIDS_PER_REQUEST,
): { command: string; items: PollItem[] } | null {
  // Most overdue first; among equally due, the faster signal (shorter period) has priority.
  const due = plan
    .filter((p) => p.nextDueMs <= now)
    .sort((a, b) => a.nextDueMs - b.nextDueMs || a.periodMs - b.periodMs);
  if (due.length === 0) return null;
  if (due[0]!.pid === 'ATRV') return { command: 'ATRV', items: [due[0]!] };
  const items = due
    .filter((p) => p.pid !== 'ATRV')
    .slice(0, isCan ? Math.max(1, Math.min(maxPids, MAX_PIDS_PER_REQUEST)) : 1);
  return {
    command: mode01Request(
      set,
      items.map((p) => p.pid),
      isCan,
    ),
    items,
  };
}

/**
 * Schedules the next read one period after the due time; a late item waits at least half a period
 * from now, so a slow link degrades every PID evenly instead of re-reading the late ones back to back.
 */
export function markRead(item: PollItem, now: number): void {
  item.nextDueMs = Math.max(item.nextDueMs + item.periodMs, now + item.periodMs / 2);
}

export { pidHex };
