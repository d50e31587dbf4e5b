/** One MQTT message waiting to be processed. */
export interface QueuedMessage {
  topic: string;
  payload: Buffer;
  /** Broker receive time, ms since the epoch. */
  receivedAt: number;
  /** MQTT 5 Correlation Data of the publish, when it had one (a command result names its command by it). */
  correlationData?: Buffer;
}

export type BatchHandler = (messages: QueuedMessage[]) => Promise<void>;

/** What a bounded drain did. */
export interface DrainResult {
  /** True when everything accepted was handled before the deadline. */
  complete: boolean;
  /**
   * Messages the queue gave up on at the deadline. Hand-offs among them were rejected (never
   * acknowledged, so their senders resend them); in Redis Streams they stay pending in the stream.
   */
  abandoned: number;
}

/** The queue gave up on a message (draining, or past its drain deadline); it was not stored. */
export class QueueClosedError extends Error {
  constructor(message = 'work queue is draining; not accepting new messages') {
    super(message);
    this.name = 'QueueClosedError';
  }
}

/** Default drain deadline: `npm start` must exit within seconds even with the database down. */
export const DEFAULT_DRAIN_TIMEOUT_MS = 10_000;

/**
 * Between the broker and the processors. A message leaves the queue only after the handler that
 * received it resolved (its rows are committed); a handler that throws gets the same messages again.
 * Implementations: in-process (embedded default) and, for scale-out, Redis Streams.
 */
export interface WorkQueue {
  /**
   * Resolves once the queue has accepted the message; waits while the queue is full (backpressure).
   * Accepted is not durable: only for sources that acknowledge nothing upstream (tests, benchmarks).
   */
  enqueue(message: QueuedMessage): Promise<void>;
  /**
   * Resolves once the message is durable: its batch committed or was dead-lettered (in-process), or
   * it is in the shared log (Redis Streams XADD). Rejects when the queue gives up on it (draining,
   * drain deadline passed): the caller must then not acknowledge it. Waits while the queue is full.
   *
   * `onAccepted`, when the queue holds a message a while before it is durable (in-process: until its
   * batch commits), is called once it is held, counted against the capacity, and before the promise
   * settles: the broker then reads the sender's next messages instead of waiting for the commit.
   * Not called when the message is refused, nor by a queue whose hand-off is durable at once.
   */
  handoff(message: QueuedMessage, onAccepted?: () => void): Promise<void>;
  /** Starts the single consumer loop of this process. */
  consume(handler: BatchHandler): void;
  /** Messages accepted and not yet acknowledged. */
  depth(): number;
  /**
   * Stops taking new messages and waits until everything accepted is handled, at most `timeoutMs`
   * (default DEFAULT_DRAIN_TIMEOUT_MS); then it stops retrying and gives up on what is left.
   */
  drain(timeoutMs?: number): Promise<DrainResult>;
}

/** Capped exponential backoff with jitter: workers retrying against a database that came back do not all hit it at once. */
export function backoffDelay(attempt: number, baseMs = 50, capMs = 5000, random: () => number = Math.random): number {
  const ceiling = Math.min(capMs, baseMs * 2 ** Math.min(attempt, 16));
  return Math.round(ceiling / 2 + (random() * ceiling) / 2);
}
