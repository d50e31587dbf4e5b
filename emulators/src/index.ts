// Local servers that speak payment providers' documented wire formats. The platform's real adapters
// (api/src/payments/providers) use the official SDKs against them in tests and in the npm start demo;
// against the real providers in production. docs/payments.md says what each emulates and what not.
export * from './stripe/index.js';
export type { DeliverOptions, DeliveryAttempt, DeliveryReport } from './webhooks.js';
export * from './paypal/index.js';
export * from './s3/index.js';
// Notification channels (api/src/notifications/channels); docs/notifications.md, "Channels and their local servers".
export * from './webpush/index.js';
export { createTestTls, type TestTls } from './tls.js';
export * from './smtp/index.js';
export * from './fcm/index.js';
export * from './apns/index.js';
