import type { BatchOutcome } from './outcome.js';
import type { DeviceBinding } from './resolve-device.js';
import type { SeqGapDetector } from './seq-gaps.js';
import type { TimeBounds } from './time-window.js';
import type { ValidatedMessage } from './validate.js';

/** The kinds of message that have a processor: every valid one. */
export type ProcessedKind = Exclude<ValidatedMessage['kind'], 'invalid'>;

/** A valid message of kind K (an intersection rather than Extract, so a generic K still has a `kind`). */
export type MessageOf<K extends ProcessedKind> = Exclude<ValidatedMessage, { kind: 'invalid' }> & { kind: K };

/** What a processor knows of the message beyond itself and its device, computed once per message. */
export interface MessageContext {
  /** The times a reading of this message may carry: the time window around its receive time (time-window.ts). */
  bounds: TimeBounds;
  /** The devices' batch-sequence checks, when this worker sees every batch of a device (seq-gaps.ts). */
  seqGaps: SeqGapDetector | undefined;
}

/**
 * One message kind's step of the chain: given a validated message of its kind and the device's
 * binding, adds to the batch outcome what is to be stored (rows, presence, progress, findings),
 * refused (dead letters) and announced (live events). Synchronous and without database access:
 * the batch's repositories write the outcome in one transaction afterwards, so a processor costs
 * no round trip. It may throw on hostile input; the caller then takes the message's share out of
 * the outcome again and dead-letters it.
 */
export type MessageProcessor<K extends ProcessedKind> = (
  validated: MessageOf<K>,
  binding: DeviceBinding,
  context: MessageContext,
  outcome: BatchOutcome,
) => void;
