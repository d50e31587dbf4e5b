import type { MessageProcessor } from './message-processor.js';
import { refuse } from './outcome.js';
import { checkTime } from './time-window.js';

/** A trouble-code report: stored and announced when dated inside the time window, else dead-lettered. */
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
  outcome.events.push({
    type: 'dtc',
    tenantId: binding.tenantId,
    vehicleId: binding.vehicleId,
    at: new Date(report.t).toISOString(),
    codes: report.codes.map((c) => ({ code: c.code, kind: c.kind })),
  });
};
