// The access matrix of issue 14: every route of the OpenAPI document, called by seven principals on a
// resource of their own and on somebody else's, against the one table in expected-access.ts.
import { randomUUID } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { startStripeEmulator, type StripeEmulator } from '@clutch/emulators';
import { createApiKey, generateSigningKeys } from '@clutch/identity';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { JobEnqueuer } from '../ai/retrain-jobs.js';
import { NOTIFICATION_DISPATCH_QUEUE } from '../notifications/queues.js';
import { createCashProvider } from '../payments/providers/cash.js';
import { createStripeProvider } from '../payments/providers/stripe.js';
import { signedInUser, type TestUser } from '../roles/test-users.js';
import { call, startFixture, type Fixture, type Reply } from '../test-fixtures.js';
import { seedComms, type CommsBundle } from './comms-fixture.js';
import { EXPECTED, PRINCIPALS, outcomeOf, type PrincipalName, type Side } from './expected-access.js';
import { seedMarketplace, type MarketplaceBundle } from './marketplace-fixture.js';
import { seedMoney, type MoneyBundle } from './money-fixture.js';

const ADMIN = 'admin-token-for-matrix-0123456789';
const SINK = 'matrix-sink'; // a partner tenant without users: shares made by the matrix go there

/** What one principal calls "theirs": the resources of its tenant, vehicle, user and session. */
interface Bundle {
  tenantId: string;
  vehicleId: string;
  /** A colleague of the principal in its tenant (no roles but `heldRoleId`): whom its administration targets. */
  userId: string;
  /** A session of this user that no test request signs in with (a target for DELETE /sessions/:id). */
  sessionId: string;
  deviceId: string;
  keyId: string;
  /** A role of the tenant without permissions (read, renamed, granted); another to delete; one the colleague holds. */
  roleId: string;
  dropRoleId: string;
  heldRoleId: string;
  shareId: string;
  commandId: string;
  deadLetterId: string;
  /** An imported log of its vehicle (GET /vehicles/:id/imports/:importId). */
  importId: string;
  /** Its shop, booking, repair order and what hangs off them (marketplace-fixture.ts). */
  m: MarketplaceBundle;
  /** Its payment, installment plan, payout, wallet hold, fraud alert and block (money-fixture.ts). */
  money: MoneyBundle;
  /** Its booking's chat room, messages, attachment, notification, device and scheduled message (comms-fixture.ts). */
  c: CommsBundle;
}

interface Sample {
  path: string;
  body?: unknown;
  /** Signs out or revokes: sent with a session of its own, so the principal's token keeps working. */
  fresh?: boolean;
}

type SampleOf = (target: Bundle, me: Bundle) => Sample;

const until = (): string => new Date(Date.now() + 86_400_000).toISOString();
const uniq = (): string => randomUUID().slice(0, 8);

const soon = (days: number): string => new Date(Date.now() + days * 86_400_000).toISOString();
/** A 1x1 PNG, base64: a photo any photo route accepts. */
const PNG64 = 'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR4nGNg+M/AAAUAAgHhsvSiAAAAAElFTkSuQmCC';

/**
 * The marketplace's routes (issue 15), on the shop, booking and repair order of the target bundle
 * (marketplace-fixture.ts). Writes get valid input: those routes decide in the service, after
 * validation, so a 400 would hide the decision.
 */
