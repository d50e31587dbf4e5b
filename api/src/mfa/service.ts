import type { Queryable } from '@clutch/db';
import {
  channelAddress,
  checkCode,
  checkTotp,
  claimLoginChallenge,
  confirmChannelFactor,
  enrolledFactors,
  findUserById,
  finishPasskeyAuthentication,
  finishPasskeyRegistration,
  issueCode,
  listDeviceKeys,
  listFactors,
  listPasskeys,
  maskEmail,
  maskPhone,
  passkeyAuthenticationOptions,
  passkeyRegistrationOptions,
  remainingBackupCodes,
  removeFactor,
  replaceBackupCodes,
  startChannelSetup,
  startTotpSetup,
  touchChannelFactor,
  useBackupCode,
  verifyMfaChallenge,
  type CheckOutcome,
  type DeviceKeySummary,
  type FactorSummary,
  type MfaAttemptGuard,
  type MfaChallenge,
  type MfaKey,
  type MfaMethod,
  type PasskeySummary,
  type User,
  type WebAuthnConfig,
  type AuthenticationResponseJSON,
  type PublicKeyCredentialCreationOptionsJSON,
  type PublicKeyCredentialRequestOptionsJSON,
  type RegistrationResponseJSON,
} from '@clutch/identity';
import type { Context } from 'koa';
import type { Logger } from 'pino';
import { recordSecurityEvent, type SecurityEvent } from '../audit/index.js';
import type { Principal, UserPrincipal } from '../auth/principal.js';
import { requireRecentMfa } from '../auth/step-up.js';
import { apiError } from '../errors.js';
import { markSessionMfa, revokeSession } from '../sessions/revocation.js';
import type { PlatformAccess, SessionsService, SignedIn } from '../sessions/service.js';
import type { CodePurpose, MfaMessages } from './messages.js';

export interface MfaServiceOptions {
  /** Owner transactions: MFA rows, session marks and audit rows change together (every query names the user). */
  platform: PlatformAccess;
  sessions: SessionsService;
  key: MfaKey;
  webauthn: WebAuthnConfig;
  messages: MfaMessages;
  attempts: MfaAttemptGuard;
  /** The name authenticator apps show beside the account (`Clutch`). */
  issuer: string;
  logger: Logger;
}

export type FactorMethod = 'totp' | 'webauthn' | 'email' | 'sms';

export type SetupInput = { method: 'totp' | 'webauthn' | 'email' } | { method: 'sms'; phone: string };

export type SetupAnswer =
  | { method: 'totp'; secret: string; uri: string; qrSvg: string }
  | { method: 'webauthn'; options: PublicKeyCredentialCreationOptionsJSON }
  | { method: 'email' | 'sms'; sentTo: string; expiresAt: string };

export type ChallengeAnswer =
  | { method: 'webauthn'; options: PublicKeyCredentialRequestOptionsJSON }
  | { method: 'email' | 'sms'; sentTo: string; expiresAt: string };

export type VerifyInput = { challenge?: string | undefined } & (
  | { method: 'totp' | 'email' | 'sms' | 'backup_code'; code: string }
  | { method: 'webauthn'; response: RegistrationResponseJSON | AuthenticationResponseJSON; name?: string | undefined }
);

/** The answer of a check on a signed-in session (setup completed or step-up passed). */
export interface SessionVerified {
  method: MfaMethod;
  completed: 'setup' | 'step-up';
  mfaAt: string;
  /** The first factor's setup hands out the ten backup codes, once. */
  backupCodes?: string[];
  accessToken?: string;
  accessTokenExpiresAt?: string;
}

export interface MfaStatus {
  methods: MfaMethod[];
  factors: FactorSummary[];
  passkeys: PasskeySummary[];
  backupCodesRemaining: number;
  biometricDevices: DeviceKeySummary[];
}

/** Who an MFA request is about: a sign-in in progress (the challenge token) or a signed-in session. */
type Subject =
  | { mode: 'login'; userId: string; tenantId: string; challenge: MfaChallenge }
  | { mode: 'session'; userId: string; tenantId: string; principal: UserPrincipal };

/** Thrown inside a transaction to roll it back when a sign-in challenge turned out to be used already. */
class ChallengeUsed extends Error {}

const isRegistration = (r: RegistrationResponseJSON | AuthenticationResponseJSON): r is RegistrationResponseJSON =>
  typeof (r.response as { attestationObject?: unknown }).attestationObject === 'string';

