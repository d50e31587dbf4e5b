import type { MessageProcessor } from './message-processor.js';
import { refuse } from './outcome.js';
import { checkTime } from './time-window.js';

/** A GPS fix: stored and announced when dated inside the time window, else dead-lettered. */
export const processLocation: MessageProcessor<'location'> = (
  { address, fix, message },
  binding,
  { bounds },
  outcome,
) => {
  const outside = checkTime('location fix', fix.t, bounds);
  if (outside) return refuse(outcome, address, message, outside);
  outcome.locations.push({ tenantId: binding.tenantId, vehicleId: binding.vehicleId, fix });
  outcome.devices.push({
    tenantId: binding.tenantId,
    deviceId: binding.deviceId,
    seq: null,
    seenAt: new Date(message.receivedAt),
  });
  outcome.events.push({
    type: 'location',
    tenantId: binding.tenantId,
    vehicleId: binding.vehicleId,
    at: new Date(fix.t).toISOString(),
    lat: fix.lat,
    lon: fix.lon,
    speedKmh: fix.speedKmh,
    headingDeg: fix.headingDeg,
  });
};
