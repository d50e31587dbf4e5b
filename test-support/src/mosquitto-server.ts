import { spawn } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, waitForPort } from './free-port.js';
import { ensureSystemProgram } from './system-package.js';

export interface MosquittoServer {
  url: string;
  port: number;
  stop(): Promise<void>;
}

export interface MosquittoOptions {
  /** Files written beside the configuration first (name -> content), e.g. a plugin's settings. */
  files?: Record<string, string>;
  /** Lines added to the configuration; `{dir}` stands for the folder the files are in. */
  config?: string;
}

/**
 * A private Mosquitto (Debian `mosquitto`) on a free loopback port, anonymous clients allowed, no
 * persistence: a broker that is not ours, for tests of what talks to foreign brokers.
 */
export async function startMosquittoServer(options: MosquittoOptions = {}): Promise<MosquittoServer> {
  const program = ensureSystemProgram({ candidates: ['/usr/sbin/mosquitto', 'mosquitto'], debianPackage: 'mosquitto' });
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'clutch-mosquitto-'));
  // Started as root, Mosquitto reads its files after dropping to its own user.
  chmodSync(dir, 0o755);
  for (const [name, content] of Object.entries(options.files ?? {}))
    writeFileSync(join(dir, name), content, { mode: 0o644 });
  const config = join(dir, 'mosquitto.conf');
  const extra = (options.config ?? '').replaceAll('{dir}', dir);
  writeFileSync(
    config,
    `listener ${port} 127.0.0.1\nallow_anonymous true\npersistence false\nlog_type none\n${extra}`,
    {
      mode: 0o644,
    },
  );
  const child = spawn(program, ['-c', config], { stdio: 'ignore' });
  const exited = new Promise<never>((_, reject) => {
    child.once('error', (err) => reject(new Error(`mosquitto could not start: ${err.message}`)));
    child.once('exit', (code) => reject(new Error(`mosquitto exited with ${code}`)));
  });
  exited.catch(() => {});
  const ready = waitForPort(port, 5_000);
  await Promise.race([ready, exited]);
  return {
    url: `mqtt://127.0.0.1:${port}`,
    port,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        const done = new Promise((resolve) => child.once('exit', resolve));
        child.kill('SIGTERM');
        await done;
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
