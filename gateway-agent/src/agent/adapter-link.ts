// Owns the serial link to the ELM327: open, initialise, and recover. In a car the link fails in two
// ways that must heal without a human: the adapter resets (brown-out at engine crank; the banner
// appears mid-stream) and the port disappears (USB unplugged, Bluetooth RFCOMM dropped).
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import { Elm327Driver } from '../elm327/driver.js';
import { backoffDelay, type BackoffOptions } from '../transport/backoff.js';
import { openSerialPort } from '../transport/serial-port.js';
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

  private async openStream(): Promise<Duplex> {
    const t = this.transport;
    if ('stream' in t) return t.stream;
    if ('open' in t) return t.open();
    return openSerialPort(t.path, t.baudRate);
  }

  /** Opens the port and initialises the adapter; throws when either fails (first start, CLI `read`). */
  async open(): Promise<AdapterInfo> {
    const stream = await this.openStream();
    const driver = new Elm327Driver(stream);
    try {
      const info = await initialiseAdapter(driver);
      this.stream = stream;
      this.current = driver;
      this.info = info;
      return info;
    } catch (err) {
      driver.close();
      if (this.canReopen) stream.destroy();
      throw err;
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
    this.dropCurrent();
    if (!this.canReopen) return false;
    for (let attempt = 0; !this.closing; attempt++) {
      const delay = backoffDelay(attempt, this.backoff);
      this.log.warn({ reason, attempt, delayMs: delay }, 'adapter link lost; reopening');
      await new Promise((r) => setTimeout(r, delay));
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

  private dropCurrent(): void {
    this.current?.close();
    this.current = undefined;
    if (this.canReopen && this.stream && !this.stream.destroyed) this.stream.destroy();
    this.stream = undefined;
  }

  async close(): Promise<void> {
    this.closing = true;
    const stream = this.stream;
    this.current?.close();
    this.current = undefined;
    if (!this.canReopen || !stream) return;
    const port = stream as Duplex & { isOpen?: boolean; close?: (cb: () => void) => void };
    if (typeof port.close === 'function' && port.isOpen)
      await new Promise<void>((resolve) => port.close!(() => resolve()));
    else stream.destroy();
  }
}
