export { decryptAes128gcm, startWebPushEmulator, verifyVapid } from './emulator.js';
export type {
  ReceivedPush,
  WebPushEmulator,
  WebPushEmulatorOptions,
  WebPushRequestRecord,
  WebPushSubscription,
} from './emulator.js';
