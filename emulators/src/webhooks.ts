import { seededRandom, shuffleInPlace } from './http.js';

/** How a flush of pending webhooks is disturbed, the way real deliveries are (at-least-once, any order). */
export interface DeliverOptions {
  /** `true`: every event twice; a number in (0, 1]: each event is sent twice with that probability. */
  duplicate?: boolean | number | undefined;
  /** Deliver in a random order (seeded by `seed`). */
  shuffle?: boolean | undefined;
  /** Seed of the random choices of `duplicate` and `shuffle` (reproducible runs). */
  seed?: number | undefined;
  /** Wait this long before each delivery. */
  delayMs?: number | undefined;
  /** Deliveries in flight at once (default 1: one after the other). */
  concurrency?: number | undefined;
  /**
   * Only the pending events this accepts are attempted (the rest stay pending): flushes of disjoint
   * events (one payment's each) then run side by side instead of one after another.
   */
  only?: ((event: OutgoingWebhook) => boolean) | undefined;
}

export interface DeliveryReport {
  attempted: number;
  delivered: number;
  failed: number;
}

export interface DeliveryAttempt {
  eventId: string;
  attempt: number;
  /** The receiver's HTTP status, or 0 when it could not be reached. */
  status: number;
  at: Date;
}

export interface OutgoingWebhook {
  id: string;
  body: string;
}

interface Pending {
  event: OutgoingWebhook;
  attempts: number;
}

export interface WebhookDispatcherOptions {
  /** Signs one delivery (a fresh timestamp per attempt, as the providers do). */
  headersFor(event: OutgoingWebhook): Record<string, string>;
  /** `auto`: delivered in the background as events happen, retried with backoff; `manual`: only on `deliver()`. */
  mode: 'auto' | 'manual';
  maxAttempts: number;
  retryDelayMs: number;
}

/**
 * At-least-once delivery of signed events to one URL: a 2xx acknowledges; anything else (or no answer)
 * keeps the event pending for the next attempt, up to `maxAttempts`.
 */
export class WebhookDispatcher {
  private url: string | undefined;
  private pending: Pending[] = [];
  private readonly log: DeliveryAttempt[] = [];
  private chain: Promise<unknown> = Promise.resolve();
  private timer: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(
    private readonly options: WebhookDispatcherOptions,
    url?: string,
  ) {
    this.url = url;
  }

  setUrl(url: string | undefined): void {
    this.url = url;
    if (url) this.schedule(0);
  }

  enqueue(event: OutgoingWebhook): void {
    this.pending.push({ event, attempts: 0 });
    this.schedule(0);
  }

  /** Sends one event again, whether or not it was delivered (a provider's redelivery). */
  redeliver(event: OutgoingWebhook): void {
    this.pending.push({ event, attempts: 0 });
    this.schedule(0);
  }

  attempts(): DeliveryAttempt[] {
    return [...this.log];
  }

  pendingCount(): number {
    return this.pending.length;
  }

  /** Attempts every pending event (that `only` accepts) once now, ignoring backoff; failures stay pending. */
  deliver(options: DeliverOptions = {}): Promise<DeliveryReport> {
    // A filtered flush takes its events synchronously, so it cannot take another flush's: no queueing.
    if (options.only) return this.flush(options);
    const run = this.chain.then(() => this.flush(options));
    this.chain = run.catch(() => undefined);
    return run;
  }

  close(): void {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
  }

  private schedule(delayMs: number): void {
    if (this.options.mode !== 'auto' || this.closed || !this.url || this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.deliver().then((report) => {
        if (report.failed > 0) {
          const attempts = Math.max(0, ...this.pending.map((p) => p.attempts));
          this.schedule(Math.min(this.options.retryDelayMs * 2 ** (attempts - 1), 30_000));
        }
      });
    }, delayMs);
    this.timer.unref();
  }

  private async flush(options: DeliverOptions): Promise<DeliveryReport> {
    const report: DeliveryReport = { attempted: 0, delivered: 0, failed: 0 };
    const url = this.url;
    if (!url || this.pending.length === 0) return report;
    const batch: Pending[] = [];
    const kept: Pending[] = [];
    for (const p of this.pending) (!options.only || options.only(p.event) ? batch : kept).push(p);
    this.pending = kept;
    if (batch.length === 0) return report;
    const random = seededRandom(options.seed ?? 1);
    const sends: Pending[] = [];
    for (const item of batch) {
      sends.push(item);
      const p = options.duplicate === true ? 1 : typeof options.duplicate === 'number' ? options.duplicate : 0;
      if (p > 0 && random() < p) sends.push(item);
    }
    if (options.shuffle) shuffleInPlace(sends, random);
    const ok = new Set<Pending>();
    const tried = new Set<Pending>();
    const concurrency = Math.max(1, options.concurrency ?? 1);
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < sends.length) {
        const item = sends[next++] as Pending;
        if (options.delayMs) await new Promise((r) => setTimeout(r, options.delayMs));
        if (!tried.has(item)) item.attempts += 1;
        tried.add(item);
        report.attempted += 1;
        const status = await this.post(url, item.event);
        this.log.push({ eventId: item.event.id, attempt: item.attempts, status, at: new Date() });
        if (status >= 200 && status < 300) ok.add(item);
      }
    };
    await Promise.all(Array.from({ length: concurrency }, worker));
    for (const item of batch) {
      if (ok.has(item)) report.delivered += 1;
      else {
        report.failed += 1;
        if (item.attempts < this.options.maxAttempts) this.pending.push(item);
      }
    }
    return report;
  }

  private async post(url: string, event: OutgoingWebhook): Promise<number> {
    try {
      const res = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...this.options.headersFor(event) },
        body: event.body,
        signal: AbortSignal.timeout(10_000),
      });
      await res.arrayBuffer();
      return res.status;
    } catch {
      return 0;
    }
  }
}
