import type { Logger } from 'pino';
import { buildChatService } from './chat/build.js';
import type { ChatKeyRing } from './chat/crypto.js';
import { register as accounts } from './accounts/register.js';
import { register as ai } from './ai/register.js';
import { register as alerts } from './alerts/register.js';
import { AlertsService } from './alerts/service.js';
import { register as analytics } from './analytics/register.js';
import { register as apiKeys } from './api-keys/register.js';
import { register as bookings } from './bookings/register.js';
import { register as bookingsFromAlert } from './bookings/from-alert-register.js';
import { register as chat } from './chat/register.js';
import { register as chatAttachments } from './chat/attachments/register.js';
import { register as checkIns } from './check-ins/register.js';
import { register as commissions } from './commissions/register.js';
import { register as commands } from './commands/register.js';
import { register as dataQuality } from './data-quality/register.js';
import { register as deadLetters } from './dead-letters/register.js';
import { register as documents } from './documents/register.js';
import { register as devices } from './devices/register.js';
import { lazyDtcDescriptions } from './diagnostics/dtc-descriptions.js';
import { register as diagnostics } from './diagnostics/register.js';
import { DiagnosticsService } from './diagnostics/service.js';
import { register as errorCodes } from './error-codes/register.js';
import { register as estimates } from './estimates/register.js';
import type { Domain, SharedServices } from './domain.js';
import { register as fraud } from './fraud/register.js';
import { register as health } from './health/register.js';
import { register as installments } from './installments/register.js';
import { register as location } from './location/register.js';
import { register as mfa } from './mfa/register.js';
import { register as mobile } from './mobile/register.js';
import { register as notifications } from './notifications/register.js';
import { register as openapi } from './openapi/register.js';
import { register as partners } from './partners/register.js';
import { register as partsOrders } from './parts-orders/register.js';
import { register as payments } from './payments/register.js';
import { register as repairOrders } from './repair-orders/register.js';
import { register as reviews } from './reviews/register.js';
import { register as roles } from './roles/register.js';
import { register as security } from './security/register.js';
import { register as sessions } from './sessions/register.js';
import { register as signals } from './signals/register.js';
import { register as telemetry } from './telemetry/register.js';
import { register as telemetryImports } from './telemetry-imports/register.js';
import type { LatestValuesCache } from './telemetry/latest-cache.js';
import { TelemetryService } from './telemetry/service.js';
import { register as tenants } from './tenants/register.js';
import { TenantsService } from './tenants/service.js';
import { register as trips } from './trips/register.js';
import { register as vehicleHealth } from './vehicle-health/register.js';
import { register as vehicleShares } from './vehicle-shares/register.js';
import { register as vehicles } from './vehicles/register.js';
import { createOwnVehicles } from './vehicles/own-vehicles.js';
import { VehiclesService } from './vehicles/service.js';
import { register as wallet } from './wallet/register.js';
import { register as warranties } from './warranties/register.js';

/**
 * Every domain of the API, in the order their routes are declared (which is the order of the
 * OpenAPI document). Adding a domain: a folder with a `register.ts`, and one line here (docs/api.md,
 * "Adding a domain").
 */
export const DOMAINS: readonly Domain[] = [
  { name: 'health', register: health },
  { name: 'signals', register: signals },
  { name: 'vehicles', register: vehicles },
  { name: 'telemetry', register: telemetry },
  { name: 'telemetry-imports', register: telemetryImports },
  { name: 'tenants', register: tenants },
  { name: 'devices', register: devices },
  { name: 'api-keys', register: apiKeys },
  { name: 'commands', register: commands },
  { name: 'trips', register: trips },
  { name: 'diagnostics', register: diagnostics },
  { name: 'error-codes', register: errorCodes },
  { name: 'alerts', register: alerts },
  { name: 'data-quality', register: dataQuality },
  { name: 'vehicle-health', register: vehicleHealth },
  { name: 'location', register: location },
  { name: 'analytics', register: analytics },
  { name: 'dead-letters', register: deadLetters },
  { name: 'ai', register: ai },
  { name: 'security', register: security },
  { name: 'fraud', register: fraud },
  { name: 'accounts', register: accounts },
  { name: 'sessions', register: sessions },
  { name: 'mfa', register: mfa },
  { name: 'mobile', register: mobile },
  { name: 'roles', register: roles },
  { name: 'vehicle-shares', register: vehicleShares },
  { name: 'partners', register: partners },
  { name: 'bookings', register: bookings },
  { name: 'bookings-from-alert', register: bookingsFromAlert },
  { name: 'repair-orders', register: repairOrders },
  { name: 'check-ins', register: checkIns },
  { name: 'estimates', register: estimates },
  { name: 'parts-orders', register: partsOrders },
  { name: 'warranties', register: warranties },
  { name: 'reviews', register: reviews },
  { name: 'commissions', register: commissions },
  { name: 'documents', register: documents },
  // Before payments: /payments/installments must not be taken for /payments/:id.
  { name: 'installments', register: installments },
  { name: 'payments', register: payments },
  { name: 'wallet', register: wallet },
  { name: 'chat', register: chat },
  { name: 'chat-attachments', register: chatAttachments },
  { name: 'notifications', register: notifications },
  { name: 'openapi', register: openapi },
];

/** The services several domains use, built once per API. */
export function sharedServices(options: {
  datasetsDir?: string | undefined;
  latestValues?: LatestValuesCache | undefined;
  chat?: { keyRing: ChatKeyRing } | undefined;
  logger: Logger;
  prefix: string;
}): SharedServices {
  // Vehicles partners' tenants were found to own: the vehicle check once per vehicle and TTL, not per request.
  const ownVehicles = createOwnVehicles();
  return {
    vehicles: new VehiclesService(),
    telemetry: new TelemetryService(undefined, options.latestValues, ownVehicles),
    tenants: new TenantsService(),
    diagnostics: new DiagnosticsService(lazyDtcDescriptions(options.datasetsDir)),
    alerts: new AlertsService(undefined, ownVehicles),
    chat: buildChatService({ chat: options.chat, logger: options.logger, prefix: options.prefix }),
  };
}