const MARKETPLACE_SAMPLES: Record<string, SampleOf> = {
  'get /partners': () => ({ path: '/partners' }),
  'post /partners': () => ({
    path: '/partners',
    body: { name: `Matrix shop ${uniq()}`, kinds: ['repair_center'], timeZone: 'Europe/Berlin', currency: 'EUR' },
  }),
  'get /partners/:id': (t) => ({ path: `/partners/${t.m.partnerId}` }),
  'patch /partners/:id': (t) => ({ path: `/partners/${t.m.partnerId}`, body: { description: 'Matrix' } }),
  'put /partners/:id/opening-hours': (t) => ({
    path: `/partners/${t.m.partnerId}/opening-hours`,
    body: { hours: [1, 2, 3, 4, 5, 6, 7].map((weekday) => ({ weekday, opens: '00:00', closes: '23:59' })) },
  }),
  'put /partners/:id/special-days': (t) => ({ path: `/partners/${t.m.partnerId}/special-days`, body: { days: [] } }),
  'get /partners/:id/services': (t) => ({ path: `/partners/${t.m.partnerId}/services` }),
  'post /partners/:id/services': (t) => ({
    path: `/partners/${t.m.partnerId}/services`,
    body: { code: 'oil_change', name: `Oil ${uniq()}`, priceKind: 'fixed', priceMinor: 4000, durationMinutes: 30 },
  }),
  'patch /partners/:id/services/:serviceId': (t) => ({
    path: `/partners/${t.m.partnerId}/services/${t.m.serviceId}`,
    body: { name: 'Diagnostics' },
  }),
  'get /partners/:id/parts': (t) => ({ path: `/partners/${t.m.partnerId}/parts` }),
  'post /partners/:id/parts': (t) => ({
    path: `/partners/${t.m.partnerId}/parts`,
    body: { sku: `M-${uniq()}`, name: 'Filter', priceMinor: 1200, stock: 5 },
  }),
  'patch /partners/:id/parts/:partId': (t) => ({
    path: `/partners/${t.m.partnerId}/parts/${t.m.partId}`,
    body: { name: 'Spark plug' },
  }),
  'post /partners/:id/parts/:partId/stock': (t) => ({
    path: `/partners/${t.m.partnerId}/parts/${t.m.partId}/stock`,
    body: { delta: 1 },
  }),
  'get /partners/:id/photos': (t) => ({ path: `/partners/${t.m.partnerId}/photos` }),
  'post /partners/:id/photos': (t) => ({ path: `/partners/${t.m.partnerId}/photos`, body: { data: PNG64 } }),
  'get /partners/:id/photos/:photoId': (t) => ({ path: `/partners/${t.m.partnerId}/photos/${t.m.photoId}` }),
  'delete /partners/:id/photos/:photoId': (t) => ({ path: `/partners/${t.m.partnerId}/photos/${t.m.dropPhotoId}` }),
  'get /partners/:id/reviews': (t) => ({ path: `/partners/${t.m.partnerId}/reviews` }),
  'get /location/nearby-services': () => ({ path: '/location/nearby-services?lat=52.5&lon=13.4&radiusKm=50' }),
  'get /partners/:id/resources': (t) => ({ path: `/partners/${t.m.partnerId}/resources` }),
  'post /partners/:id/resources': (t) => ({
    path: `/partners/${t.m.partnerId}/resources`,
    body: { kind: 'bay', name: `Bay ${uniq()}` },
  }),
  'put /partners/:id/resources/:resourceId': (t) => ({
    path: `/partners/${t.m.partnerId}/resources/${t.m.resourceId}`,
    body: { kind: 'technician', name: 'Tech' },
  }),
  'delete /partners/:id/resources/:resourceId': (t) => ({
    path: `/partners/${t.m.partnerId}/resources/${t.m.dropResourceId}`,
  }),
  'get /partners/:id/booking-rules': (t) => ({ path: `/partners/${t.m.partnerId}/booking-rules` }),
  'put /partners/:id/booking-rules': (t) => ({
    path: `/partners/${t.m.partnerId}/booking-rules`,
    body: { holdMinutes: 5 },
  }),
  'get /partners/:id/availability': (t) => ({
    path: `/partners/${t.m.partnerId}/availability?serviceId=${t.m.serviceId}&days=2`,
  }),
  // Bookings name the caller's target vehicle at the target's shop.
  'post /bookings/holds': (t) => ({
    path: '/bookings/holds',
    body: { partnerId: t.m.partnerId, serviceId: t.m.serviceId, vehicleId: t.vehicleId, startsAt: soon(20) },
  }),
  'post /bookings': (t) => ({
    path: '/bookings',
    body: { partnerId: t.m.partnerId, serviceId: t.m.serviceId, vehicleId: t.vehicleId, startsAt: soon(21) },
  }),
  'post /bookings/from-alert': (t) => ({
    path: '/bookings/from-alert',
    body: {
      vehicleId: t.vehicleId,
      codes: ['P0301'],
      partnerId: t.m.partnerId,
      serviceId: t.m.serviceId,
      startsAt: soon(22),
    },
  }),
  'get /bookings': () => ({ path: '/bookings' }),
  'get /bookings/:id': (t) => ({ path: `/bookings/${t.m.bookingId}` }),
  'post /bookings/:id/confirm': (t) => ({ path: `/bookings/${t.m.bookingId}/confirm` }),
  'post /bookings/:id/reschedule': (t) => ({
    path: `/bookings/${t.m.bookingId}/reschedule`,
    body: { startsAt: soon(23) },
  }),
  'post /bookings/:id/cancel': (t) => ({ path: `/bookings/${t.m.dropBookingId}/cancel`, body: {} }),
  'get /repair-orders': () => ({ path: '/repair-orders' }),
  'get /repair-orders/:id': (t) => ({ path: `/repair-orders/${t.m.repairOrderId}` }),
  'post /repair-orders/:id/transitions': (t) => ({
    path: `/repair-orders/${t.m.repairOrderId}/transitions`,
    body: { to: 'closed' },
  }),
  'post /repair-orders/:id/resume': (t) => ({ path: `/repair-orders/${t.m.repairOrderId}/resume`, body: {} }),
  'post /repair-orders/:id/check-in': (t) => ({
    path: `/repair-orders/${t.m.repairOrderId}/check-in`,
    body: { odometerKm: 42_100 },
  }),
  'get /repair-orders/:id/check-in': (t) => ({ path: `/repair-orders/${t.m.repairOrderId}/check-in` }),
  'post /repair-orders/:id/check-in/photos': (t) => ({
    path: `/repair-orders/${t.m.repairOrderId}/check-in/photos`,
    body: { photos: [{ data: PNG64 }] },
  }),
  'get /repair-orders/:id/check-in/photos/:photoId': (t) => ({
    path: `/repair-orders/${t.m.repairOrderId}/check-in/photos/${t.m.checkInPhotoId}`,
  }),
  'get /repair-orders/:id/warranty': (t) => ({ path: `/repair-orders/${t.m.repairOrderId}/warranty` }),
  'get /estimates': (t) => ({ path: `/estimates?repairOrderId=${t.m.repairOrderId}` }),
  'post /estimates': (t) => ({
    path: '/estimates',
    body: {
      repairOrderId: t.m.repairOrderId,
      lines: [{ kind: 'fee', description: 'Matrix', quantity: 1, unitPriceMinor: 100, taxRateBp: 1900 }],
    },
  }),
  'get /estimates/:id': (t) => ({ path: `/estimates/${t.m.estimateId}` }),
  'put /estimates/:id': (t) => ({
    path: `/estimates/${t.m.estimateId}`,
    body: { lines: [{ kind: 'fee', description: 'Matrix', quantity: 1, unitPriceMinor: 100, taxRateBp: 1900 }] },
  }),
  'post /estimates/:id/send': (t) => ({ path: `/estimates/${t.m.estimateId}/send` }),
  'post /estimates/:id/revise': (t) => ({ path: `/estimates/${t.m.estimateId}/revise` }),
  'post /estimates/:id/decision': (t) => ({
    path: `/estimates/${t.m.estimateId}/decision`,
    body: { lines: [{ lineId: t.m.estimateId, decision: 'approved' }] },
  }),
  'post /parts-orders': (t) => ({
    path: '/parts-orders',
    body: {
      supplierPartnerId: t.m.supplierPartnerId,
      partnerId: t.m.partnerId,
      lines: [{ partId: t.m.supplierPartId, quantity: 1 }],
    },
  }),
  'get /parts-orders': () => ({ path: '/parts-orders' }),
  'get /parts-orders/:id': (t) => ({ path: `/parts-orders/${t.m.partsOrderId}` }),
  'post /parts-orders/:id/accept': (t) => ({ path: `/parts-orders/${t.m.partsOrderId}/accept`, body: {} }),
  'post /parts-orders/:id/ship': (t) => ({ path: `/parts-orders/${t.m.partsOrderId}/ship`, body: {} }),
  'post /parts-orders/:id/deliver': (t) => ({ path: `/parts-orders/${t.m.partsOrderId}/deliver`, body: {} }),
  'post /parts-orders/:id/cancel': (t) => ({ path: `/parts-orders/${t.m.partsOrderId}/cancel`, body: {} }),
  'post /reviews': (t) => ({ path: '/reviews', body: { bookingId: t.m.reviewedBookingId, rating: 4 } }),
  'post /reviews/:id/answer': (t) => ({ path: `/reviews/${t.m.reviewId}/answer`, body: { text: 'Thank you' } }),
  'post /obd2/error-codes': (t) => ({ path: '/obd2/error-codes', body: { codes: ['P0301'], vehicleId: t.vehicleId } }),
};

