import { MFA_METHODS } from '@clutch/identity';
import { apiError } from '../errors.js';
import type { Principal } from './principal.js';
import type { Scope } from './scope.js';

/** How recent an MFA check must be for a sensitive action, unless the route says otherwise. */
export const STEP_UP_MAX_AGE_SECONDS = 300;

/** Where a client proves a second factor again (the problem tells it). */
export const STEP_UP_VERIFY_PATH = '/api/auth/mfa/verify';

/**
 * Step-up for sensitive actions (API-key creation, clearing DTCs, role changes; later payouts,
 * refunds, erasure): a signed-in user must have passed an MFA check on this session within the last
 * `maxAgeSeconds`, or the request is refused with 403 `MFA_STEP_UP_REQUIRED`, whose extension tells
 * the client what to do (`methods`, `verify`, `maxAgeSeconds`).
 *
 * The other principals, decided here once for every sensitive route (docs/mfa.md, "Step-up"):
 * - the admin token is the break-glass credential of operators: it passes, and the routes that take
 *   it record its use (their administration runs in an audited scope, or `recordBreakGlass`);
 * - open dev mode (anonymous administrator) passes: it exists only in the `npm start` demo;
 * - a partner API key passes: it is a machine credential no person can step up with, its scope is
 *   the explicit grant, and creating it needed a step-up in the first place.
 *
 * `methods` are what the client may use; a route that knows the user's enrolled factors passes them,
 * otherwise every method the server supports is listed (`GET /api/auth/mfa` tells the user's own).
 */
export function requireRecentMfa(
  principal: Principal,
  maxAgeSeconds: number = STEP_UP_MAX_AGE_SECONDS,
  methods: readonly string[] = MFA_METHODS,
  now: Date = new Date(),
): void {
  if (principal.kind !== 'user') return;
  if (hasRecentMfa(principal.mfaAt, maxAgeSeconds, now)) return;
  throw apiError(
    'MFA_STEP_UP_REQUIRED',
    principal.mfaAt === null
      ? 'This action needs a second-factor check on this session; verify one (set one up first if you have none)'
      : `This action needs a second-factor check within the last ${maxAgeSeconds} seconds`,
    { methods: [...methods], verify: STEP_UP_VERIFY_PATH, maxAgeSeconds },
  );
}

/** True when an MFA check at `mfaAt` is at most `maxAgeSeconds` old (and not from the future). */
export function hasRecentMfa(mfaAt: Date | null, maxAgeSeconds: number, now: Date = new Date()): boolean {
  if (mfaAt === null) return false;
  const age = now.getTime() - mfaAt.getTime();
  // A minute of clock skew between API processes is tolerated; a check dated further ahead is not trusted.
  return age >= -60_000 && age <= maxAgeSeconds * 1000;
}

/**
 * `requireRecentMfa`, and when the admin token is what let the caller past it, a record of that
 * break-glass use in the audit log (its own transaction: it stays even when the action then fails).
 * For routes whose work does not already run in an audited scope (the DTC clear command).
 */
export async function requireStepUp(
  request: { principal: Principal; scope: Scope },
  action: string,
  maxAgeSeconds: number = STEP_UP_MAX_AGE_SECONDS,
): Promise<void> {
  requireRecentMfa(request.principal, maxAgeSeconds);
  if (request.principal.kind === 'admin' && !request.principal.dev) {
    await request.scope.audited({ action: 'step-up.break-glass', detail: { for: action } }).run(async () => undefined);
  }
}