/**
 * MFA use cases: setting factors up, sending codes, checking them (to complete a sign-in, a setup or
 * a step-up), disabling, backup codes. Every check is rate-limited per account and per address with
 * growing delays; wrong answers are committed (attempt counts, used challenges) and audited before
 * the request is refused, and a burst of them on a signed-in session ends that session.
 */
export class MfaService {
  constructor(private readonly options: MfaServiceOptions) {}

  private get platform(): PlatformAccess {
    return this.options.platform;
  }

  /** The user behind a route that needs a signed-in person (not an API key, not the admin token). */
  static userOf(principal: Principal | undefined): UserPrincipal {
    if (principal?.kind === 'user') return principal;
    if (principal === undefined) throw apiError('UNAUTHENTICATED', 'Sign in first');
    throw apiError(
      'FORBIDDEN',
      'Second factors belong to people signed in with a session, not to API keys or the admin token',
    );
  }

  private async subject(principal: Principal | undefined, token: string | undefined): Promise<Subject> {
    if (token !== undefined) {
      const challenge = await verifyMfaChallenge(this.options.sessions.keys, token);
      if (!challenge)
        throw apiError('MFA_CHALLENGE_INVALID', 'The sign-in challenge is not valid or has expired: sign in again');
      return { mode: 'login', userId: challenge.userId, tenantId: challenge.tenantId, challenge };
    }
    const user = MfaService.userOf(principal);
    return { mode: 'session', userId: user.userId, tenantId: user.tenantId, principal: user };
  }

  private async activeUser(q: Queryable, subject: { userId: string; tenantId: string }): Promise<User> {
    const user = await findUserById(q, subject.userId);
    if (!user || user.status !== 'active' || user.tenantId !== subject.tenantId)
      throw apiError('UNAUTHENTICATED', 'This account cannot sign in');
    return user;
  }

  private event(
    subject: { userId: string; tenantId: string },
    ip: string | null,
    e: Omit<SecurityEvent, 'actor' | 'tenantId' | 'ip'>,
  ): SecurityEvent {
    return { actor: `user:${subject.userId}`, tenantId: subject.tenantId, ip, ...e };
  }

  /** Growing delays per account and address: refuses with 429 and Retry-After while a block lasts. */
  private async admit(subject: { userId: string; tenantId: string }, ip: string | null): Promise<void> {
    const verdict = await this.options.attempts.check({ userId: subject.userId, ip: ip ?? undefined });
    if (verdict.allowed) return;
    const retryAfterSeconds = Math.max(1, Math.ceil(verdict.retryAfterMs / 1000));
    await this.platform
      .run((q) =>
        recordSecurityEvent(
          q,
          this.event(subject, ip, { action: 'mfa.rate-limited', outcome: 'denied', detail: { retryAfterSeconds } }),
        ),
      )
      .catch((err: unknown) => this.options.logger.warn({ err }, 'could not audit an MFA rate limit'));
    throw apiError('RATE_LIMITED', `Too many wrong codes; retry in ${retryAfterSeconds} s`, {
      retryAfterSeconds,
      policy: 'mfa-failures',
    });
  }

  async status(principal: UserPrincipal): Promise<MfaStatus> {
    return this.platform.run(async (q) => ({
      methods: await enrolledFactors(q, principal.userId),
      factors: await listFactors(q, principal.userId),
      passkeys: await listPasskeys(q, principal.userId),
      backupCodesRemaining: await remainingBackupCodes(q, principal.userId),
      biometricDevices: await listDeviceKeys(q, principal.userId),
    }));
  }

  /** Factors the user has, for a step-up check's problem extension. */
  methodsOf(userId: string): Promise<MfaMethod[]> {
    return this.platform.run((q) => enrolledFactors(q, userId));
  }