/**
 * The money routes (issue 16), on the target bundle's payment, plan, payout, hold, alert and block
 * (money-fixture.ts). Writes get valid input and, where the route would move money, a request the
 * service refuses after its decision (a refund above what is left, a capture of a captured payment,
 * a payoff of a paid plan, an installment plan of a repair order without an approved estimate).
 */
const MONEY_SAMPLES: Record<string, SampleOf> = {
  'get /payments/config': () => ({ path: '/payments/config' }),
  'post /payments/process': (t) => ({
    path: '/payments/process',
    body: { bookingId: t.m.bookingId, provider: 'cash' },
  }),
  'post /payments/refund': (t) => ({
    path: '/payments/refund',
    body: { paymentId: t.money.paymentId, amountMinor: 999_999_999, reason: 'matrix' },
  }),
  'post /payments/verify': (t) => ({ path: '/payments/verify', body: { paymentId: t.money.paymentId } }),
  'get /payments/history': () => ({ path: '/payments/history' }),
  'get /payments/reconciliations': () => ({ path: '/payments/reconciliations' }),
  'get /payments/disputes': () => ({ path: '/payments/disputes' }),
  'get /payments/:id': (t) => ({ path: `/payments/${t.money.paymentId}` }),
  'post /payments/:id/capture': (t) => ({ path: `/payments/${t.money.paymentId}/capture`, body: {} }),
  'post /payments/:id/cancel': (t) => ({ path: `/payments/${t.money.paymentId}/cancel`, body: {} }),
  'post /payments/:id/confirm': (t) => ({
    path: `/payments/${t.money.paymentId}/confirm`,
    body: { paymentMethod: 'pm_card_visa' },
  }),
  'post /payments/webhooks/:provider': () => ({ path: '/payments/webhooks/stripe', body: {} }),
  'get /payments/:id/receipt.pdf': (t) => ({ path: `/payments/${t.money.paymentId}/receipt.pdf` }),
  'get /repair-orders/:id/invoice.pdf': (t) => ({ path: `/repair-orders/${t.m.repairOrderId}/invoice.pdf` }),
  'post /payments/installments/quote': (t) => ({
    path: '/payments/installments/quote',
    body: { repairOrderId: t.m.repairOrderId, count: 3 },
  }),
  'post /payments/installments': (t) => ({
    path: '/payments/installments',
    body: { repairOrderId: t.m.repairOrderId, count: 3, provider: 'stripe', paymentMethod: 'pm_card_visa' },
  }),
  'get /payments/installments': () => ({ path: '/payments/installments' }),
  'get /payments/installments/:id': (t) => ({ path: `/payments/installments/${t.money.planId}` }),
  'post /payments/installments/:id/payoff': (t) => ({ path: `/payments/installments/${t.money.planId}/payoff` }),
  // An active plan: an allowed caller gets 409 INSTALLMENT_PLAN_NOT_DEFAULTED, past authorization.
  'post /payments/installments/:id/write-off': (t) => ({
    path: `/payments/installments/${t.money.planId}/write-off`,
    body: { reason: 'access matrix' },
  }),
  'post /payments/installments/:id/reinstate': (t) => ({
    path: `/payments/installments/${t.money.planId}/reinstate`,
    body: { reason: 'access matrix' },
  }),
  'post /wallet/create': () => ({ path: '/wallet/create', body: { currency: 'EUR' } }),
  'get /wallet/balance': () => ({ path: '/wallet/balance?currency=EUR' }),
  'get /wallet/history': () => ({ path: '/wallet/history?currency=EUR' }),
  'post /wallet/hold': (t) => ({
    path: '/wallet/hold',
    body: { amountMinor: 100, currency: 'EUR', bookingId: t.m.bookingId, expiresInSeconds: 600 },
  }),
  'post /wallet/release': (t) => ({ path: '/wallet/release', body: { holdId: t.money.holdId } }),
  'post /wallet/transfer': (t) => ({
    path: '/wallet/transfer',
    body: { amountMinor: 1, currency: 'EUR', toUserId: t.money.recipientUserId },
  }),
  'post /commission/calculate': (t) => ({
    path: '/commission/calculate',
    body: { partnerId: t.m.partnerId, amountMinor: 10_000 },
  }),
  'get /commission/history': (t) => ({ path: `/commission/history?partnerId=${t.m.partnerId}` }),
  'get /commission/analytics': (t) => ({ path: `/commission/analytics?partnerId=${t.m.partnerId}` }),
  'get /commission/tiers': (t) => ({ path: `/commission/tiers?partnerId=${t.m.partnerId}` }),
  'put /commission/tiers': (t) => ({ path: '/commission/tiers', body: { partnerId: t.m.partnerId, tiers: [] } }),
  'post /commission/payout': (t) => ({ path: '/commission/payout', body: { partnerId: t.m.partnerId } }),
  'get /commission/payouts': (t) => ({ path: `/commission/payouts?partnerId=${t.m.partnerId}` }),
  'get /commission/payouts/:id/statement.pdf': (t) => ({
    path: `/commission/payouts/${t.money.payoutId}/statement.pdf`,
  }),
  'get /commission/payout-accounts': (t) => ({ path: `/commission/payout-accounts?partnerId=${t.m.partnerId}` }),
  'post /commission/payout-accounts': (t) => ({
    path: '/commission/payout-accounts',
    body: { partnerId: t.m.partnerId },
  }),
  'post /security/fraud/analyze': (t) => ({
    path: '/security/fraud/analyze',
    body: { assessmentId: t.money.assessmentId },
  }),
  'get /security/fraud/alerts': (t) => ({ path: `/security/fraud/alerts?tenantId=${t.tenantId}` }),
  'post /security/fraud/alerts/:id/review': (t) => ({
    path: `/security/fraud/alerts/${t.money.alertId}/review`,
    body: { outcome: 'dismissed' },
  }),
  'post /security/fraud/block': () => ({
    path: '/security/fraud/block',
    body: { subject: 'device', value: `matrix-${uniq()}`, minutes: 60, reason: 'matrix' },
  }),
  'get /security/fraud/blocks': () => ({ path: '/security/fraud/blocks' }),
  'delete /security/fraud/blocks/:id': (t) => ({ path: `/security/fraud/blocks/${t.money.blockId}` }),
  'get /security/fraud/reports': () => ({ path: '/security/fraud/reports' }),
};

