export { newSecret, sha256, secretMatches } from './secrets/secrets.js';
export { identityErrors, identityError, type IdentityErrorCode } from './errors.js';
export {
  deviceUsername,
  parseDeviceUsername,
  issueDeviceCredential,
  verifyDeviceCredential,
  revokeDeviceCredential,
  deviceCredentialIsLive,
  type DeviceLogin,
} from './devices/device-credentials.js';
export { provisionDevice, ensureTenant, type ProvisionedDevice, type VehicleDetails } from './devices/provisioning.js';
export {
  API_KEY_SCOPES,
  createApiKey,
  verifyApiKey,
  revokeApiKey,
  listApiKeys,
  type ApiKeyPrincipal,
  type ApiKeyScope,
  type ApiKeySummary,
} from './api-keys/api-keys.js';
export {
  createLoginLimiter,
  addressKey,
  DEFAULT_USERNAME_LIMITS,
  DEFAULT_IP_LIMITS,
  type LoginLimiter,
  type LoginLimiterOptions,
  type LoginKey,
  type LoginCheck,
  type FailureLimits,
} from './limits/login-limiter.js';
export * from './mfa/index.js';
export * from './sms/index.js';
export * from './tokens/index.js';
export * from './sessions/index.js';
export * from './mail/index.js';
export * from './accounts/index.js';
export * from './passwords/index.js';
export * from './rbac/index.js';
