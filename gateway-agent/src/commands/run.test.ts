// `clutch-agent run` as systemd starts it, before the adapter exists: it waits, says so, and a SIGTERM
// during the wait ends it cleanly (exit 0), not with an error.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const cli = fileURLToPath(new URL('../../bin/clutch-agent.js', import.meta.url));

describe('clutch-agent run before its adapter exists', () => {
  it('logs waiting-for-adapter with the reason, retries, and exits 0 on SIGTERM', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'clutch-run-'));
    try {
      const child = spawn(
        process.execPath,
        [cli, 'run', '--port', path.join(dir, 'ttyUSB0'), '--queueDir', path.join(dir, 'queue'), '--fsync', 'false'],
        {
          stdio: ['ignore', 'pipe', 'pipe'],
          // No broker listens there: the agent queues and keeps reconnecting, which is what a car without network does.
          env: {
            ...process.env,
            CLUTCH_AGENT_MQTT_URL: 'mqtt://127.0.0.1:9',
            CLUTCH_AGENT_TENANT: 'acme',
            CLUTCH_AGENT_DEVICE: 'car-1',
            CLUTCH_AGENT_ADAPTER_WAIT_MAX_MS: '200',
          },
        },
      );
      const lines: Record<string, unknown>[] = [];
      let buffered = '';
      child.stdout.on('data', (chunk: Buffer) => {
        buffered += chunk.toString();
        const parts = buffered.split('\n');
        buffered = parts.pop() ?? '';
        for (const line of parts) if (line.startsWith('{')) lines.push(JSON.parse(line) as Record<string, unknown>);
      });
      let stderr = '';
      child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
      const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));

      await expect
        .poll(() => lines.filter((l) => l['msg'] === 'adapter not answering; trying again').length, { timeout: 15_000 })
        .toBeGreaterThanOrEqual(2);
      expect(lines.find((l) => l['msg'] === 'agent state')).toMatchObject({
        state: 'waiting-for-adapter',
        detail: expect.stringMatching(/No such file or directory|ENOENT/),
      });
      child.kill('SIGTERM');
      expect(await exited, stderr).toBe(0);
      expect(stderr).toBe('');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 30_000);
});
