export { createApi, API_PREFIX, type Api, type ApiDeps } from './app.js';
export { startApiServer, type ApiServer, type ApiServerOptions } from './server.js';
export {
  apiErrors,
  apiError,
  isApiErrorCode,
  problemType,
  PROBLEM_TYPE_BASE,
  type ApiErrorCode,
  type ErrorSpec,
} from './errors.js';
export { PROBLEM_CONTENT_TYPE, type Problem } from './http/problem.js';
export type { RouteSpec, HttpMethod } from './http/route.js';
export { buildOpenApi, type OpenApiDocument } from './openapi/document.js';
export type { Access, Principal } from './auth/principal.js';
export type { ComponentHealth, ComponentStatus, HealthCheck, HealthReport } from './health/service.js';
export type { Vehicle } from './vehicles/service.js';
export type { LatestReading, TelemetrySeries, BucketedSeries, BucketPoint, Bucket } from './telemetry/service.js';
export type { Command, CommandSender, CommandTarget } from './commands/service.js';
export { commandPublish, type CommandPublish, type CommandPublishProperties } from './commands/downlink.js';
export type { DeadLetter, DeadLetterReplayer } from './dead-letters/service.js';
export { vehicleRoom, type SubscribeAck } from './realtime/gateway.js';
export {
  allowAllHandshakes,
  allowAllSubscriptions,
  type HandshakeAuthenticator,
  type SocketPrincipal,
  type SubscribeAuthorizer,
} from './realtime/auth.js';
export { purgeIdempotencyKeys } from './http/idempotency.js';
export {
  describeChainReport,
  recordSecurityEvent,
  verifyAuditChain,
  type ChainReport,
  type SecurityEvent,
} from './audit/index.js';
export {
  AI_RETRAIN_QUEUE,
  AI_RETRAIN_SETTINGS,
  queuedRetrains,
  type JobEnqueuer,
  type RetrainJobs,
} from './ai/retrain-jobs.js';
export { defineAiRetrainWorker, type JobDefiner } from './ai/retrain-job-worker.js';
export { retrainWith, type RetrainFolders } from './ai/retrain-worker.js';
export {
  defineTelemetryImportWorker,
  TELEMETRY_IMPORT_QUEUE,
  TELEMETRY_IMPORT_SETTINGS,
  type TelemetryImportJobData,
} from './telemetry-imports/jobs.js';
export { importFromCli, runTelemetryImport, type ImportHistory } from './telemetry-imports/run.js';
export { toImport, type TelemetryImport } from './telemetry-imports/service.js';
export { loadMfaOptions, type MfaOptions } from './mfa/config.js';
export {
  availableStrategies,
  greatCircleMetres,
  type NearbyQuery,
  type NearbyRow,
  type NearbyStrategy,
} from './partners/nearby.js';
export { nearbyPage } from './partners/service.js';
export { SERVICE_CODES, type ServiceCode } from './partners/service-catalogue.js';
// Seeded shops for the marketplace bench (bench/src/marketplace), the data the contract test uses.
export { GERMANY, generateShops, insertShops, seededRandom, type SeedShop } from './partners/nearby-fixtures.js';
// Bookings' scheduled jobs (platform/src/builders/jobs.ts) and the slot computation (bench/src/marketplace/slots.ts).
export { BOOKING_CRONS, expireHolds, markNoShows } from './bookings/no-show.js';
export {
  availableSlots,
  computeSlots,
  DEFAULT_BOOKING_RULES,
  loadBusy,
  loadCalendar,
  loadCapacity,
  loadService,
  loadShop,
  type BusyInterval,
  type CapacityResource,
  type ServiceNeeds,
  type ShopCalendar,
  type Slot,
  type SlotQuery,
} from './bookings/availability.js';
// The ledger (P3, P4, P5 move money through it; platform jobs expire its holds; bench/src/ledger; clutch-admin ledger verify).
export { ledger } from './ledger/ledger.js';
export { transferId } from './ledger/ids.js';
export type * from './ledger/types.js';
export { createLedgerBatcher, type LedgerBatcher, type LedgerBatcherOptions } from './ledger/batcher.js';
export { LEDGER_CRONS, expireLedgerHolds } from './ledger/jobs.js';
// Commissions: recorded at capture (payments), the weekly payouts and receipts by mail
// (platform/src/builders/jobs.ts, the outbox sink).
export {
  CommissionError,
  computeCommission,
  recordCommission,
  reverseCommission,
  type CommissionQuote,
  type CommissionRecord,
  type CommissionReversal,
} from './commissions/commission.js';
export { runPayoutsNow, runWeeklyPayouts, type PayoutDeps, type PayoutOutcome } from './commissions/payouts.js';
export { PAYOUT_CRON, definePayoutJobs, payoutJob, type PayoutJobDeps } from './commissions/jobs.js';
export {
  RECEIPT_EMAIL_QUEUE,
  defineReceiptEmailWorker,
  receiptEmailSink,
  sendReceiptEmail,
  type ReceiptMailDeps,
} from './documents/email-receipt.js';
// Notifications: requestNotifications for the event wiring, the jobs for platform/src/builders/jobs.ts.
export * from './notifications/index.js';
// Installment plans: the charge jobs (platform/src/builders/jobs.ts) and the customer's standing (fraud, bookings).
export {
  INSTALLMENT_CHARGE_QUEUE,
  INSTALLMENT_CHARGE_SETTINGS,
  installmentChargeJob,
  type ChargeJobData,
  type InstallmentJobOptions,
} from './installments/jobs.js';
export { customerStanding, requireGoodStanding } from './installments/standing.js';
// Payment provider adapters (P2): the platform wires them from config; @clutch/emulators stands in for Stripe/PayPal.
export { createStripeProvider, type StripeProviderOptions } from './payments/providers/stripe.js';
export { createPayPalProvider, type PayPalProviderOptions } from './payments/providers/paypal.js';
export { createCashProvider, type CashProviderOptions, type CashStore } from './payments/providers/cash.js';
export {
  ProviderError,
  type BalanceSource,
  type PaymentProvider,
  type PaymentProviders,
  type PayoutProvider,
  type ProviderBalanceTransaction,
  type ProviderErrorCode,
  type ProviderEvent,
  type ProviderName,
  type ProviderPayment,
  type ProviderRefund,
} from './payments/providers/provider.js';
// Payments (P3, docs/payments-flows.md): the platform wires the providers in (ApiDeps.payments) and
// works the payments' queues and crons (platform/src/builders/jobs.ts); installments start payments.
export type { BrowserPaymentConfig, PaymentDeps, WiredPayments } from './payments/deps.js';
export { paymentDeps } from './payments/deps.js';
export type { PaymentCaller, PaymentView, StartPaymentInput } from './payments/types.js';
export { PaymentsService, startPayment, startPaymentAsSystem } from './payments/service.js';
export { PAYMENT_WEBHOOK_QUEUE, PAYMENT_WEBHOOK_SETTINGS, type WebhookJobData } from './payments/webhooks.js';
export {
  PAYMENT_SETTLE_QUEUE,
  PAYMENT_SETTLE_SETTINGS,
  repairOrderPaymentsSink,
  type SettleJobData,
} from './payments/capture-on-delivery.js';
export { PAYMENT_CRONS } from './payments/holds.js';
export {
  paymentJobDeps,
  reconcileYesterday,
  renewHolds,
  runSettleJob,
  runWebhookJob,
  verifyStuckPayments,
} from './payments/jobs.js';
// Fraud scoring: the inline check and its evaluation (bench/src/fraud, docs/fraud.md).
export { assess, assessRisk, createAssessRisk, riskBlocked, type DetailedAssessment } from './fraud/assess.js';
export { DEFAULT_FRAUD_CONFIG, RULES_ONLY_CONFIG, type FraudConfig } from './fraud/config.js';
export {
  evaluate as evaluateFraud,
  generatePopulation as generateFraudPopulation,
  SCENARIOS as FRAUD_SCENARIOS,
  type LabelledAttempt,
  type Metrics as FraudMetrics,
} from './fraud/scenarios.js';
export type * from './fraud/types.js';
// Object storage (uploads) and chat attachments' cleanup cron (platform/src/builders: C6 wires them).
export {
  describeStorage,
  localDiskStorage,
  openStorage,
  parseStorageConfig,
  s3Client,
  s3Storage,
  type ObjectStorage,
  type S3StorageOptions,
  type StorageConfig,
} from './storage/index.js';
export { CHAT_ATTACHMENT_CRONS, cleanupChatAttachments } from './chat/attachments/index.js';
// Domain events -> notifications (docs/notifications.md): the outbox sink and its job, for the platform's relay and workers.
export * from './notifications/events/index.js';
// Notification channel adapters and the chat key ring, for platform/src/builders/communication.ts.
export { webPushSender, type WebPushOptions } from './notifications/channels/web-push.js';
export { emailSender, type EmailOptions } from './notifications/channels/email.js';
export { fcmSender, type FcmOptions } from './notifications/channels/fcm.js';
export { smsSender } from './notifications/channels/sms.js';
export { apnsSender, type ApnsOptions } from './notifications/channels/apns.js';
export type { ChannelSender, NotificationChannels } from './notifications/channels/channel.js';
export { parseChatKeys, devKeyRing, type ChatKeyRing } from './chat/crypto.js';
// Chat: the booking room for the demo seed, and a chat.message event's body opened (notifications).
export { ensureBookingRoom, openLiveMessage } from './chat/index.js';