  /**
   * Starts setting up a factor. Adding one when another exists needs a recent MFA check (someone
   * holding a stolen session must not add their own phone); the first one does not.
   */
  async setup(ctx: Context, principal: UserPrincipal, input: SetupInput): Promise<SetupAnswer> {
    const methods = await this.methodsOf(principal.userId);
    if (methods.length > 0) requireRecentMfa(principal, undefined, methods);
    if (input.method === 'sms' && !this.options.messages.smsAvailable)
      throw apiError('MFA_CHANNEL_UNAVAILABLE', 'Text messages are not configured on this server');
    const ip = ctx.ip || null;
    const started = await this.platform.run(async (q) => {
      const user = await this.activeUser(q, principal);
      const ref = { userId: user.id, tenantId: user.tenantId };
      await recordSecurityEvent(
        q,
        this.event(ref, ip, {
          action: 'mfa.setup-started',
          target: input.method,
          outcome: 'success',
          detail: { method: input.method },
        }),
      );
      if (input.method === 'totp') {
        const setup = await startTotpSetup(q, this.options.key, {
          ...ref,
          issuer: this.options.issuer,
          account: user.email,
        });
        return {
          user,
          answer: { method: 'totp', secret: setup.secret, uri: setup.uri, qrSvg: setup.qrSvg } as SetupAnswer,
        };
      }
      if (input.method === 'webauthn') {
        const options = await passkeyRegistrationOptions(q, this.options.webauthn, {
          ...ref,
          userName: user.email,
          displayName: user.displayName,
        });
        return { user, answer: { method: 'webauthn', options } as SetupAnswer };
      }
      await startChannelSetup(q, ref, input.method, input.method === 'sms' ? input.phone : undefined);
      const issued = await issueCode(q, this.options.key, ref, input.method, 'setup');
      if (!('code' in issued)) throw throttled(issued.throttledForSeconds);
      const to = input.method === 'sms' ? input.phone : user.email;
      return {
        user,
        answer: {
          method: input.method,
          sentTo: mask(input.method, to),
          expiresAt: issued.expiresAt.toISOString(),
        } as SetupAnswer,
        send: { to, code: issued.code },
      };
    });
    if (started.send && (started.answer.method === 'email' || started.answer.method === 'sms'))
      await this.options.messages.sendCode(
        started.answer.method,
        started.send.to,
        started.user,
        started.send.code,
        'setup',
      );
    return started.answer;
  }

  /**
   * A challenge for a factor that needs one before it can be answered: a code by email or SMS, or
   * WebAuthn options. For a sign-in in progress (`challenge` token) or a step-up.
   */
  async challenge(
    ctx: Context,
    principal: Principal | undefined,
    input: { method: 'email' | 'sms' | 'webauthn'; challenge?: string | undefined },
  ): Promise<ChallengeAnswer> {
    const subject = await this.subject(principal, input.challenge);
    const ip = ctx.ip || null;
    await this.admit(subject, ip);
    const purpose: CodePurpose = subject.mode === 'login' ? 'login' : 'step-up';
    const result = await this.platform.run(async (q) => {
      const user = await this.activeUser(q, subject);
      if (input.method === 'webauthn') {
        const options = await passkeyAuthenticationOptions(q, this.options.webauthn, subject);
        if (!options) throw apiError('MFA_NOT_ENROLLED', 'No passkey is registered for this account');
        return { user, answer: { method: 'webauthn', options } as ChallengeAnswer };
      }
      const to = await channelAddress(q, subject.userId, input.method, { confirmed: true });
      if (to === null) throw apiError('MFA_NOT_ENROLLED', `Codes by ${input.method} are not set up for this account`);
      const issued = await issueCode(q, this.options.key, subject, input.method, purpose);
      if (!('code' in issued)) throw throttled(issued.throttledForSeconds);
      await recordSecurityEvent(
        q,
        this.event(subject, ip, {
          action: 'mfa.code-sent',
          target: input.method,
          outcome: 'success',
          detail: { purpose },
        }),
      );
      return {
        user,
        answer: {
          method: input.method,
          sentTo: mask(input.method, to),
          expiresAt: issued.expiresAt.toISOString(),
        } as ChallengeAnswer,
        send: { to, code: issued.code },
      };
    });
    if (result.send && result.answer.method !== 'webauthn')
      await this.options.messages.sendCode(
        result.answer.method,
        result.send.to,
        result.user,
        result.send.code,
        purpose,
      );
    return result.answer;
  }

