export { startFcmEmulator } from './emulator.js';
export type { FcmEmulator, FcmEmulatorOptions, FcmErrorCode, FcmMessage, FcmServiceAccount } from './emulator.js';
