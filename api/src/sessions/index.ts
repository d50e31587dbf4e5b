// The sessions seam (IDENTITY.md §2): what other identity domains call.
export { startSession } from './start.js';
export { markSessionMfa, revokeSession, revokeUserSessions } from './revocation.js';
export {
  SessionsService,
  userView,
  type PlatformAccess,
  type SessionNotices,
  type SessionView,
  type SignedIn,
  type StartSessionInput,
  type UserView,
} from './service.js';
export { SessionCache, type SessionStatus } from './cache.js';
export { clientOf, deviceFacts, fingerprintOf } from './device.js';
export { ACCESS_COOKIE, REFRESH_COOKIE } from './cookies.js';
export { CSRF_COOKIE, CSRF_HEADER } from '../http/csrf.js';