  /**
   * Checks a second factor. With a sign-in `challenge`: completes the sign-in (a session starts).
   * On a signed-in session: completes a pending setup of that method, or is a step-up check that
   * marks the session. Either way the session's new MFA time is in a fresh access token at once.
   */
  async verify(
    ctx: Context,
    principal: Principal | undefined,
    input: VerifyInput,
  ): Promise<{ kind: 'login'; body: SignedIn } | { kind: 'session'; body: SessionVerified }> {
    const subject = await this.subject(principal, input.challenge);
    const ip = ctx.ip || null;
    await this.admit(subject, ip);
    const now = new Date();
    let result: { outcome: CheckOutcome; completed: 'login' | 'setup' | 'step-up'; user: User; backupCodes?: string[] };
    try {
      result = await this.platform.run(async (q) => {
        const user = await this.activeUser(q, subject);
        const { outcome, completed } = await this.check(q, subject, user, input, now);
        const purpose = completed;
        if (outcome !== 'accepted') {
          await recordSecurityEvent(
            q,
            this.event(subject, ip, {
              action: 'mfa.failed',
              target: input.method,
              outcome: 'failure',
              detail: { method: input.method, purpose, reason: outcome === 'none' ? 'nothing-to-answer' : 'wrong' },
            }),
          );
          return { outcome, completed, user };
        }
        if (
          subject.mode === 'login' &&
          !(await claimLoginChallenge(q, subject.challenge.id, subject.challenge.expiresAt))
        )
          throw new ChallengeUsed();
        let backupCodes: string[] | undefined;
        if (subject.mode === 'session') {
          await markSessionMfa(q, subject.principal.sessionId, now);
          if (completed === 'setup' && (await remainingBackupCodes(q, user.id)) === 0)
            backupCodes = await replaceBackupCodes(q, this.options.key, subject);
        }
        await recordSecurityEvent(
          q,
          this.event(subject, ip, {
            action: completed === 'setup' ? 'mfa.enabled' : 'mfa.verified',
            target: input.method,
            outcome: 'success',
            detail: {
              method: input.method,
              purpose,
              ...(backupCodes ? { backupCodesIssued: backupCodes.length } : {}),
            },
          }),
        );
        return { outcome, completed, user, ...(backupCodes ? { backupCodes } : {}) };
      });
    } catch (err) {
      if (!(err instanceof ChallengeUsed)) throw err;
      await this.platform.run((q) =>
        recordSecurityEvent(
          q,
          this.event(subject, ip, {
            action: 'mfa.failed',
            target: input.method,
            outcome: 'failure',
            detail: { method: input.method, purpose: 'login', reason: 'challenge-used' },
          }),
        ),
      );
      throw apiError('MFA_CHALLENGE_INVALID', 'This sign-in was completed already: sign in again');
    }

    if (result.outcome !== 'accepted') return this.refuse(subject, ip, input.method, ctx.origin);
    await this.options.attempts.succeeded({ userId: subject.userId, ip: ip ?? undefined });

    if (subject.mode === 'login') {
      const body = await this.options.sessions.start(ctx, {
        userId: subject.userId,
        tenantId: subject.tenantId,
        mfaAt: now,
        deviceName: subject.challenge.deviceName,
      });
      return { kind: 'login', body };
    }
    if (result.completed === 'setup')
      this.tell(() => this.options.messages.factorChanged(result.user, 'added', input.method, ctx.origin));
    this.options.sessions.forget(subject.principal.sessionId);
    const fresh = await this.options.sessions.reissueAccess(ctx, subject.principal);
    return {
      kind: 'session',
      body: {
        method: input.method,
        completed: result.completed === 'setup' ? 'setup' : 'step-up',
        mfaAt: now.toISOString(),
        ...(result.backupCodes ? { backupCodes: result.backupCodes } : {}),
        ...(fresh.accessToken !== undefined ? { accessToken: fresh.accessToken } : {}),
        ...(fresh.accessTokenExpiresAt !== undefined ? { accessTokenExpiresAt: fresh.accessTokenExpiresAt } : {}),
      },
    };
  }

  /** The factor check itself, in the use case's transaction; says what it would complete. */
  private async check(
    q: Queryable,
    subject: Subject,
    user: User,
    input: VerifyInput,
    now: Date,
  ): Promise<{ outcome: CheckOutcome; completed: 'login' | 'setup' | 'step-up' }> {
    const signedIn = subject.mode === 'session';
    const done = (outcome: CheckOutcome, setup = false) =>
      ({ outcome, completed: setup ? 'setup' : signedIn ? 'step-up' : 'login' }) as const;
    const { key } = this.options;
    switch (input.method) {
      case 'totp': {
        if (signedIn) {
          const pending = await checkTotp(q, key, user.id, input.code, { confirming: true, now });
          if (pending !== 'none') return done(pending, true);
        }
        return done(await checkTotp(q, key, user.id, input.code, { confirming: false, now }));
      }
      case 'email':
      case 'sms': {
        if (signedIn && (await channelAddress(q, user.id, input.method, { confirmed: false })) !== null) {
          const outcome = await checkCode(q, key, user.id, input.method, 'setup', input.code);
          if (outcome === 'accepted') await confirmChannelFactor(q, user.id, input.method);
          return done(outcome, true);
        }
        const outcome = await checkCode(q, key, user.id, input.method, signedIn ? 'step-up' : 'login', input.code);
        if (outcome === 'accepted') await touchChannelFactor(q, user.id, input.method);
        return done(outcome);
      }
      case 'backup_code':
        return done((await useBackupCode(q, key, user.id, input.code)) ? 'accepted' : 'rejected');
      case 'webauthn': {
        const ref = { userId: user.id, tenantId: user.tenantId };
        if (isRegistration(input.response)) {
          if (!signedIn) return done('rejected');
          const name = input.name ?? 'Passkey';
          const registered = await finishPasskeyRegistration(q, this.options.webauthn, ref, input.response, name);
          return done(registered ? 'accepted' : 'rejected', true);
        }
        return done(await finishPasskeyAuthentication(q, this.options.webauthn, user.id, input.response));
      }
    }
  }

