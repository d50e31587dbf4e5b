import type { Context } from 'koa';
import type { SessionsService, SignedIn, StartSessionInput } from './service.js';

/**
 * The seam other identity routes call once a user is proven (H7: after the second factor, after a
 * biometric sign-in): starts a session and answers like `POST /api/auth/login` does. Browsers get
 * httpOnly cookies; the mobile app (`X-Client: mobile`) gets `accessToken` and `refreshToken` in
 * the returned body. Return the body as the route's response.
 */
export function startSession(ctx: Context, sessions: SessionsService, input: StartSessionInput): Promise<SignedIn> {
  return sessions.start(ctx, input);
}
