import type { SeqGapDetector } from './seq-gaps.js';
import { processCommandResult } from './command-result.js';
import { processDtc } from './dtc.js';
import { processLocation } from './location.js';
import type { MessageOf, MessageContext, MessageProcessor, ProcessedKind } from './message-processor.js';
import { refuse, type BatchOutcome } from './outcome.js';
import type { DeviceBinding } from './resolve-device.js';
import { processStatus } from './status.js';
import { processTelemetry } from './telemetry.js';
import { boundsAround, type TimeWindow } from './time-window.js';
import type { ValidatedMessage } from './validate.js';

/** The processor of each message kind (the topic's last segment, validate.ts). A new kind is one entry here. */
export const PROCESSORS: { readonly [K in ProcessedKind]: MessageProcessor<K> } = {
  telemetry: processTelemetry,
  status: processStatus,
  location: processLocation,
  dtc: processDtc,
  cmd_result: processCommandResult,
};

/**
 * One message's share of the batch outcome: an invalid message or one from an unprovisioned device
 * is dead-lettered here, any other goes to its kind's processor. May throw (a defect on hostile
 * input): the caller isolates it.
 */
export function processMessage(
  validated: ValidatedMessage,
  binding: DeviceBinding | null,
  deps: { window: TimeWindow; seqGaps: SeqGapDetector | undefined },
  outcome: BatchOutcome,
): void {
  if (validated.kind === 'invalid') return refuse(outcome, validated.address, validated.message, validated.reason);
  if (!binding)
    return refuse(
      outcome,
      validated.address,
      validated.message,
      `device ${validated.address.tenant}/${validated.address.device} is not provisioned`,
    );
  dispatch(
    validated,
    binding,
    { bounds: boundsAround(validated.message.receivedAt, deps.window), seqGaps: deps.seqGaps },
    outcome,
  );
}

function dispatch<K extends ProcessedKind>(
  validated: MessageOf<K>,
  binding: DeviceBinding,
  context: MessageContext,
  outcome: BatchOutcome,
): void {
  const processor: MessageProcessor<K> = PROCESSORS[validated.kind];
  processor(validated, binding, context, outcome);
}
