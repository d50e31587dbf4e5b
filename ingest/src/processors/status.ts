import type { MessageProcessor } from './message-processor.js';

/**
 * Status (the retained `online`, or the Last Will's `offline`): the device's presence. Dated by
 * the receive time; the status's own `t` (the device clock, uncorrected, and absent from the Last
 * Will) is not stored, so the time window does not apply to it.
 */
export const processStatus: MessageProcessor<'status'> = ({ status, message }, binding, _context, outcome) => {
  const online = status.state === 'online';
  outcome.devices.push({
    tenantId: binding.tenantId,
    deviceId: binding.deviceId,
    seq: null,
    seenAt: new Date(message.receivedAt),
  });
  outcome.presence.push({
    tenantId: binding.tenantId,
    deviceId: binding.deviceId,
    online,
    at: new Date(message.receivedAt),
  });
  outcome.events.push({
    type: 'presence',
    tenantId: binding.tenantId,
    vehicleId: binding.vehicleId,
    deviceId: binding.deviceId,
    online,
    at: new Date(message.receivedAt).toISOString(),
  });
};
