import {
  consumeAccountToken,
  enrolledFactors,
  findUserByEmail,
  findUserById,
  hashPassword,
  insertUser,
  issueAccountToken,
  markEmailVerified,
  needsRehash,
  normaliseEmail,
  passwordProblem,
  setPasswordHash,
  sha256,
  signMfaChallenge,
  verifyAgainstDummy,
  verifyPassword,
  type LoginLimiter,
  type MfaMethod,
  type User,
} from '@clutch/identity';
import type { Context } from 'koa';
import type { Logger } from 'pino';
import { recordSecurityEvent } from '../audit/index.js';
import type { UserPrincipal } from '../auth/principal.js';
import type { Scope } from '../auth/scope.js';
import { apiError } from '../errors.js';
import { deviceFacts } from '../sessions/device.js';
import { revokeUserSessions } from '../sessions/revocation.js';
import {
  userView,
  type PlatformAccess,
  type SessionsService,
  type SignedIn,
  type UserView,
} from '../sessions/service.js';
import type { AccountMail } from './mail.js';

/** The tenant every self-registered car owner joins (db/migrations/020_accounts.sql). */
export const CONSUMER_TENANT = 'consumers';

/** The answer of a correct password when a second factor is still due (IDENTITY.md §2). */
export interface MfaRequired {
  mfaRequired: true;
  /** Signed, 5 minutes, audience `mfa-login`: hand it to `POST /api/auth/mfa/verify` with the code. */
  challenge: string;
  methods: MfaMethod[];
}

/** What `GET /api/me` adds about permissions; H5's policy fills it (see register.ts). */
export type PermissionsOf = (principal: UserPrincipal) => Promise<{ roles: unknown[]; permissions: string[] }>;

export interface AccountsServiceOptions {
  platform: PlatformAccess;
  sessions: SessionsService;
  mail: AccountMail;
  /** Failed sign-ins per address and per account, with growing delays (never a permanent lock). */
  limiter: LoginLimiter;
  logger: Logger;
  /** Base URL of the links in mail; default: the origin of the request (its host was allow-listed). */
  publicUrl?: string | undefined;
  permissionsOf?: PermissionsOf | undefined;
}

const LOGIN_FAILED = 'The email address or the password is wrong';

/**
 * Accounts: registration, sign-in, email verification, password reset, invitations. No answer
 * tells whether an address has an account: registration and "forgot password" answer the same
 * either way (the mailbox learns the difference), and every failed sign-in is the same 401 after
 * about the same time.
 */
export class AccountsService {
  constructor(private readonly options: AccountsServiceOptions) {}

  private origin(ctx: Context): string {
    return this.options.publicUrl ?? `${ctx.protocol}://${ctx.host}`;
  }

  /** Mail goes out after the answer is decided and never delays or fails it (timing and enumeration). */
  private later(what: string, send: () => Promise<void>): void {
    send().catch((err: unknown) => this.options.logger.warn({ err, what }, 'account mail not sent'));
  }

  private refusePassword(password: string, email: string): void {
    const problem = passwordProblem(password, { email });
    if (problem) throw apiError('PASSWORD_REJECTED', passwordMessage(problem), { reason: problem });
  }

  /**
   * An owner signs up into the consumer tenant. Answers the same whether or not the address is
   * taken: a new account gets a verification link, an existing one a "you already have an
   * account" message. A weak password is refused first (that says nothing about the address).
   */
  async register(
    ctx: Context,
    input: { email: string; password: string; displayName: string; locale?: string | undefined },
  ): Promise<void> {
    const email = normaliseEmail(input.email);
    this.refusePassword(input.password, email);
    const passwordHash = await hashPassword(input.password);
    const outcome = await this.options.platform.run(async (q) => {
      const created = await insertUser(q, {
        tenantId: CONSUMER_TENANT,
        email,
        displayName: input.displayName,
        passwordHash,
        status: 'active',
        locale: input.locale,
      });
      if (!created) return { kind: 'exists' as const, user: await findUserByEmail(q, email) };
      const token = await issueAccountToken(q, {
        userId: created.id,
        tenantId: created.tenantId,
        purpose: 'verify-email',
      });
      await recordSecurityEvent(q, {
        actor: `user:${created.id}`,
        action: 'account.registered',
        target: created.id,
        tenantId: created.tenantId,
        ip: ctx.ip || null,
        outcome: 'success',
      });
      return { kind: 'created' as const, user: created, token };
    });
    const origin = this.origin(ctx);
    if (outcome.kind === 'created')
      this.later('verify-email', () => this.options.mail.verifyEmail(outcome.user, origin, outcome.token));
    else if (outcome.user) {
      const user = outcome.user;
      this.later('already-registered', () => this.options.mail.alreadyRegistered(user, origin));
    }
  }

