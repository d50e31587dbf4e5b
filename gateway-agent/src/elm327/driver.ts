// ELM327 driver: one command at a time over a byte stream, replies framed at the prompt.
import type { Duplex } from 'node:stream';
import { ElmFramer, parseResponse, type ElmResponse } from './framer.js';

export class ElmTimeoutError extends Error {
  readonly code = 'ELM_TIMEOUT';
}

export class ElmClosedError extends Error {
  readonly code = 'ELM_CLOSED';
}

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

  constructor(private readonly stream: Duplex) {
    stream.on('data', this.onData);
    stream.on('close', this.onClose);
    stream.on('error', this.onClose);
  }

  private readonly onData = (chunk: Buffer | string) => {
    for (const text of this.framer.push(chunk)) {
      const pending = this.pending;
      if (!pending) {
        this.unsolicited++;
        continue;
      }
      this.pending = undefined;
      clearTimeout(pending.timer);
      pending.resolve(parseResponse(text, pending.command));
    }
  };

  private readonly onClose = () => {
    this.closed = true;
    const pending = this.pending;
    this.pending = undefined;
    if (pending) {
      clearTimeout(pending.timer);
      pending.reject(new ElmClosedError('adapter stream closed'));
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
          reject(new ElmClosedError('adapter stream closed'));
          return;
        }
        const timer = setTimeout(() => {
          if (this.pending?.timer !== timer) return;
          this.pending = undefined;
          // Whatever partial reply arrived belongs to this command, not the next one.
          this.framer.reset();
          reject(new ElmTimeoutError(`no prompt within ${timeoutMs} ms after ${command}`));
        }, timeoutMs);
        this.pending = { command, resolve, reject, timer };
        this.stream.write(`${command}\r`);
      });
    const result = this.chain.then(run, run);
    this.chain = result.catch(() => undefined);
    return result;
  }

  close(): void {
    this.stream.off('data', this.onData);
    this.onClose();
  }
}
