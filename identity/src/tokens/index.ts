export {
  TOKEN_ALG,
  generateSigningKeys,
  loadOrCreateSigningKeys,
  newPrivateJwk,
  parseKeySet,
  signingKeysFrom,
  type SigningKeys,
} from './signing-keys.js';
export {
  ACCESS_AUDIENCE,
  ACCESS_TOKEN_TTL_SECONDS,
  TOKEN_ISSUER,
  looksLikeJwt,
  signAccessToken,
  verifyAccessToken,
  type AccessClaims,
} from './access-token.js';
export {
  MFA_CHALLENGE_TTL_SECONDS,
  MFA_LOGIN_AUDIENCE,
  signMfaChallenge,
  verifyMfaChallenge,
  type MfaChallenge,
  type MfaChallengeInput,
} from './mfa-challenge.js';
export { newOpaqueToken, opaqueDigest, type OpaqueToken } from './opaque.js';
