import { describe, expect, it } from 'vitest';
import { createLinkedStreams } from '../simulator/streams.js';
import { Elm327Driver } from './driver.js';

/** A driver on one end of a null-modem pair; the test plays the adapter on the other end. */
function withAdapter(reply: (command: string, write: (text: string) => void) => void) {
  const [host, adapter] = createLinkedStreams();
  adapter.on('data', (chunk: Buffer) => {
    for (const command of chunk.toString('latin1').split('\r').filter(Boolean)) reply(command, (t) => adapter.write(t));
  });
  return { driver: new Elm327Driver(host), host, adapter };
}

describe('Elm327Driver', () => {
  it('answers each command with its own reply, queued behind the prompt', async () => {
    const { driver } = withAdapter((cmd, write) => write(cmd === '010D' ? '41 0D 32\r\r>' : 'OK\r\r>'));
    const [a, b] = await Promise.all([driver.send('ATE0'), driver.send('010D')]);
    expect(a).toEqual({ ok: true, lines: ['OK'] });
    expect(b).toEqual({ ok: true, lines: ['41 0D 32'] });
    driver.close();
  });

  it('rejects with ADAPTER_TIMEOUT when no prompt comes', async () => {
    const { driver } = withAdapter(() => {});
    await expect(driver.send('010C', 30)).rejects.toMatchObject({
      code: 'ADAPTER_TIMEOUT',
      details: { command: '010C', timeoutMs: 30 },
    });
    driver.close();
  });

  it('rejects with ADAPTER_NO_PROMPT at once when kilobytes arrive without a prompt (wrong baud rate)', async () => {
    const { driver } = withAdapter((_cmd, write) => write('\xff\xfe'.repeat(40 * 1024)));
    await expect(driver.send('ATZ', 60_000)).rejects.toMatchObject({ code: 'ADAPTER_NO_PROMPT' });
    driver.close();
  });

  it('rejects with ADAPTER_CLOSED when the stream closes, and flags an LV RESET reply', async () => {
    const { driver, host } = withAdapter((_cmd, write) => write('LV RESET\r\r>'));
    expect(await driver.send('010C')).toMatchObject({ ok: false, code: 'ADAPTER_RESET' });
    expect(driver.resetDetected).toBe(true);
    host.destroy();
    await expect(driver.send('010C')).rejects.toMatchObject({ code: 'ADAPTER_CLOSED' });
  });
});
