import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface PtyPair {
  /** Two ends of one virtual serial cable: bytes written to one are read from the other. */
  a: string;
  b: string;
  close(): Promise<void>;
}

/** A real pseudo-terminal pair from socat (raw, no echo), like a USB serial adapter and its device. */
export async function startPtyPair(): Promise<PtyPair> {
  const dir = mkdtempSync(join(tmpdir(), 'clutch-pty-'));
  const a = join(dir, 'a');
  const b = join(dir, 'b');
  const socat: ChildProcess = spawn('socat', [`pty,raw,echo=0,link=${a}`, `pty,raw,echo=0,link=${b}`], {
    stdio: 'ignore',
  });
  const failed = new Promise<never>((_, reject) => {
    socat.once('error', (err) => reject(new Error(`socat could not start (apt-get install socat): ${err.message}`)));
    socat.once('exit', (code) => reject(new Error(`socat exited early with code ${code}`)));
  });
  const ready = (async () => {
    for (let i = 0; i < 200 && !(existsSync(a) && existsSync(b)); i++) await new Promise((r) => setTimeout(r, 25));
    if (!(existsSync(a) && existsSync(b))) throw new Error('socat did not create the PTY links in 5 s');
  })();
  await Promise.race([ready, failed]);
  failed.catch(() => {}); // after a clean start, socat exiting is reported by close() only
  return {
    a,
    b,
    async close() {
      if (socat.exitCode === null) {
        const exited = new Promise((resolve) => socat.once('exit', resolve));
        socat.kill('SIGTERM');
        await exited;
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
