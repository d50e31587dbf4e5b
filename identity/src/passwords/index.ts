export { ARGON2_PARAMS, hashPassword, needsRehash, verifyAgainstDummy, verifyPassword } from './hash.js';
export {
  PASSWORD_MAX_LENGTH,
  PASSWORD_MIN_LENGTH,
  passwordLength,
  passwordProblem,
  type PasswordProblem,
} from './policy.js';
export { COMMON_PASSWORDS_SOURCE } from './common-passwords.js';