  /**
   * Email and password. Wrong address, wrong password, an invited account without a password or a
   * disabled one: the same 401, after an argon2 verification either way. With MFA enrolled, the
   * answer is a challenge instead of a session.
   */
  async login(
    ctx: Context,
    input: { email: string; password: string; deviceName?: string | undefined },
  ): Promise<SignedIn | MfaRequired> {
    const email = normaliseEmail(input.email);
    const key = { username: `email:${email}`, ip: ctx.ip };
    const verdict = await this.options.limiter.check(key);
    if (!verdict.allowed) {
      const retryAfterSeconds = Math.max(1, Math.ceil(verdict.retryAfterMs / 1000));
      ctx.set('Retry-After', String(retryAfterSeconds));
      throw apiError('RATE_LIMITED', `Too many failed sign-ins; retry in ${retryAfterSeconds} s`, {
        retryAfterSeconds,
        policy: 'sign-in-failures',
      });
    }
    const user = await this.options.platform.run((q) => findUserByEmail(q, email));
    const usable = user !== null && user.status === 'active' && user.passwordHash !== null;
    const ok = usable
      ? await verifyPassword(user.passwordHash!, input.password)
      : await verifyAgainstDummy(input.password);
    if (!ok || !user) {
      await this.options.limiter.failed(key).catch(() => undefined);
      // Its own transaction: the failure is recorded although nothing else happens.
      await this.options.platform.run((q) =>
        recordSecurityEvent(q, {
          actor: user ? `user:${user.id}` : 'anonymous',
          action: 'auth.login.failed',
          target: email,
          tenantId: user?.tenantId ?? null,
          ip: ctx.ip || null,
          outcome: 'failure',
          detail: { reason: !user ? 'unknown-email' : !usable ? `status-${user.status}` : 'wrong-password' },
        }),
      );
      throw apiError('UNAUTHENTICATED', LOGIN_FAILED);
    }
    await this.options.limiter.succeeded(key).catch(() => undefined);
    if (needsRehash(user.passwordHash!)) {
      const upgraded = await hashPassword(input.password);
      await this.options.platform.run((q) => setPasswordHash(q, user.id, upgraded));
    }
    const methods = await this.options.platform.run((q) => enrolledFactors(q, user.id));
    if (methods.length > 0) {
      const device = deviceFacts(ctx, input.deviceName);
      const challenge = await signMfaChallenge(this.options.sessions.keys, {
        userId: user.id,
        tenantId: user.tenantId,
        client: device.client,
        deviceName: device.deviceName ?? null,
        fingerprint: device.fingerprint ? Buffer.from(device.fingerprint).toString('hex') : null,
        ip: device.ip,
        userAgent: device.userAgent,
      });
      return { mfaRequired: true, challenge, methods };
    }
    return this.options.sessions.start(ctx, {
      userId: user.id,
      tenantId: user.tenantId,
      mfaAt: null,
      deviceName: input.deviceName,
    });
  }

  async verifyEmail(ctx: Context, token: string): Promise<void> {
    const ok = await this.options.platform.run(async (q) => {
      const owner = await consumeAccountToken(q, 'verify-email', token);
      if (!owner) return false;
      await markEmailVerified(q, owner.userId);
      await recordSecurityEvent(q, {
        actor: `user:${owner.userId}`,
        action: 'account.email-verified',
        target: owner.userId,
        tenantId: owner.tenantId,
        ip: ctx.ip || null,
        outcome: 'success',
      });
      return true;
    });
    if (!ok) throw apiError('ACCOUNT_TOKEN_INVALID');
  }

  /** Always the same answer; the mailbox gets a reset link, or word that it has no account. */
  async forgotPassword(ctx: Context, emailInput: string): Promise<void> {
    const email = normaliseEmail(emailInput);
    const found = await this.options.platform.run(async (q) => {
      const user = await findUserByEmail(q, email);
      if (!user || user.status === 'disabled') return null;
      const token = await issueAccountToken(q, { userId: user.id, tenantId: user.tenantId, purpose: 'password-reset' });
      await recordSecurityEvent(q, {
        actor: 'anonymous',
        action: 'account.password-reset-requested',
        target: user.id,
        tenantId: user.tenantId,
        ip: ctx.ip || null,
        outcome: 'success',
      });
      return { user, token };
    });
    const origin = this.origin(ctx);
    if (found) this.later('password-reset', () => this.options.mail.resetPassword(found.user, origin, found.token));
    else this.later('password-reset-unknown', () => this.options.mail.resetUnknown(email, 'en'));
  }

  /** A new password from a reset link: every session of the account ends, and the user is told. */
  async resetPassword(ctx: Context, token: string, password: string): Promise<void> {
    const user = await this.usePasswordToken(ctx, 'password-reset', token, password, 'account.password-reset');
    this.later('password-changed', () => this.options.mail.passwordChanged(user, this.origin(ctx)));
  }

  /** An invited user sets their password; their address is verified by the link, and they are signed in. */
  async acceptInvitation(
    ctx: Context,
    input: { token: string; password: string; displayName?: string | undefined; deviceName?: string | undefined },
  ): Promise<SignedIn> {
    const user = await this.usePasswordToken(
      ctx,
      'invitation',
      input.token,
      input.password,
      'account.invitation-accepted',
      input.displayName,
    );
    return this.options.sessions.start(ctx, {
      userId: user.id,
      tenantId: user.tenantId,
      mfaAt: null,
      deviceName: input.deviceName,
    });
  }

