// ELM327 driver: one command at a time over a byte stream, replies framed at the prompt.
import type { Duplex } from 'node:stream';
import { agentError } from '../errors.js';
import { ElmFramer } from './framer.js';
import { parseResponse, type ElmResponse } from './response.js';

/** ELM327 DS "ATZ": the identification printed at power-on and reset, e.g. 'ELM327 v1.5'. */
const BANNER = /ELM327\s+v\d/i;

interface Pending {
  command: string;
  resolve(response: ElmResponse): void;
  reject(err: Error): void;
  timer: NodeJS.Timeout;
}

export class Elm327Driver {
  private readonly framer = new ElmFramer();
  private pending: Pending | undefined;
  private chain: Promise<unknown> = Promise.resolve();
  private closed = false;
  /** Responses that arrived with no command waiting (late replies after a timeout, stray prompts). */
  unsolicited = 0;
  /**
   * Set when the adapter printed its power-on banner unasked (ELM327 DS: after a reset, brown-out or
   * 'LV RESET' the IC prints 'ELM327 v1.x' and reverts to its defaults: echo on, headers off, auto
   * protocol). The owner must initialise it again and then clear the flag.
   */
  resetDetected = false;

  constructor(private readonly stream: Duplex) {
    stream.on('data', this.onData);
    stream.on('close', this.onClose);
    stream.on('error', this.onClose);
  }

  private readonly onData = (chunk: Buffer | string) => {
    const overflows = this.framer.overflows;
    const texts = this.framer.push(chunk);
    if (this.framer.overflows > overflows && this.pending) {
      // Kilobytes without a prompt will not turn into a reply: fail now rather than at the timeout.
      const pending = this.pending;
      this.pending = undefined;
      clearTimeout(pending.timer);
      pending.reject(agentError('ADAPTER_NO_PROMPT', `after ${pending.command}`, { command: pending.command }));
    }
    for (const text of texts) {
      const pending = this.pending;
      const asked = pending !== undefined && /^AT\s*(Z|WS|I|D)\s*$/i.test(pending.command);
      if (!asked && BANNER.test(text)) this.resetDetected = true;
      if (!pending) {
        this.unsolicited++;
        continue;
      }
      this.pending = undefined;
      clearTimeout(pending.timer);
      const response = parseResponse(text, pending.command);
      if (!response.ok && response.code === 'ADAPTER_RESET') this.resetDetected = true;
      pending.resolve(response);
    }
  };

  private readonly onClose = () => {
    this.closed = true;
    const pending = this.pending;
    this.pending = undefined;
    if (pending) {
      clearTimeout(pending.timer);
      pending.reject(agentError('ADAPTER_CLOSED', `during ${pending.command}`));
    }
  };

  /**
   * Sends one command and resolves with its reply. ELM327 DS: the adapter takes a new command only after
   * its '>' prompt, so commands queue here rather than on the wire.
   */
  send(command: string, timeoutMs = 5000): Promise<ElmResponse> {
    const run = () =>
      new Promise<ElmResponse>((resolve, reject) => {
        if (this.closed) {
          reject(agentError('ADAPTER_CLOSED', `before ${command}`));
          return;
        }
        const timer = setTimeout(() => {
          if (this.pending?.timer !== timer) return;
          this.pending = undefined;
          // Whatever partial reply arrived belongs to this command, not the next one.
          this.framer.reset();
          reject(
            agentError('ADAPTER_TIMEOUT', `no prompt within ${timeoutMs} ms after ${command}`, { command, timeoutMs }),
          );
        }, timeoutMs);
        this.pending = { command, resolve, reject, timer };
        this.stream.write(`${command}\r`);
      });
    const result = this.chain.then(run, run);
    this.chain = result.catch(() => undefined);
    return result;
  }

  get isClosed(): boolean {
    return this.closed;
  }

  close(): void {
    this.stream.off('data', this.onData);
    this.onClose();
  }
}
