export { startPayPalEmulator } from './emulator.js';
export type { PayPalEmulator, PayPalEmulatorOptions } from './emulator.js';
export { crc32, currencyDigits, fromMinor, toMinor } from './amounts.js';
export type * from './objects.js';
