// The serving side of the realtime bench as the platform scales out (docs/scale-out.md): N API
// processes (`node platform/dist/main.js --role api`), each with its own Socket.io gateway, on one
// PostgreSQL and one Redis (live-event bus `clutch:events`, Socket.io Redis adapter). One process may
// open only as many files as its `nofile` limit lets it, so sockets beyond that need more processes.
import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';

/** A role process of the platform, and where to read what it spends. */
export interface RoleProcess {
  role: 'api' | 'ingest';
  pid: number;
  url: string;
  child: ChildProcess;
  stop(): Promise<void>;
}

const mainJs = (): string =>
  path.join(path.dirname(createRequire(import.meta.url).resolve('@clutch/platform')), 'main.js');

/** Starts `main.js --role <role>` and waits for its "running" line (at most 120 s: the first migrates). */
export async function startRoleProcess(
  role: RoleProcess['role'],
  args: string[],
  env: Record<string, string>,
): Promise<RoleProcess> {
  const child = spawn(process.execPath, [mainJs(), '--role', role, ...args], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const url = await new Promise<string>((resolve, reject) => {
    let seen = '';
    const timer = setTimeout(() => reject(new Error(`${role} process did not start within 120 s`)), 120_000);
    child.stdout!.on('data', (chunk: Buffer) => {
      seen += chunk.toString();
      const m = /clutch \w+ running: (\S+)/.exec(seen);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]!);
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${role} process exited (${code}) before it ran`));
    });
  });
  child.stdout!.resume();
  return {
    role,
    pid: child.pid!,
    url,
    child,
    stop: async () => {
      if (child.exitCode !== null) return;
      const done = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await done;
    },
  };
}

const ticksPerSecond = 100;

/** CPU ms a process spent so far, every thread included (utime + stime of /proc/<pid>/stat). */
export function processCpuMs(pid: number): number {
  try {
    const line = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = line.slice(line.lastIndexOf(')') + 2).split(' ');
    return ((Number(f[11]) + Number(f[12])) * 1000) / ticksPerSecond;
  } catch {
    return 0;
  }
}

/** Resident memory of a process, bytes. */
export function residentBytes(pid: number): number {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}

/** Open descriptors of a process against its soft and hard `nofile` limits. */
export function descriptorsOf(pid: number | 'self'): { open: number; soft: number; hard: number } {
  const line = readFileSync(`/proc/${pid}/limits`, 'utf8')
    .split('\n')
    .find((l) => l.startsWith('Max open files'));
  const [soft = 'unlimited', hard = 'unlimited'] = line?.split(/\s{2,}/).slice(1, 3) ?? [];
  const limit = (v: string): number => (v === 'unlimited' ? Number.POSITIVE_INFINITY : Number(v));
  return { open: readdirSync(`/proc/${pid}/fd`).length, soft: limit(soft), hard: limit(hard) };
}

/** The redis-server listening on `port` (its command line names it), to count what Redis spends. */
export function redisPid(port: number): number | null {
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const cmd = readFileSync(`/proc/${entry}/cmdline`, 'utf8');
      if (cmd.includes('redis-server') && cmd.includes(`:${port}`)) return Number(entry);
      if (cmd.startsWith('redis-server') && cmd.split('\0').includes(String(port))) return Number(entry);
    } catch {
      // ended between listing and reading
    }
  }
  return null;
}
