export { startStripeEmulator, STRIPE_API_VERSION } from './emulator.js';
export type { PaymentBooks, StripeEmulator, StripeEmulatorOptions, RecordedRequest } from './emulator.js';
export type * from './objects.js';
export { TEST_CARDS } from './objects.js';