/**
 * Chat and notifications (issue 17), on the target bundle's room, messages, attachment,
 * notification, device and scheduled message (comms-fixture.ts). Each DELETE names a resource no
 * other row needs: a message its sender deletes, another a moderator deletes from the foreign side.
 */
const COMMS_SAMPLES: Record<string, SampleOf> = {
  'post /chat/rooms': (t) => ({ path: '/chat/rooms', body: { kind: 'booking', bookingId: t.m.bookingId } }),
  'get /chat/rooms': () => ({ path: '/chat/rooms' }),
  'get /chat/rooms/:id': (t) => ({ path: `/chat/rooms/${t.c.roomId}` }),
  'get /chat/rooms/:id/messages': (t) => ({ path: `/chat/rooms/${t.c.roomId}/messages` }),
  'post /chat/rooms/:id/messages': (t) => ({
    path: `/chat/rooms/${t.c.roomId}/messages`,
    body: { clientMessageId: randomUUID(), body: 'hi' },
  }),
  'put /chat/messages/:id/read': (t) => ({ path: `/chat/messages/${t.c.messageId}/read` }),
  'post /chat/messages/:id/report': (t) => ({ path: `/chat/messages/${t.c.messageId}/report`, body: { reason: 'x' } }),
  'delete /chat/messages/:id': (t, me) => ({
    path: `/chat/messages/${t === me ? t.c.dropMessageId : t.c.moderatedMessageId}`,
  }),
  'get /chat/reports': () => ({ path: '/chat/reports' }),
  // A JSON body is no file: an allowed caller gets 415 after the room's decision, a refused one 403/404.
  'post /chat/rooms/:id/attachments': (t) => ({ path: `/chat/rooms/${t.c.roomId}/attachments`, body: {} }),
  'get /chat/attachments/:id': (t) => ({ path: `/chat/attachments/${t.c.attachmentId}` }),
  // Last, one at a time (`fresh`): staff who leave stop reading the room's attachments until they open it again.
  'post /chat/rooms/:id/leave': (t) => ({ path: `/chat/rooms/${t.c.roomId}/leave`, fresh: true }),
  'post /notifications/send': (t) => ({
    path: '/notifications/send',
    body: { userIds: [t.userId], category: 'announcement', title: 'Matrix', body: 'Hello' },
  }),
  'post /notifications/schedule': (t) => ({
    path: '/notifications/schedule',
    body: { userIds: [t.userId], category: 'announcement', title: 'Matrix', body: 'Later', sendAt: soon(3) },
  }),
  'delete /notifications/schedule/:id': (t) => ({ path: `/notifications/schedule/${t.c.scheduledId}` }),
  'get /notifications/history': () => ({ path: '/notifications/history' }),
  'get /notifications/inbox': () => ({ path: '/notifications/inbox' }),
  'put /notifications/:id/read': (t) => ({ path: `/notifications/${t.c.notificationId}/read` }),
  'post /notifications/read-all': () => ({ path: '/notifications/read-all' }),
  'post /notifications/:id/opened': (t) => ({ path: `/notifications/${t.c.notificationId}/opened` }),
  'get /notifications/settings': () => ({ path: '/notifications/settings' }),
  'put /notifications/settings': () => ({
    path: '/notifications/settings',
    body: {
      timeZone: 'Europe/Berlin',
      quietHours: null,
      doNotDisturbUntil: null,
      phone: null,
      channels: { in_app: true, web_push: true, fcm: true, apns: true, email: true, sms: false },
      categories: {},
    },
  }),
  'get /notifications/devices': () => ({ path: '/notifications/devices' }),
  'post /notifications/devices': () => ({
    path: '/notifications/devices',
    body: { kind: 'fcm', token: `matrix-fcm-${randomUUID()}` },
  }),
  'delete /notifications/devices/:id': (t) => ({ path: `/notifications/devices/${t.c.deviceId}` }),
  'get /notifications/web-push/key': () => ({ path: '/notifications/web-push/key' }),
};

/**
 * How to call each route on a resource (`target`: the principal's own bundle, or the foreign one) as
 * `me`. Vehicle routes get valid input, so a 400 never hides an authorization decision made after
 * validation (the wrapper decides a conditional caller on the vehicle once the input parsed).
 */
