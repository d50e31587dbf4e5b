import type { MessageProcessor } from './message-processor.js';
import { refuse } from './outcome.js';
import { checkTime } from './time-window.js';

/**
 * A trouble-code report: stored when dated inside the time window, else dead-lettered. Its `dtc` live
 * event goes to the outbox in the store's transaction (store-outcome.ts), not on the bus from here.
 */
export const processDtc: MessageProcessor<'dtc'> = ({ address, report, message }, binding, { bounds }, outcome) => {
  const outside = checkTime('trouble-code report', report.t, bounds);
  if (outside) return refuse(outcome, address, message, outside);
  outcome.dtcs.push({ tenantId: binding.tenantId, vehicleId: binding.vehicleId, report });
  outcome.devices.push({
    tenantId: binding.tenantId,
    deviceId: binding.deviceId,
    seq: null,
    seenAt: new Date(message.receivedAt),
  });
};
