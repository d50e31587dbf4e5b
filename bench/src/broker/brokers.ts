// The brokers the bench compares, each in its own process: ours (`clutch-broker serve`), Debian's
// Mosquitto, and optionally aedes with no hooks at all (to tell our cost from aedes').
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ensureSystemProgram, freePort, waitForPort } from '@clutch/test-support';

export interface BenchBroker {
  name: string;
  host: string;
  port: number;
  pid: number;
  stop(): Promise<void>;
}

const HOST = '127.0.0.1';

function stopper(child: ChildProcess): () => Promise<void> {
  return async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGTERM');
    await exited;
  };
}

/** CPU milliseconds a process has used so far (Linux /proc; 0 elsewhere). */
export function processCpuMs(pid: number): number {
  try {
    const line = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = line.slice(line.lastIndexOf(')') + 2).split(' ');
    return ((Number(f[11]) + Number(f[12])) * 1000) / 100; // USER_HZ is 100 on Linux
  } catch {
    return 0;
  }
}

/** Extra Node flags for our broker's process, e.g. BENCH_BROKER_NODE_ARGS="--cpu-prof --cpu-prof-dir=/tmp/p". */
function nodeArgs(): string[] {
  return (process.env.BENCH_BROKER_NODE_ARGS ?? '').split(' ').filter(Boolean);
}

export async function startOurs(): Promise<BenchBroker> {
  const port = await freePort();
  const cli = fileURLToPath(new URL('../../../broker/dist/cli.js', import.meta.url));
  // Anonymous and unthrottled so both brokers do the same work; TLS and WebSocket off on both.
  const child = spawn(
    process.execPath,
    [
      ...nodeArgs(),
      cli,
      'serve',
      '--allow-anonymous',
      '--port',
      String(port),
      '--publish-rate',
      '1000000',
      '--publish-burst',
      '1000000',
    ],
    { stdio: 'ignore', env: { ...process.env, LOG_LEVEL: 'error' } },
  );
  await waitForPort(port);
  return { name: 'clutch', host: HOST, port, pid: child.pid!, stop: stopper(child) };
}

export async function startBareAedes(): Promise<BenchBroker> {
  const port = await freePort();
  const script = fileURLToPath(new URL('./bare-aedes.js', import.meta.url));
  const child = spawn(process.execPath, [...nodeArgs(), script, String(port)], { stdio: 'ignore' });
  await waitForPort(port);
  return { name: 'aedes bare', host: HOST, port, pid: child.pid!, stop: stopper(child) };
}

export async function startMosquitto(): Promise<BenchBroker> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'clutch-mosquitto-'));
  const conf = join(dir, 'mosquitto.conf');
  // The default max_queued_messages (1000) silently drops QoS 1 bursts: raise it like ours (unbounded).
  writeFileSync(
    conf,
    `listener ${port} ${HOST}\nallow_anonymous true\nmax_queued_messages 1000000\nmax_inflight_messages 0\n` +
      `persistence false\nlog_type error\nset_tcp_nodelay true\n`,
  );
  const child = spawn(
    ensureSystemProgram({ candidates: ['/usr/sbin/mosquitto', 'mosquitto'], debianPackage: 'mosquitto' }),
    ['-c', conf],
    { stdio: 'ignore' },
  );
  await waitForPort(port);
  const stop = stopper(child);
  return {
    name: 'mosquitto',
    host: HOST,
    port,
    pid: child.pid!,
    stop: async () => {
      await stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
