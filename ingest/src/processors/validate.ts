import {
  parseCommandResult,
  parseDtcReport,
  parseLocation,
  parseStatus,
  parseTelemetryBatch,
  parseTopic,
  type CommandResult,
  type DeviceStatus,
  type DtcReport,
  type LocationFix,
  type ParseResult,
  type TelemetryBatch,
  type TopicAddress,
} from '@clutch/contracts';
import type { QueuedMessage } from '../queue/work-queue.js';

export type ValidatedMessage =
  | { kind: 'telemetry'; address: TopicAddress; batch: TelemetryBatch; message: QueuedMessage }
  | { kind: 'status'; address: TopicAddress; status: DeviceStatus; message: QueuedMessage }
  | { kind: 'location'; address: TopicAddress; fix: LocationFix; message: QueuedMessage }
  | { kind: 'dtc'; address: TopicAddress; report: DtcReport; message: QueuedMessage }
  | { kind: 'cmd_result'; address: TopicAddress; result: CommandResult; message: QueuedMessage }
  | { kind: 'invalid'; address: TopicAddress | null; reason: string; message: QueuedMessage };

/**
 * First processor: topic and payload against the contracts (`address`: the topic's, when the caller
 * parsed it already with addressOf). Never throws: a message that makes a
 * parser fail (a defect, on hostile input) is invalid with the reason, so it is dead-lettered alone.
 */
export function validateMessage(message: QueuedMessage, address?: TopicAddress): ValidatedMessage {
  try {
    return validate(message, address);
  } catch (err) {
    const reason = `payload could not be validated (${err instanceof Error ? `${err.name}: ${err.message}` : String(err)})`;
    let address: TopicAddress | null = null;
    try {
      address = parseTopic(message.topic);
    } catch {
      // the topic itself is what failed: the letter carries no address
    }
    return { kind: 'invalid', address, reason, message };
  }
}

/** The message's topic address, null where validateMessage finds none; the payload is not read. */
export function addressOf(message: QueuedMessage): TopicAddress | null {
  try {
    return typeof message.topic === 'string' ? parseTopic(message.topic) : null;
  } catch {
    return null;
  }
}

function validate(message: QueuedMessage, known: TopicAddress | undefined): ValidatedMessage {
  if (typeof message.topic !== 'string')
    return { kind: 'invalid', address: null, reason: 'topic is not a string', message };
  const address = known ?? parseTopic(message.topic);
  if (!address)
    return {
      kind: 'invalid',
      address: null,
      reason: `topic ${JSON.stringify(message.topic)} is not a Clutch topic`,
      message,
    };
  const invalid = (reason: string): ValidatedMessage => ({ kind: 'invalid', address, reason, message });
  const check = <T>(parsed: ParseResult<T>, ok: (value: T) => ValidatedMessage): ValidatedMessage =>
    parsed.ok ? ok(parsed.value) : invalid(parsed.reason);
  switch (address.kind) {
    case 'telemetry':
      return check(parseTelemetryBatch(message.payload), (batch) => ({ kind: 'telemetry', address, batch, message }));
    case 'status':
      return check(parseStatus(message.payload), (status) => ({ kind: 'status', address, status, message }));
    case 'location':
      return check(parseLocation(message.payload), (fix) => ({ kind: 'location', address, fix, message }));
    case 'dtc':
      return check(parseDtcReport(message.payload), (report) => ({ kind: 'dtc', address, report, message }));
    case 'cmd_result': {
      // An MQTT 5 answer echoes the command's correlation data (its id), which then names the command;
      // without it (MQTT 3.1.1) the topic does.
      const correlated = message.correlationData?.toString('utf8');
      return check(parseCommandResult(message.payload), (result) =>
        result.id === (correlated ?? address.commandId)
          ? { kind: 'cmd_result', address, result, message }
          : invalid(
              correlated !== undefined
                ? `result id ${result.id} does not match correlation data ${JSON.stringify(correlated.slice(0, 64))}`
                : `result id ${result.id} does not match topic command id ${address.commandId}`,
            ),
      );
    }
    case 'cmd':
      return invalid('ingest does not consume downlink commands');
  }
}