  /**
   * A wrong answer, already committed and audited: counts it, and past a burst on a signed-in
   * session revokes that session (H6's revokeSession: audited, announced to every process) and
   * tells the user by mail.
   */
  private async refuse(subject: Subject, ip: string | null, method: MfaMethod, origin: string): Promise<never> {
    const sessionId = subject.mode === 'session' ? subject.principal.sessionId : undefined;
    const { revokeSession: burst } = await this.options.attempts.failed({
      userId: subject.userId,
      ip: ip ?? undefined,
      sessionId,
    });
    if (burst && sessionId !== undefined) {
      const { session, user } = await this.platform.run(async (q) => ({
        session: await revokeSession(q, sessionId, 'mfa-failures', 'platform:mfa'),
        user: await findUserById(q, subject.userId),
      }));
      this.options.sessions.forget(sessionId);
      if (session && user) this.tell(() => this.options.messages.burstRevoked(user, session.deviceName, origin));
      throw apiError('UNAUTHENTICATED', 'Too many wrong codes: this session was signed out; sign in again');
    }
    throw apiError(
      'MFA_VERIFICATION_FAILED',
      method === 'webauthn' ? 'The passkey was not accepted' : 'The code is wrong, expired or already used',
    );
  }

  /** Removes a factor (a recent MFA check needed). The last one gone takes the backup codes with it. */
  async disable(
    ctx: Context,
    principal: UserPrincipal,
    input: { method: FactorMethod; credentialId?: string | undefined },
  ): Promise<{ methods: MfaMethod[] }> {
    const methods = await this.methodsOf(principal.userId);
    requireRecentMfa(principal, undefined, methods);
    const ip = ctx.ip || null;
    const { user, remaining } = await this.platform.run(async (q) => {
      const user = await this.activeUser(q, principal);
      if (!(await removeFactor(q, user.id, input.method, input.credentialId)))
        throw apiError(
          'MFA_NOT_ENROLLED',
          `There is no ${input.method} factor${input.credentialId ? ' with that id' : ''} to remove`,
        );
      await recordSecurityEvent(
        q,
        this.event(principal, ip, {
          action: 'mfa.disabled',
          target: input.method,
          outcome: 'success',
          detail: { method: input.method, ...(input.credentialId ? { credentialId: input.credentialId } : {}) },
        }),
      );
      return { user, remaining: await enrolledFactors(q, user.id) };
    });
    this.tell(() => this.options.messages.factorChanged(user, 'removed', input.method, ctx.origin));
    return { methods: remaining };
  }

  /** A new set of ten backup codes, shown once; the old set stops working. Needs a recent MFA check. */
  async newBackupCodes(ctx: Context, principal: UserPrincipal): Promise<{ codes: string[] }> {
    const methods = await this.methodsOf(principal.userId);
    if (!methods.some((m) => m !== 'backup_code'))
      throw apiError('MFA_NOT_ENROLLED', 'Set up a second factor first: backup codes replace a lost one');
    requireRecentMfa(principal, undefined, methods);
    const ip = ctx.ip || null;
    const codes = await this.platform.run(async (q) => {
      const codes = await replaceBackupCodes(q, this.options.key, principal);
      await recordSecurityEvent(
        q,
        this.event(principal, ip, {
          action: 'mfa.backup-codes.generated',
          outcome: 'success',
          detail: { count: codes.length },
        }),
      );
      return codes;
    });
    return { codes };
  }

  /** After the commit and off the request: a slow mail server must not fail the use case. */
  private tell(send: () => Promise<void>): void {
    send().catch((err: unknown) => this.options.logger.warn({ err }, 'could not send an MFA notice'));
  }
}

function mask(channel: 'email' | 'sms', to: string): string {
  return channel === 'sms' ? maskPhone(to) : maskEmail(to);
}

function throttled(seconds: number): Error {
  return apiError('RATE_LIMITED', `Too many codes sent; retry in ${seconds} s`, {
    retryAfterSeconds: seconds,
    policy: 'mfa-codes',
  });
}
