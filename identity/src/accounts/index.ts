export {
  findUserByEmail,
  findUserById,
  insertUser,
  markEmailVerified,
  normaliseEmail,
  setPasswordHash,
  tenantKindOf,
  type NewUser,
  type User,
  type UserStatus,
} from './users.js';
export {
  ACCOUNT_TOKEN_TTL_SECONDS,
  consumeAccountToken,
  issueAccountToken,
  type AccountTokenPurpose,
} from './account-tokens.js';
