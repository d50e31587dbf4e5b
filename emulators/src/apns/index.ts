export { startApnsEmulator } from './emulator.js';
export type { ApnsEmulator, ApnsEmulatorOptions, ApnsNotification, ApnsReason, ApnsRequestRecord } from './emulator.js';
