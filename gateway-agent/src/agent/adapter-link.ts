// Owns the serial link to the ELM327: open, initialise, and recover. In a car the link fails in two
// ways that must heal without a human: the adapter resets (brown-out at engine crank; the banner
// appears mid-stream) and the port disappears (USB unplugged, Bluetooth RFCOMM dropped).
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import { Elm327Driver } from '../elm327/driver.js';
import { agentError } from '../errors.js';
import { backoffDelay, type BackoffOptions } from '../transport/backoff.js';
import { openSerialPort, releaseStream } from '../transport/serial-port.js';
import { initialiseAdapter, type AdapterInfo } from './session.js';

export type AgentTransport =
  | { stream: Duplex }
  | { path: string; baudRate: number }
  /** Any reopenable byte stream (the reconnect tests use it). */
  | { open: () => Promise<Duplex> };

export class AdapterLink {
  private stream: Duplex | undefined;
  private current: Elm327Driver | undefined;
  private closing = false;
  /** The port of an open() in progress (ATZ and a protocol search take seconds): close() ends it. */
  private opening: Duplex | undefined;
  /** Ends the backoff sleep of reopen() early (close()). */
  private wake: (() => void) | undefined;
  info: AdapterInfo | undefined;
  reconnects = 0;
  reinits = 0;

  constructor(
    private readonly transport: AgentTransport,
    private readonly log: Logger,
    private readonly backoff: BackoffOptions = {},
  ) {}

  get driver(): Elm327Driver | undefined {
    return this.current;
  }

  get canReopen(): boolean {
    return !('stream' in this.transport);
  }

  /** True once close() was called: the link opens nothing any more. */
  get closed(): boolean {
    return this.closing;
  }

  private async openStream(): Promise<Duplex> {
    const t = this.transport;
    if ('stream' in t) return t.stream;
    if ('open' in t) return t.open();
    return openSerialPort(t.path, t.baudRate);
  }

  /** An in-process stream belongs to its creator; a port the link opened is closed by it. */
  private async release(stream: Duplex): Promise<void> {
    if (this.canReopen) await releaseStream(stream);
  }

  /** Opens the port and initialises the adapter; throws when either fails (first start, CLI `read`). */
  async open(): Promise<AdapterInfo> {
    if (this.closing) throw agentError('ADAPTER_CLOSED', 'the adapter link is closed');
    const stream = await this.openStream();
    if (this.closing) {
      await this.release(stream);
      throw agentError('ADAPTER_CLOSED', 'the adapter link closed while the port opened');
    }
    this.opening = stream;
    const driver = new Elm327Driver(stream);
    try {
      const info = await initialiseAdapter(driver);
      if (this.closing) throw agentError('ADAPTER_CLOSED', 'the adapter link closed during initialisation');
      this.stream = stream;
      this.current = driver;
      this.info = info;
      return info;
    } catch (err) {
      driver.close();
      await this.release(stream);
      throw err;
    } finally {
      if (this.opening === stream) this.opening = undefined;
    }
  }

  /** Initialises the adapter again on the same port (after its banner appeared mid-stream). */
  async reinitialise(): Promise<void> {
    const driver = this.current;
    if (!driver) return;
    this.reinits++;
    this.log.warn('adapter reset detected; initialising again');
    driver.resetDetected = false;
    this.info = await initialiseAdapter(driver);
  }

  /**
   * Drops the current port and reopens it with backoff until it works or close() is called.
   * Resolves false when recovery is impossible (an in-process stream that ended) or the link is closing.
   */
  async reopen(reason: string): Promise<boolean> {
    await this.dropCurrent();
    if (!this.canReopen) return false;
    for (let attempt = 0; !this.closing; attempt++) {
      const delay = backoffDelay(attempt, this.backoff);
      this.log.warn({ reason, attempt, delayMs: delay }, 'adapter link lost; reopening');
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, delay);
        this.wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.wake = undefined;
      if (this.closing) break;
      try {
        await this.open();
        this.reconnects++;
        this.log.info('adapter link reopened');
        return true;
      } catch (err) {
        reason = (err as Error).message;
      }
    }
    return false;
  }

  private async dropCurrent(): Promise<void> {
    this.current?.close();
    this.current = undefined;
    const stream = this.stream;
    this.stream = undefined;
    if (stream) await this.release(stream);
  }

  /**
   * Closes the link in any state: polling, lost (a reopen sleeping or an attempt in progress: both end
   * now, reopen() resolves false) or never opened. Every port the link opened is closed, so the device
   * can be opened again at once.
   */
  async close(): Promise<void> {
    this.closing = true;
    this.wake?.();
    const opening = this.opening;
    this.opening = undefined;
    await Promise.all([this.dropCurrent(), opening ? this.release(opening) : undefined]);
  }
}
