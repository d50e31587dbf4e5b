import {
  enrolledFactors,
  findUserById,
  issueBiometricChallenge,
  listDeviceKeys,
  parseDevicePublicKey,
  registerDeviceKey,
  revokeDeviceKey,
  verifyBiometricSignature,
  type BiometricChallenge,
  type DeviceKeySummary,
  type LoginLimiter,
} from '@clutch/identity';
import type { Context } from 'koa';
import { recordSecurityEvent } from '../audit/index.js';
import type { UserPrincipal } from '../auth/principal.js';
import { requireRecentMfa } from '../auth/step-up.js';
import { apiError } from '../errors.js';
import type { PlatformAccess, SessionsService, SignedIn } from '../sessions/service.js';

export interface BiometricServiceOptions {
  platform: PlatformAccess;
  sessions: SessionsService;
  /** Failed signatures per device key and per address, with growing delays (never a permanent lock). */
  limiter: LoginLimiter;
}

/**
 * Biometric sign-in for the mobile app (identity/src/mfa/biometric.ts has the protocol): register
 * a phone's P-256 key after a normal sign-in, hand out single-use challenges, and start a session
 * when a challenge comes back signed by that key. The session counts as MFA-checked: the key sits
 * in the phone's secure hardware and is unlocked by the owner's fingerprint or face (something they
 * have and something they are), as a passkey with user verification does.
 */
export class BiometricService {
  constructor(private readonly options: BiometricServiceOptions) {}

  /**
   * Registers the phone's public key for the signed-in user. A user with MFA must have passed it
   * recently (right after an MFA sign-in they have): the key becomes a way in on its own.
   */
  async register(
    ctx: Context,
    principal: UserPrincipal,
    input: { publicKey: unknown; deviceName: string },
  ): Promise<DeviceKeySummary> {
    const methods = await this.options.platform.run((q) => enrolledFactors(q, principal.userId));
    if (methods.length > 0) requireRecentMfa(principal, undefined, methods);
    const key = parseDevicePublicKey(input.publicKey);
    return this.options.platform.run(async (q) => {
      const device = await registerDeviceKey(q, principal, key, input.deviceName);
      await recordSecurityEvent(q, {
        actor: `user:${principal.userId}`,
        action: 'biometric.registered',
        target: device.id,
        tenantId: principal.tenantId,
        ip: ctx.ip || null,
        outcome: 'success',
        detail: { deviceName: input.deviceName },
      });
      return device;
    });
  }

  list(principal: UserPrincipal): Promise<DeviceKeySummary[]> {
    return this.options.platform.run((q) => listDeviceKeys(q, principal.userId));
  }

  async revoke(ctx: Context, principal: UserPrincipal, deviceKeyId: string): Promise<void> {
    await this.options.platform.run(async (q) => {
      if (!(await revokeDeviceKey(q, principal.userId, deviceKeyId)))
        throw apiError('BIOMETRIC_KEY_NOT_FOUND', 'No such phone is registered for biometric sign-in');
      await recordSecurityEvent(q, {
        actor: `user:${principal.userId}`,
        action: 'biometric.revoked',
        target: deviceKeyId,
        tenantId: principal.tenantId,
        ip: ctx.ip || null,
        outcome: 'success',
      });
    });
  }

  private async admit(deviceKeyId: string, ip: string | null): Promise<void> {
    const verdict = await this.options.limiter.check({ username: `device:${deviceKeyId}`, ip: ip ?? undefined });
    if (verdict.allowed) return;
    const retryAfterSeconds = Math.max(1, Math.ceil(verdict.retryAfterMs / 1000));
    throw apiError('RATE_LIMITED', `Too many failed biometric sign-ins; retry in ${retryAfterSeconds} s`, {
      retryAfterSeconds,
      policy: 'biometric-failures',
    });
  }

  /** A single-use challenge for a registered phone; unknown and revoked keys are refused alike. */
  async challenge(ctx: Context, deviceKeyId: string): Promise<BiometricChallenge> {
    const ip = ctx.ip || null;
    await this.admit(deviceKeyId, ip);
    const challenge = await this.options.platform.run((q) => issueBiometricChallenge(q, deviceKeyId));
    if (!challenge) {
      await this.options.limiter.failed({ username: `device:${deviceKeyId}`, ip: ip ?? undefined });
      throw apiError('MFA_VERIFICATION_FAILED', 'This phone is not registered for biometric sign-in (or was removed)');
    }
    return challenge;
  }

  /**
   * Checks the signed challenge and starts a session with bearer tokens (the app is a mobile client
   * whatever headers it sent). Failures are audited and counted before the refusal.
   */
  async verify(
    ctx: Context,
    input: { deviceKeyId: string; challengeId: string; signature: string; deviceName?: string | undefined },
  ): Promise<SignedIn> {
    const ip = ctx.ip || null;
    await this.admit(input.deviceKeyId, ip);
    const signedIn = await this.options.platform.run(async (q) => {
      const found = await verifyBiometricSignature(q, input);
      if (!found) {
        const { rows } = await q.query<{ user_id: string; tenant_id: string }>(
          'SELECT user_id, tenant_id FROM biometric_device_keys WHERE id = $1',
          [input.deviceKeyId],
        );
        await recordSecurityEvent(q, {
          actor: rows[0] ? `user:${rows[0].user_id}` : 'anonymous',
          action: 'biometric.failed',
          target: input.deviceKeyId,
          tenantId: rows[0]?.tenant_id ?? null,
          ip,
          outcome: 'failure',
        });
        return null;
      }
      const user = await findUserById(q, found.userId);
      return user && user.status === 'active' ? found : null;
    });
    if (!signedIn) {
      await this.options.limiter.failed({ username: `device:${input.deviceKeyId}`, ip: ip ?? undefined });
      throw apiError('MFA_VERIFICATION_FAILED', 'The signature was not accepted: ask for a new challenge and sign it');
    }
    await this.options.limiter.succeeded({ username: `device:${input.deviceKeyId}`, ip: ip ?? undefined });
    // Biometric sign-in is the app's: bearer tokens in the body, never browser cookies.
    ctx.request.header['x-client'] = 'mobile';
    return this.options.sessions.start(ctx, {
      userId: signedIn.userId,
      tenantId: signedIn.tenantId,
      mfaAt: new Date(),
      deviceName: input.deviceName ?? signedIn.deviceName,
    });
  }
}
