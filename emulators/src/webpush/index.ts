export {
  checkAes128gcmHeader,
  decryptAes128gcm,
  startWebPushEmulator,
  vapidVerifier,
  verifyVapid,
} from './emulator.js';
export type {
  ReceivedPush,
  WebPushEmulator,
  WebPushEmulatorOptions,
  WebPushRequestRecord,
  WebPushSubscription,
} from './emulator.js';
