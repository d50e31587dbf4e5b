/** One MQTT message waiting to be processed. */
export interface QueuedMessage {
  topic: string;
  payload: Buffer;
  /** Broker receive time, ms since the epoch. */
  receivedAt: number;
}

export type BatchHandler = (messages: QueuedMessage[]) => Promise<void>;

/**
 * Between the broker and the processors. A message leaves the queue only after the handler that
 * received it resolved (its rows are committed); a handler that throws gets the same messages again.
 * Implementations: in-process (embedded default) and, for scale-out, Redis Streams.
 */
export interface WorkQueue {
  /** Resolves once the queue has accepted the message; waits while the queue is full (backpressure). */
  enqueue(message: QueuedMessage): Promise<void>;
  /** Starts the single consumer loop of this process. */
  consume(handler: BatchHandler): void;
  /** Messages accepted and not yet acknowledged. */
  depth(): number;
  /** Stops taking new messages, waits until everything accepted is handled, then stops the loop. */
  drain(): Promise<void>;
}
