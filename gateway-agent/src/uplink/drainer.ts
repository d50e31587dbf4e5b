// Sends the disk queue oldest-first with a bounded window of unacknowledged batches (DESIGN §5).
// After hours offline the backlog drains as fast as PUBACKs return, but never more than `window`
// batches are outstanding, so a reconnecting fleet cannot flood the broker or its own memory.
import type { Logger } from 'pino';
import type { DiskQueue } from '../store/disk-queue.js';

export const DEFAULT_INFLIGHT_WINDOW = 16;

export interface DrainerOptions {
  readonly window?: number;
  /** Wait before retrying a batch whose publish failed (the client itself resends across reconnects). */
  readonly retryMs?: number;
  readonly logger?: Logger;
}

export class QueueDrainer {
  private readonly inFlight = new Set<number>();
  private readonly window: number;
  private retryTimer: NodeJS.Timeout | undefined;
  private stopped = false;
  private idleWaiters: (() => void)[] = [];
  acked = 0;
  maxInFlight = 0;

  constructor(
    private readonly queue: DiskQueue,
    /** Resolves on the broker's acknowledgement (MQTT QoS 1 PUBACK, [MQTT-4.3.2]). */
    private readonly publish: (payload: string, seq: number) => Promise<void>,
    private readonly options: DrainerOptions = {},
  ) {
    this.window = options.window ?? DEFAULT_INFLIGHT_WINDOW;
  }

  /** Fills the window from the queue; call after each append and on reconnect. */
  kick(): void {
    if (this.stopped) return;
    const free = this.window - this.inFlight.size;
    if (free > 0) {
      for (const seq of this.queue.oldest(free, this.inFlight)) this.send(seq);
    }
    this.notifyIdle();
  }

  private send(seq: number): void {
    let payload: string;
    try {
      payload = this.queue.read(seq);
    } catch (err) {
      this.options.logger?.error({ err, seq }, 'queued batch unreadable; dropping it');
      this.queue.remove(seq);
      return;
    }
    this.inFlight.add(seq);
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight.size);
    this.publish(payload, seq).then(
      () => {
        this.inFlight.delete(seq);
        this.queue.remove(seq);
        this.acked++;
        this.kick();
      },
      (err: unknown) => {
        this.inFlight.delete(seq);
        if (this.stopped) return;
        this.options.logger?.warn({ err: (err as Error).message, seq }, 'batch publish failed; will retry');
        this.retryTimer ??= setTimeout(() => {
          this.retryTimer = undefined;
          this.kick();
        }, this.options.retryMs ?? 1000);
      },
    );
  }

  private notifyIdle(): void {
    if (this.queue.size > 0 || this.inFlight.size > 0) return;
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const w of waiters) w();
  }

  get pending(): number {
    return this.queue.size;
  }

  get inFlightCount(): number {
    return this.inFlight.size;
  }

  /** Resolves true once the queue is empty and nothing is in flight, false after `timeoutMs`. */
  waitIdle(timeoutMs: number): Promise<boolean> {
    if (this.queue.size === 0 && this.inFlight.size === 0) return Promise.resolve(true);
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.idleWaiters = this.idleWaiters.filter((w) => w !== done);
        resolve(false);
      }, timeoutMs);
      const done = () => {
        clearTimeout(timer);
        resolve(true);
      };
      this.idleWaiters.push(done);
    });
  }

  stop(): void {
    this.stopped = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
  }
}
