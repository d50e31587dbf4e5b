// CPU seconds spent per thread of this process and by a PostgreSQL server, read from Linux's /proc.
// Latency figures depend on what else runs on the machine; CPU spent per message does much less,
// so comparing two builds by CPU per 1,000 batches still means something on a busy machine.
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import path from 'node:path';

/** Kernel clock ticks per second, the unit of /proc's CPU times. */
const ticksPerSecond = ((): number => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100;
  }
})();

interface Stat {
  name: string;
  ppid: number;
  /** utime + stime of the task itself, ms. */
  ownMs: number;
  /** cutime + cstime: children it has reaped, ms. */
  reapedMs: number;
}

/** One /proc stat line; the name is in parentheses and may hold spaces, so fields count from the last ')'. */
function readStat(file: string): Stat | null {
  let line: string;
  try {
    line = readFileSync(file, 'utf8');
  } catch {
    return null; // the task ended between listing and reading
  }
  const close = line.lastIndexOf(')');
  const f = line.slice(close + 2).split(' ');
  const ms = (ticks: string | undefined): number => (Number(ticks) * 1000) / ticksPerSecond;
  return {
    name: line.slice(line.indexOf('(') + 1, close),
    ppid: Number(f[1]),
    ownMs: ms(f[11]) + ms(f[12]),
    reapedMs: ms(f[13]) + ms(f[14]),
  };
}

/** This thread's kernel task id (a worker thread posts it to the thread that measures). */
export function currentThreadId(): number | null {
  try {
    return Number(path.basename(readlinkSync('/proc/thread-self')));
  } catch {
    return null; // not Linux
  }
}

/** This process's kernel task ids now (diff two of them to find the threads something started). */
export function taskIds(): Set<number> {
  try {
    return new Set(readdirSync('/proc/self/task').map(Number));
  } catch {
    return new Set(); // not Linux
  }
}

export interface CpuSnapshot {
  /** Per thread of this process: its name and CPU ms so far. */
  threads: Map<number, { name: string; ms: number }>;
  /** The PostgreSQL server's processes (postmaster, backends, and those that already exited), ms. */
  postgresMs: number | null;
  /** The whole process (process.cpuUsage), ms: threads that ended included. */
  processMs: number;
  atMs: number;
}

function postgresCpuMs(dataDir: string): number | null {
  let postmaster: number;
  try {
    postmaster = Number(readFileSync(path.join(dataDir, 'postmaster.pid'), 'utf8').split('\n')[0]);
  } catch {
    return null;
  }
  const root = readStat(`/proc/${postmaster}/stat`);
  if (!root) return null;
  let total = root.ownMs + root.reapedMs;
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const child = readStat(`/proc/${entry}/stat`);
    if (child?.ppid === postmaster) total += child.ownMs;
  }
  return total;
}

/** CPU used so far by each thread of this process and, given its data directory, by a PostgreSQL server. */
export function cpuSnapshot(postgresDataDir?: string): CpuSnapshot {
  const threads = new Map<number, { name: string; ms: number }>();
  try {
    for (const tid of readdirSync('/proc/self/task')) {
      const s = readStat(`/proc/self/task/${tid}/stat`);
      if (s) threads.set(Number(tid), { name: s.name, ms: s.ownMs });
    }
  } catch {
    // not Linux: only the process total below
  }
  const usage = process.cpuUsage();
  return {
    threads,
    postgresMs: postgresDataDir ? postgresCpuMs(postgresDataDir) : null,
    processMs: (usage.user + usage.system) / 1000,
    atMs: performance.now(),
  };
}

export interface CpuReport {
  wallSeconds: number;
  /** CPU ms per 1,000 units of work (batches), by part. */
  perThousand: { part: string; ms: number }[];
  /** Cores in use on average over the window, by the same parts. */
  cores: { part: string; cores: number }[];
}

/**
 * What was spent between two snapshots, per 1,000 units of work: the main thread, the named
 * `labelled` threads (e.g. the load generator's), the rest of the process grouped by thread name
 * (V8's helpers, libuv's pool), and PostgreSQL.
 */
export function cpuBetween(
  before: CpuSnapshot,
  after: CpuSnapshot,
  units: number,
  labelled: ReadonlyMap<number, string> = new Map(),
): CpuReport {
  const parts = new Map<string, number>();
  const add = (part: string, ms: number): void => void parts.set(part, (parts.get(part) ?? 0) + ms);
  let threadsMs = 0;
  for (const [tid, now] of after.threads) {
    const spent = now.ms - (before.threads.get(tid)?.ms ?? 0);
    threadsMs += spent;
    add(tid === process.pid ? 'main thread' : (labelled.get(tid) ?? `other: ${now.name}`), spent);
  }
  // Threads that ended inside the window are in the process total only (beyond /proc's tick rounding).
  const ended = after.processMs - before.processMs - threadsMs;
  if (ended > Math.max(250, threadsMs * 0.02)) add('other: ended threads', ended);
  if (before.postgresMs !== null && after.postgresMs !== null) add('PostgreSQL', after.postgresMs - before.postgresMs);
  const wallSeconds = (after.atMs - before.atMs) / 1000;
  const sorted = [...parts].sort((a, b) => b[1] - a[1]);
  return {
    wallSeconds,
    perThousand: sorted.map(([part, ms]) => ({ part, ms: (ms * 1000) / Math.max(1, units) })),
    cores: sorted.map(([part, ms]) => ({ part, cores: ms / 1000 / wallSeconds })),
  };
}