  private async usePasswordToken(
    ctx: Context,
    purpose: 'password-reset' | 'invitation',
    token: string,
    password: string,
    action: string,
    displayName?: string,
  ): Promise<User> {
    // The token is checked before the (slow) hash but consumed only with the new password, so a
    // refused password does not burn the link.
    const peek = await this.options.platform.run(async (q) => {
      const { rows } = await q.query<{ user_id: string }>(
        `SELECT user_id FROM account_tokens WHERE token_sha256 = $1 AND purpose = $2 AND used_at IS NULL AND expires_at > now()`,
        [tokenDigest(token), purpose],
      );
      return rows[0] ? findUserById(q, rows[0].user_id) : null;
    });
    if (!peek || peek.status === 'disabled') throw apiError('ACCOUNT_TOKEN_INVALID');
    this.refusePassword(password, peek.email);
    const passwordHash = await hashPassword(password);
    const user = await this.options.platform.run(async (q) => {
      const owner = await consumeAccountToken(q, purpose, token);
      if (!owner) return null;
      await setPasswordHash(q, owner.userId, passwordHash);
      await markEmailVerified(q, owner.userId);
      if (displayName)
        await q.query('UPDATE users SET display_name = $2, updated_at = now() WHERE id = $1', [
          owner.userId,
          displayName,
        ]);
      if (purpose === 'password-reset')
        await revokeUserSessions(q, owner.userId, 'password-reset', { actor: `user:${owner.userId}` });
      await recordSecurityEvent(q, {
        actor: `user:${owner.userId}`,
        action,
        target: owner.userId,
        tenantId: owner.tenantId,
        ip: ctx.ip || null,
        outcome: 'success',
      });
      return findUserById(q, owner.userId);
    });
    if (!user) throw apiError('ACCOUNT_TOKEN_INVALID');
    return user;
  }

  /**
   * An administrator invites someone into a partner organisation or the platform staff, a partner
   * admin into their own organisation (`scope.ownOrganisation`: another is 403): an account without
   * a password and no roles (granted afterwards through `POST /api/users/:id/roles`, where the
   * no-escalation rule applies), and a mail with a single-use link to set a password. Whoever may
   * invite may learn that an address is taken (409 EMAIL_TAKEN).
   */
  async invite(
    ctx: Context,
    scope: Scope,
    input: { email: string; displayName: string; tenantId: string; locale?: string | undefined },
  ): Promise<{ user: UserView; status: 'invited' }> {
    const email = normaliseEmail(input.email);
    const result = await scope
      .ownOrganisation({ action: 'user.invite', target: email, tenantId: input.tenantId, ip: ctx.ip || null })
      .run(async (q) => {
        const { rows } = await q.query<{ name: string; kind: string }>('SELECT name, kind FROM tenants WHERE id = $1', [
          input.tenantId,
        ]);
        const tenant = rows[0];
        if (!tenant) throw apiError('TENANT_NOT_FOUND');
        if (tenant.kind === 'consumer')
          throw apiError(
            'BAD_REQUEST',
            'Car owners sign up themselves; invitations are for partner and platform staff',
          );
        const user = await insertUser(q, {
          tenantId: input.tenantId,
          email,
          displayName: input.displayName,
          passwordHash: null,
          status: 'invited',
          locale: input.locale,
        });
        if (!user) throw apiError('EMAIL_TAKEN');
        const token = await issueAccountToken(q, { userId: user.id, tenantId: user.tenantId, purpose: 'invitation' });
        return { user, token, organisation: tenant.name };
      });
    const origin = this.origin(ctx);
    this.later('invitation', () =>
      this.options.mail.invitation(result.user, result.organisation, origin, result.token),
    );
    return { user: userView(result.user), status: 'invited' };
  }

  async me(principal: UserPrincipal): Promise<{
    user: UserView;
    session: { id: string; mfaAt: string | null };
    roles: unknown[];
    permissions: string[];
  }> {
    const user = await this.options.platform.run((q) => findUserById(q, principal.userId));
    if (!user) throw apiError('UNAUTHENTICATED', 'The account no longer exists');
    const held = this.options.permissionsOf
      ? await this.options.permissionsOf(principal)
      : { roles: [], permissions: [] };
    return {
      user: userView(user),
      session: { id: principal.sessionId, mfaAt: principal.mfaAt?.toISOString() ?? null },
      ...held,
    };
  }
}

const tokenDigest = (token: string): Buffer => sha256(token);

export function passwordMessage(problem: string): string {
  switch (problem) {
    case 'too-short':
      return 'The password must be at least 12 characters long';
    case 'too-long':
      return 'The password must be at most 256 characters long';
    case 'common':
      return 'The password is one of the most common passwords; choose another';
    case 'contains-email':
      return 'The password must not be your email address';
    default:
      return 'The password repeats a short pattern; choose another';
  }
}
