import type { MessageProcessor } from './message-processor.js';

/**
 * A device's answer to a downlink command. No device time to check: completion is dated by the
 * database's clock, which also decides whether the answer came in time (completeCommands in
 * @clutch/db). Its `command` event is announced only for a command the answer completed, so the
 * store step appends it to the outbox in the transaction that completes it (store-outcome.ts), not here.
 */
export const processCommandResult: MessageProcessor<'cmd_result'> = (
  { result, message },
  binding,
  _context,
  outcome,
) => {
  outcome.commands.push({
    tenantId: binding.tenantId,
    deviceId: binding.deviceId,
    vehicleId: binding.vehicleId,
    result,
  });
  outcome.devices.push({
    tenantId: binding.tenantId,
    deviceId: binding.deviceId,
    seq: null,
    seenAt: new Date(message.receivedAt),
  });
};
