export { enrolledFactors, MFA_METHODS, type MfaMethod } from './enrolled.js';
export {
  digestsEqual,
  generateMfaKey,
  loadOrCreateMfaKey,
  MFA_KEY_BYTES,
  mfaKeyFrom,
  parseMfaKey,
  type MfaKey,
} from './crypto.js';
export { acceptTotp, newTotpSecret, qrSvg, totpUri, TOTP_PERIOD_SECONDS, TOTP_WINDOW_STEPS } from './totp.js';
export { BACKUP_CODE_COUNT, newBackupCodes, newNumericCode, normalizeBackupCode } from './codes.js';
export { mfaError, mfaErrors, type MfaErrorCode } from './errors.js';
export {
  channelAddress,
  checkCode,
  checkTotp,
  CODE_SEND_WINDOW_SECONDS,
  CODE_SENDS_PER_WINDOW,
  confirmChannelFactor,
  issueCode,
  listFactors,
  maskEmail,
  maskPhone,
  ONE_TIME_CODE_MAX_ATTEMPTS,
  ONE_TIME_CODE_TTL_SECONDS,
  remainingBackupCodes,
  removeFactor,
  replaceBackupCodes,
  startChannelSetup,
  startTotpSetup,
  touchChannelFactor,
  useBackupCode,
  type ChannelKind,
  type CheckOutcome,
  type CodePurpose,
  type FactorKind,
  type FactorSummary,
  type IssueOutcome,
  type TotpSetup,
  type UserRef,
} from './factors.js';
export {
  finishPasskeyAuthentication,
  finishPasskeyRegistration,
  listPasskeys,
  passkeyAuthenticationOptions,
  passkeyRegistrationOptions,
  WEBAUTHN_CHALLENGE_TTL_SECONDS,
  type PasskeySummary,
  type WebAuthnConfig,
} from './webauthn.js';
export {
  BIOMETRIC_CHALLENGE_TTL_SECONDS,
  issueBiometricChallenge,
  listDeviceKeys,
  MAX_DEVICE_KEYS_PER_USER,
  parseDevicePublicKey,
  registerDeviceKey,
  revokeDeviceKey,
  verifyBiometricSignature,
  type BiometricChallenge,
  type BiometricSignIn,
  type DeviceKeySummary,
} from './biometric.js';
export {
  createMfaAttemptGuard,
  MFA_ACCOUNT_LIMITS,
  MFA_IP_LIMITS,
  type MfaAttemptGuard,
  type MfaAttemptOptions,
} from './attempts.js';
export { claimLoginChallenge } from './login-challenges.js';
export type {
  AuthenticationResponseJSON,
  PublicKeyCredentialCreationOptionsJSON,
  PublicKeyCredentialRequestOptionsJSON,
  RegistrationResponseJSON,
} from '@simplewebauthn/server';
