// The platform as `npm start` runs it (its built entry point, embedded, open demo mode), on free ports
// and a data directory of the test's, for the walks in Chromium (only imported by tests).
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { vi } from 'vitest';

const MAIN = fileURLToPath(new URL('../../../platform/dist/main.js', import.meta.url));

export interface DemoPlatform {
  /** The dashboard's origin it printed. */
  readonly origin: string;
  /** Everything it printed on stdout so far. */
  stdout(): string;
  /** A demo account as it printed it: `  <role>  <email>  <password>`. */
  account(email: string): { email: string; password: string };
  /** Stops it with SIGINT (as Ctrl-C would) and resolves to its exit code. */
  stop(): Promise<number | null>;
  /** Ends it however it can (SIGINT, then SIGKILL after 20 s): for afterAll. */
  kill(): Promise<void>;
}

/** Starts `npm start`'s entry point on `dataDir` with three simulated cars; resolves once the demo accounts are printed. */
export async function startDemoPlatform(
  dataDir: string,
  options: { startTimeoutMs?: number } = {},
): Promise<DemoPlatform> {
  let stdout = '';
  let stderr = '';
  const child: ChildProcess = spawn(
    process.execPath,
    [
      MAIN,
      '--vehicles',
      '3',
      '--port',
      '0',
      '--mqtt-port',
      '0',
      '--mqtt-ws-port',
      '0',
      '--data-dir',
      dataDir,
      '--row-ms',
      '250',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4000)));
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  // The demo accounts are the last lines printed at start.
  try {
    await vi.waitFor(
      () => {
        if (child.exitCode !== null) throw new Error(`npm start exited ${child.exitCode}:\n${stdout}\n${stderr}`);
        if (!/admin@demo\.clutch\.test/.test(stdout)) throw new Error(`still starting:\n${stdout}`);
      },
      { timeout: options.startTimeoutMs ?? 90_000, interval: 200 },
    );
  } catch (err) {
    // Not started in time: end it, or it would outlive the test run.
    child.kill('SIGKILL');
    throw err;
  }
  const origin = new URL(/Dashboard: (http:\/\/localhost:\d+)\S*/.exec(stdout)![1]!).origin;
  return {
    origin,
    stdout: () => stdout,
    account(email) {
      const line = stdout.split('\n').find((l) => l.includes(` ${email} `));
      const password = line?.trim().split(/\s+/).at(-1);
      if (!password) throw new Error(`npm start printed no demo account ${email}:\n${stdout}`);
      return { email, password };
    },
    async stop() {
      child.kill('SIGINT');
      return exited;
    },
    async kill() {
      if (child.exitCode !== null) return;
      child.kill('SIGINT');
      await Promise.race([exited, new Promise((r) => setTimeout(r, 20_000))]);
      child.kill('SIGKILL');
    },
  };
}