const SAMPLES: Record<string, SampleOf> = {
  'get /health': () => ({ path: '/health' }),
  'get /signals': () => ({ path: '/signals' }),
  'get /openapi.json': () => ({ path: '/openapi.json' }),
  'get /.well-known/jwks.json': () => ({ path: '/.well-known/jwks.json' }),
  'get /vehicles': () => ({ path: '/vehicles' }),
  'get /vehicles/:id': (t) => ({ path: `/vehicles/${t.vehicleId}` }),
  'get /vehicles/:id/latest': (t) => ({ path: `/vehicles/${t.vehicleId}/latest` }),
  'get /vehicles/:id/signals': (t) => ({ path: `/vehicles/${t.vehicleId}/signals` }),
  'get /vehicles/:id/telemetry': (t) => ({ path: `/vehicles/${t.vehicleId}/telemetry?signal=engine.rpm` }),
  'get /vehicles/:id/trips': (t) => ({ path: `/vehicles/${t.vehicleId}/trips` }),
  'get /vehicles/:id/alerts': (t) => ({ path: `/vehicles/${t.vehicleId}/alerts` }),
  'get /vehicles/:id/data-quality': (t) => ({ path: `/vehicles/${t.vehicleId}/data-quality` }),
  'get /vehicles/:id/health': (t) => ({ path: `/vehicles/${t.vehicleId}/health` }),
  // Not a log: an allowed caller gets 422 IMPORT_FORMAT_UNKNOWN (past authorization), a refused one 404.
  'post /vehicles/:id/imports': (t) => ({ path: `/vehicles/${t.vehicleId}/imports`, body: { csv: 'not a log' } }),
  'get /vehicles/:id/imports': (t) => ({ path: `/vehicles/${t.vehicleId}/imports` }),
  'get /vehicles/:id/imports/:importId': (t) => ({ path: `/vehicles/${t.vehicleId}/imports/${t.importId}` }),
  'get /obd2/diagnostics/:vehicleId': (t) => ({ path: `/obd2/diagnostics/${t.vehicleId}` }),
  'get /telematics/history': (t) => ({ path: `/telematics/history?vehicleId=${t.vehicleId}` }),
  'get /telematics/analytics': (t) => ({ path: `/telematics/analytics?vehicleId=${t.vehicleId}` }),
  'post /telematics/gps': (t) => ({
    path: '/telematics/gps',
    body: { vehicleId: t.vehicleId, v: 1, t: Date.now(), lat: 52.5, lon: 13.4 },
  }),
  'post /vehicles/:id/commands': (t) => ({
    path: `/vehicles/${t.vehicleId}/commands`,
    body: { type: 'report_status' },
  }),
  'get /vehicles/:id/commands': (t) => ({ path: `/vehicles/${t.vehicleId}/commands` }),
  'get /commands/:id': (t) => ({ path: `/commands/${t.commandId}` }),
  'post /ai/maintenance/predict': (t) => ({ path: '/ai/maintenance/predict', body: { vehicleId: t.vehicleId } }),
  'post /ai/driving/analyze': (t) => ({ path: '/ai/driving/analyze', body: { vehicleId: t.vehicleId } }),
  'get /ai/models': () => ({ path: '/ai/models' }),
  // No model is trained in this fixture: these name an invalid id, so an allowed caller gets 400 and
  // a refused one 401/403 (nobody holds ai:* only for some resources, so authorization comes first).
  'post /ai/models/deploy': () => ({ path: '/ai/models/deploy', body: { id: 'not a model' } }),
  'get /ai/models/:id/performance': () => ({ path: '/ai/models/not!a!model/performance' }),
  'post /ai/models/:id/retrain': () => ({ path: '/ai/models/not!a!model/retrain', body: {} }),
  'get /ai/jobs/:id': () => ({ path: '/ai/jobs/not-a-job' }),
  'post /tenants': () => ({ path: '/tenants', body: { id: `matrix-${uniq()}`, name: 'Matrix tenant' } }),
  'post /devices': (t) => ({ path: '/devices', body: { tenantId: t.tenantId, deviceId: `mx-${uniq()}` } }),
  'post /devices/:tenantId/:deviceId/credentials': (t) => ({
    path: `/devices/${t.tenantId}/${t.deviceId}/credentials`,
  }),
  'delete /devices/:tenantId/:deviceId/credentials': (t) => ({
    path: `/devices/${t.tenantId}/${t.deviceId}/credentials`,
  }),
  'post /api-keys': (t) => ({
    path: '/api-keys',
    body: { tenantId: t.tenantId, name: 'matrix', scopes: ['status:read'] },
  }),
  'get /api-keys': (t) => ({ path: `/api-keys?tenantId=${t.tenantId}` }),
  'delete /api-keys/:tenantId/:keyId': (t) => ({ path: `/api-keys/${t.tenantId}/${t.keyId}` }),
  'get /dead-letters': (t) => ({ path: `/dead-letters?tenantId=${t.tenantId}` }),
  'post /dead-letters/:id/replay': (t) => ({ path: `/dead-letters/${t.deadLetterId}/replay` }),
  'get /security/reports': () => ({ path: '/security/reports' }),
  'post /auth/register': () => ({ path: '/auth/register', body: {} }),
  'post /auth/login': () => ({ path: '/auth/login', body: {} }),
  'post /auth/logout': () => ({ path: '/auth/logout', fresh: true }),
  'post /auth/verify-email': () => ({ path: '/auth/verify-email', body: {} }),
  'post /auth/password/forgot': () => ({ path: '/auth/password/forgot', body: {} }),
  'post /auth/password/reset': () => ({ path: '/auth/password/reset', body: {} }),
  'post /auth/invitations/accept': () => ({ path: '/auth/invitations/accept', body: {} }),
  'post /users/invitations': (t) => ({
    path: '/users/invitations',
    body: { tenantId: t.tenantId, email: `invitee-${uniq()}@example.com`, displayName: 'Invitee', locale: 'en' },
  }),
  'get /me': () => ({ path: '/me' }),
  'post /sessions/refresh': () => ({ path: '/sessions/refresh' }),
  'get /sessions': () => ({ path: '/sessions' }),
  'delete /sessions/:id': (t, me) => ({ path: `/sessions/${t === me ? 'CURRENT' : t.sessionId}`, fresh: true }),
  'post /sessions/logout-all': () => ({ path: '/sessions/logout-all', fresh: true }),
  'get /auth/mfa': () => ({ path: '/auth/mfa' }),
  'post /auth/mfa/setup': () => ({ path: '/auth/mfa/setup', body: { method: 'totp' } }),
  'post /auth/mfa/challenge': () => ({ path: '/auth/mfa/challenge', body: {} }),
  'post /auth/mfa/verify': () => ({ path: '/auth/mfa/verify', body: {} }),
  'post /auth/mfa/disable': () => ({ path: '/auth/mfa/disable', body: {} }),
  'get /auth/mfa/backup-codes': () => ({ path: '/auth/mfa/backup-codes' }),
  'post /mobile/biometric/register': () => ({ path: '/mobile/biometric/register', body: {} }),
  'get /mobile/biometric/devices': () => ({ path: '/mobile/biometric/devices' }),
  // The caller's own device keys only (no id of another's to name): an invalid id, 400 once signed in.
  'delete /mobile/biometric/devices/:id': () => ({ path: '/mobile/biometric/devices/not-a-key' }),
  'post /mobile/biometric/challenge': () => ({ path: '/mobile/biometric/challenge', body: {} }),
  'post /mobile/biometric/verify': () => ({ path: '/mobile/biometric/verify', body: {} }),
  'get /permissions': () => ({ path: '/permissions' }),
  'get /roles': () => ({ path: '/roles' }),
  'post /roles': () => ({ path: '/roles', body: { key: `mx-${uniq()}`, name: 'Matrix role' } }),
  'put /roles/:id': (t) => ({ path: `/roles/${t.roleId}`, body: { name: 'Matrix role, renamed' } }),
  'delete /roles/:id': (t) => ({ path: `/roles/${t.dropRoleId}` }),
  'get /roles/:id/permissions': (t) => ({ path: `/roles/${t.roleId}/permissions` }),
  'put /roles/:id/permissions': (t) => ({ path: `/roles/${t.roleId}/permissions`, body: { permissions: [] } }),
  'get /users/:id/roles': (t) => ({ path: `/users/${t.userId}/roles` }),
  'post /users/:id/roles': (t) => ({ path: `/users/${t.userId}/roles`, body: { roleId: t.roleId } }),
  'delete /users/:id/roles': (t) => ({ path: `/users/${t.userId}/roles?roleId=${t.heldRoleId}` }),
  'post /vehicles/:id/shares': (t) => ({
    path: `/vehicles/${t.vehicleId}/shares`,
    body: { granteeTenantId: SINK, permissions: ['vehicles:read'], validUntil: until() },
  }),
  'get /vehicles/:id/shares': (t) => ({ path: `/vehicles/${t.vehicleId}/shares` }),
  'delete /vehicles/:id/shares/:shareId': (t) => ({ path: `/vehicles/${t.vehicleId}/shares/${t.shareId}` }),
  ...MARKETPLACE_SAMPLES,
  ...MONEY_SAMPLES,
  ...COMMS_SAMPLES,
};

