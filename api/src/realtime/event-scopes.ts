import type { MarketplaceEvent, VehicleEvent } from '@clutch/contracts';
import { API_KEY_SCOPES, type ApiKeyScope, type Permission } from '@clutch/identity';

/**
 * The one table of which scope a live event needs: the scope of the REST route that serves the same
 * data, so a key sees the same things on Socket.io as over REST.
 *
 * - `readings`, `alert`: `GET /api/vehicles/:id/latest|telemetry|alerts` need `telemetry:read`;
 * - `presence`: `status:read`, the scope of the device status topics on the broker;
 * - `location`: `GET /api/telematics/history` needs `location:read`;
 * - `dtc`: `GET /api/obd2/diagnostics/:vehicleId` needs `dtc:read`;
 * - `command`: `GET /api/commands/:id` needs `commands:write`.
 */
export const EVENT_SCOPES = {
  readings: 'telemetry:read',
  alert: 'telemetry:read',
  presence: 'status:read',
  location: 'location:read',
  dtc: 'dtc:read',
  command: 'commands:write',
} as const satisfies Record<VehicleEvent['type'], ApiKeyScope>;

/** Scopes that let a socket receive anything at all; a key with none of them has no reason to connect. */
export const LIVE_SCOPES: readonly ApiKeyScope[] = API_KEY_SCOPES.filter((scope) =>
  Object.values(EVENT_SCOPES).includes(scope as never),
);

export const scopeOfEvent = (type: VehicleEvent['type']): ApiKeyScope => EVENT_SCOPES[type];

/**
 * The marketplace's live events and the permission each needs: the read permission of the REST
 * routes that serve the same rows (`GET /api/bookings...`, `GET /api/repair-orders...`). Users only
 * (API keys carry vehicle scopes, none of these); which rooms a user joins is decided per shop and
 * per customer side by the policy function (marketplace-rooms.ts).
 */
export const MARKETPLACE_EVENT_SCOPES = {
  booking_update: 'bookings:read',
  service_status_change: 'repair-orders:read',
  payment_notification: 'payments:read',
} as const satisfies Record<MarketplaceEvent['type'], Permission>;

export type MarketplacePermission = (typeof MARKETPLACE_EVENT_SCOPES)[MarketplaceEvent['type']];