/** Whose resources are "foreign" to each principal. */
const FOREIGN_OF: Record<PrincipalName, PrincipalName> = {
  anonymous: 'ownerB',
  ownerA: 'ownerB',
  ownerB: 'ownerA',
  staffX: 'techY',
  techY: 'staffX',
  fleet: 'staffX',
  platform: 'ownerA',
};

const routeKey = (method: string, openApiPath: string): string =>
  `${method} ${openApiPath.replace(/^\/api/, '').replace(/\{([^}]+)\}/g, ':$1')}`;

describe('access matrix: every route x 7 principals x own/foreign (PGlite)', () => {
  const keys = generateSigningKeys();
  let fx: Fixture;
  let stripe: StripeEmulator | undefined;
  let routes: string[] = [];
  const users = {} as Record<Exclude<PrincipalName, 'anonymous'>, TestUser>;
  const bundles = {} as Record<PrincipalName, Bundle>;
  /** What the matrix saw (MATRIX_RECORD=<file> writes it out, to review a new route's row). */
  const observed: Record<string, Record<string, string>> = {};

  beforeAll(async () => {
    // The payments domain's providers: the Stripe adapter against the local emulator (payouts, the
    // webhook's signature check) and cash (a booking's hold without a card).
    stripe = await startStripeEmulator({ webhookMode: 'manual' });
    const stripeProvider = createStripeProvider({
      secretKey: stripe.secretKey,
      webhookSecret: stripe.webhookSecret,
      apiBase: stripe.url,
      maxNetworkRetries: 0,
    });
    // The job queue: no sample may reach an enqueue (installment plans are refused before theirs), so
    // one that does fails the matrix with a 500 instead of scheduling a charge. Notifications are
    // stored and queued for dispatch (administrators' sends): accepted, and never run here.
    const jobs: JobEnqueuer = {
      enqueue: (queue) =>
        queue === NOTIFICATION_DISPATCH_QUEUE
          ? Promise.resolve(randomUUID())
          : Promise.reject(new Error(`the access matrix enqueues no jobs (${queue})`)),
    };
    fx = await startFixture({
      payments: {
        providers: new Map([
          ['stripe', stripeProvider],
          ['cash', createCashProvider()],
        ]),
        payouts: stripeProvider,
        balance: stripeProvider,
        browser: { stripe: { publishableKey: stripe.publishableKey, apiBase: stripe.url } },
      },
      jobs,
      // A Web Push key to hand out (GET /notifications/web-push/key); nothing is ever pushed.
      notificationChannels: {
        web_push: {
          channel: 'web_push',
          publicKey: 'BMatrixPublicKey',
          send: () => Promise.reject(new Error('the access matrix pushes nothing')),
        },
      },
      requireAuth: true,
      adminToken: ADMIN,
      identity: { signingKeys: keys },
      rateLimit: { enabled: false },
      commands: { send: async () => undefined },
      replayDeadLetter: async () => ({ stored: false, reason: 'matrix' }),
    });
    const db = fx.db;
    for (const [id, name] of [
      ['shop-x', 'Shop X'],
      ['shop-y', 'Shop Y'],
      ['fleet-z', 'Fleet Z'],
      [SINK, 'Share sink'],
    ])
      await db.query(`INSERT INTO tenants (id, name, kind) VALUES ($1, $2, 'partner')`, [id, name]);
    const who: [Exclude<PrincipalName, 'anonymous'>, string, string][] = [
      ['ownerA', 'consumers', 'owner'],
      ['ownerB', 'consumers', 'owner'],
      ['staffX', 'shop-x', 'partner-admin'],
      ['techY', 'shop-y', 'technician'],
      ['fleet', 'fleet-z', 'fleet-manager'],
      ['platform', 'platform', 'platform-admin'],
    ];
    for (const [name, tenantId, role] of who) {
      users[name] = await signedInUser(db, keys, { tenantId, roles: [role], mfa: true, name });
      const spare = await signedInUser(db, keys, { tenantId, userId: users[name].userId, mfa: true });
      const vehicleId = randomUUID();
      await db.query(
        `INSERT INTO vehicles (id, tenant_id, name, make, owner_user_id) VALUES ($1, $2, $3, 'Volvo', $4)`,
        [vehicleId, tenantId, `${name}'s car`, tenantId === 'consumers' ? users[name].userId : null],
      );
      const deviceId = `dev-${name.toLowerCase()}`;
      await db.query(`INSERT INTO devices (tenant_id, id, vehicle_id) VALUES ($1, $2, $3)`, [
        tenantId,
        deviceId,
        vehicleId,
      ]);
      const keyId = (await createApiKey(db, { tenantId, name: `${name} key`, scopes: ['status:read'] })).keyId;
      const newRole = async (key: string): Promise<string> =>
        (
          await db.query<{ id: string }>(
            `INSERT INTO roles (tenant_id, key, name) VALUES ($1, $2, 'Matrix role') RETURNING id::text AS id`,
            [tenantId, `${key}-${name.toLowerCase()}`],
          )
        ).rows[0]!.id;
      const [roleId, dropRoleId, heldRoleId] = [await newRole('matrix'), await newRole('drop'), await newRole('held')];
      const colleague = await signedInUser(db, keys, { tenantId, roles: [heldRoleId], name: `${name}-colleague` });
      const { rows: share } = await db.query<{ id: string }>(
        `INSERT INTO vehicle_shares (tenant_id, vehicle_id, grantee_tenant_id, permissions, valid_from, valid_until, created_by)
         VALUES ($1, $2, $3, ARRAY['vehicles:read'], now() - interval '2 days', now() - interval '1 day', $4) RETURNING id::text AS id`,
        [tenantId, vehicleId, SINK, users[name].userId],
      );
      const { rows: command } = await db.query<{ id: string }>(
        `INSERT INTO device_commands (tenant_id, device_id, vehicle_id, type, expires_at)
         VALUES ($1, $2, $3, 'report_status', now() + interval '1 hour') RETURNING id::text AS id`,
        [tenantId, deviceId, vehicleId],
      );
      const { rows: imported } = await db.query<{ id: string }>(
        `INSERT INTO telemetry_imports (tenant_id, vehicle_id, file_sha256, file_bytes, via, requested_by)
         VALUES ($1, $2, repeat('0', 64), 0, 'cli', 'cli') RETURNING id::text AS id`,
        [tenantId, vehicleId],
      );
      const { rows: letter } = await db.query<{ id: string }>(
        `INSERT INTO dead_letters (tenant_id, device_id, topic, reason, payload)
         VALUES ($1, $2, $3, 'matrix', '\\x7b7d'::bytea) RETURNING id::text AS id`,
        [tenantId, deviceId, `clutch/${tenantId}/${deviceId}/telemetry`],
      );
      bundles[name] = {
        tenantId,
        vehicleId,
        userId: colleague.userId,
        sessionId: spare.sessionId,
        deviceId,
        keyId: String(keyId),
        roleId,
        dropRoleId,
        heldRoleId,
        shareId: share[0]!.id,
        commandId: command[0]!.id,
        deadLetterId: letter[0]!.id,
        importId: imported[0]!.id,
        m: {} as MarketplaceBundle, // seeded below, once every principal exists
        money: {} as MoneyBundle,
        c: {} as CommsBundle,
      };
    }
    const party = (name: 'ownerA' | 'ownerB' | 'fleet') => ({
      tenantId: bundles[name].tenantId,
      userId: users[name].userId,
      vehicleId: bundles[name].vehicleId,
    });
    const market = await seedMarketplace(db, {
      ownerA: party('ownerA'),
      ownerB: party('ownerB'),
      fleet: party('fleet'),
      shopX: 'shop-x',
      shopY: 'shop-y',
      supplier: SINK,
    });
    for (const [name, m] of Object.entries(market)) bundles[name as PrincipalName].m = m;
    const signed = ['ownerA', 'ownerB', 'staffX', 'techY', 'fleet', 'platform'] as const;
    const money = await seedMoney(db, {
      users: Object.fromEntries(
        signed.map((n) => [
          n,
          { tenantId: bundles[n].tenantId, userId: users[n].userId, consumer: bundles[n].tenantId === 'consumers' },
        ]),
      ) as Parameters<typeof seedMoney>[1]['users'],
      market,
    });
    for (const [name, m] of Object.entries(money)) bundles[name as PrincipalName].money = m;
    // Chat rooms take the shop's user as staff: shop X's admin for shop X's bookings, shop Y's technician for Y's.
    const staffOf = (partnerId: string) => {
      const shop = partnerId === market.staffX.partnerId ? users.staffX : users.techY;
      return { userId: shop.userId, tenantId: shop === users.staffX ? 'shop-x' : 'shop-y' };
    };
    const comms = await seedComms(
      db,
      fx.api.url,
      jobs,
      Object.fromEntries(
        signed.map((n) => [
          n,
          {
            tenantId: bundles[n].tenantId,
            userId: users[n].userId,
            token: users[n].token,
            bookingId: market[n].bookingId,
            staff: staffOf(market[n].partnerId),
            // The platform admin moderates the fleet's booking room: the fleet (its customer) posts there.
            ...(n === 'platform' ? { senderToken: users.fleet.token } : {}),
            schedulerToken: n === 'staffX' ? users.staffX.token : users.platform.token,
          },
        ]),
      ) as Parameters<typeof seedComms>[3],
    );
    for (const [name, c] of Object.entries(comms)) bundles[name as PrincipalName].c = c;
    bundles.anonymous = bundles.ownerA;
    const doc = (await call(fx.api.url, 'GET', '/api/openapi.json')).body as { paths: Record<string, object> };
    routes = Object.entries(doc.paths).flatMap(([path, ops]) => Object.keys(ops).map((m) => routeKey(m, path)));
  }, 60_000);

  afterAll(async () => {
    if (process.env.MATRIX_RECORD) writeFileSync(process.env.MATRIX_RECORD, JSON.stringify(observed, null, 1));
    await fx?.close();
    await stripe?.close();
  });

  it('has one row (and one sample) per route of the OpenAPI document, and none for a route that is gone', () => {
    expect(routes.length).toBeGreaterThan(50);
    expect(Object.keys(EXPECTED).sort()).toEqual([...routes].sort());
    expect(Object.keys(SAMPLES).sort()).toEqual([...routes].sort());
  });

  /** One request of the matrix: the route called by `name` on its own resource or a foreign one. */
  const attempt = async (route: string, name: PrincipalName, side: Side): Promise<Reply> => {
    const method = route.slice(0, route.indexOf(' '));
    const me = bundles[name];
    const target = side === 'own' ? me : bundles[FOREIGN_OF[name]];
    const sample = SAMPLES[route]!(target, me);
    let token = name === 'anonymous' ? undefined : users[name].token;
    let path = sample.path;
    if (sample.fresh && name !== 'anonymous') {
      const fresh = await signedInUser(fx.db, keys, { tenantId: me.tenantId, userId: users[name].userId, mfa: true });
      token = fresh.token;
      path = path.replace('CURRENT', fresh.sessionId);
    } else path = path.replace('CURRENT', me.sessionId);
    const headers: Record<string, string> = method === 'get' ? {} : { 'x-requested-with': 'access-matrix' };
    return call(fx.api.url, method.toUpperCase(), `/api${path}`, {
      token,
      headers,
      ...(sample.body !== undefined ? { body: sample.body } : {}),
    });
  };

  it('lists only what each principal may see', async () => {
    const ids = async (name: Exclude<PrincipalName, 'anonymous'>): Promise<string[]> => {
      const res = await call(fx.api.url, 'GET', '/api/vehicles', { token: users[name].token });
      expect(res.status).toBe(200);
      return (res.body.vehicles as { id: string }[]).map((v) => v.id);
    };
    for (const name of ['ownerA', 'ownerB', 'staffX', 'techY', 'fleet'] as const) {
      const seen = await ids(name);
      expect(seen, name).toEqual([bundles[name].vehicleId]);
    }
    // Platform staff hold vehicles:read everywhere, but their request scope is the platform tenant.
    expect(await ids('platform')).toEqual([bundles.platform.vehicleId]);
    // Dead letters: a partner admin sees its tenant's, nobody else's.
    const letters = await call(fx.api.url, 'GET', '/api/dead-letters', { token: users.staffX.token });
    expect(letters.status).toBe(200);
    const tenants = new Set((letters.body.deadLetters as { tenantId: string }[]).map((d) => d.tenantId));
    expect([...tenants]).toEqual(['shop-x']);
    // The platform admin's administration reaches every tenant.
    const all = await call(fx.api.url, 'GET', '/api/dead-letters', { token: users.platform.token });
    expect(all.status).toBe(200);
    const allTenants = new Set((all.body.deadLetters as { tenantId: string }[]).map((d) => d.tenantId));
    expect(allTenants).toContain('consumers');
    expect(allTenants).toContain('shop-y');
    // ... and is recorded in the audit log under the platform admin's name.
    const { rows } = await fx.db.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM audit_log WHERE actor = $1 AND action = 'dead-letter.list'`,
      [`user:${users.platform.userId}`],
    );
    expect(rows[0]!.n).toBeGreaterThan(0);
    // A partner admin's API keys and audit trail: its organisation's only. The platform admin creates
    // a key in shop X and one in shop Y (audited with their tenants), so both have rows of both.
    for (const tenantId of ['shop-x', 'shop-y']) {
      const made = await call(fx.api.url, 'POST', '/api/api-keys', {
        token: users.platform.token,
        body: { tenantId, name: 'by the platform', scopes: ['status:read'] },
      });
      expect(made.status, JSON.stringify(made.body)).toBe(201);
    }
    const tenantsOf = async (path: string, field: string): Promise<string[]> => {
      const res = await call(fx.api.url, 'GET', `/api${path}`, { token: users.staffX.token });
      expect(res.status, path).toBe(200);
      return [...new Set((res.body[field] as { tenantId: string | null }[]).map((r) => String(r.tenantId)))];
    };
    expect(await tenantsOf('/api-keys', 'apiKeys')).toEqual(['shop-x']);
    expect(await tenantsOf('/security/reports', 'events')).toEqual(['shop-x']);
    // A shop's books: naming another organisation's shop lists nothing of it; its own, its rows.
    const books = async (path: string, field: string, partnerId: string): Promise<unknown[]> => {
      const res = await call(fx.api.url, 'GET', `/api${path}?partnerId=${partnerId}`, { token: users.staffX.token });
      expect(res.status, path).toBe(200);
      return res.body[field] as unknown[];
    };
    for (const [path, field] of [
      ['/commission/history', 'commissions'],
      ['/commission/analytics', 'rows'],
      ['/commission/payouts', 'payouts'],
      ['/commission/payout-accounts', 'accounts'],
    ] as const) {
      expect(await books(path, field, bundles.techY.m.partnerId), path).toEqual([]);
      expect((await books(path, field, bundles.staffX.m.partnerId)).length, path).toBeGreaterThan(0);
    }
    // Payments and installment plans: a customer lists its own only, a shop its own shop's.
    const paymentIds = async (name: Exclude<PrincipalName, 'anonymous'>): Promise<string[]> => {
      const res = await call(fx.api.url, 'GET', '/api/payments/history?limit=100', { token: users[name].token });
      expect(res.status).toBe(200);
      return (res.body.payments as { id: string }[]).map((p) => p.id);
    };
    const ofA = await paymentIds('ownerA');
    expect(ofA).toContain(bundles.ownerA.money.paymentId);
    expect(ofA).not.toContain(bundles.ownerB.money.paymentId);
    expect(ofA).not.toContain(bundles.fleet.money.paymentId);
    const ofX = await paymentIds('staffX');
    expect(ofX).toEqual(expect.arrayContaining([bundles.ownerA.money.paymentId, bundles.fleet.money.paymentId]));
    expect(ofX).not.toContain(bundles.ownerB.money.paymentId);
    const plans = await call(fx.api.url, 'GET', '/api/payments/installments', { token: users.ownerB.token });
    expect(plans.status).toBe(200);
    expect((plans.body.plans as { id: string }[]).map((p) => p.id)).toEqual([bundles.ownerB.money.planId]);
  });

  it('answers every route, principal and resource as the table says (zero leaks)', async () => {
    const cases = Object.keys(SAMPLES).flatMap((route) =>
      PRINCIPALS.flatMap((name) => (['own', 'foreign'] as const).map((side) => ({ route, name, side }))),
    );
    const mismatches: string[] = [];
    const check = async ({ route, name, side }: (typeof cases)[number]): Promise<void> => {
      let res: Reply;
      try {
        res = await attempt(route, name, side);
      } catch (err) {
        // A dropped connection is a failure of that request, named, not of the whole run.
        mismatches.push(`${route} as ${name} on ${side}: no answer (${String(err)})`);
        return;
      }
      const got = outcomeOf(res.status);
      (observed[route] ??= {})[`${name}.${side}`] = `${got} ${res.status} ${String(res.body.code ?? '')}`;
      const want = EXPECTED[route]?.[name][side];
      if (res.status >= 500 || got !== want)
        mismatches.push(
          `${route} as ${name} on ${side}: expected ${String(want)}, got ${res.status} ${String(res.body.code ?? '')} ${String(res.body.detail ?? '').slice(0, 120)}`,
        );
    };
    // Requests that end sessions go last, one at a time (signing out everywhere ends the principal's
    // own token too); everything else in parallel batches.
    const ending = (route: string): boolean => SAMPLES[route]!(bundles.ownerA, bundles.ownerA).fresh === true;
    const batchable = cases.filter((c) => !ending(c.route));
    const BATCH = 24;
    for (let i = 0; i < batchable.length; i += BATCH) await Promise.all(batchable.slice(i, i + BATCH).map(check));
    const last = cases.filter((c) => ending(c.route));
    last.sort(
      (a, b) => Number(a.route === 'post /sessions/logout-all') - Number(b.route === 'post /sessions/logout-all'),
    );
    for (const c of last) await check(c);
    expect(mismatches).toEqual([]);
  }, 120_000);
});
