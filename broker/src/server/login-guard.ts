import type { LoginKey, LoginLimiter } from '@clutch/identity';
import type { AuthDecision } from '../policy/policy.js';
import { USER_USERNAME, userLoginAccount } from '../policy/user-login.js';
import type { ConnectRefusal } from './connect-gate.js';

const SERVER_UNAVAILABLE = 3;
const BAD_CREDENTIALS = 4;
const NOT_AUTHORIZED = 5;

/** The login as the limiter counts it: the account named by the CONNECT and the remote address. */
export interface LoginAttempt {
  username: string | undefined;
  password: Buffer | undefined;
  /** Subject CN of a verified client certificate, when the client presented one. */
  certificateName?: string | undefined;
  ip: string | undefined;
}

/**
 * The account a CONNECT tries to log in as. Every partner logs in with the username `apikey`, so the
 * account is the key id inside the token: counting failures against `apikey` itself would let one
 * bad key block every partner. A malformed token names no account (its address still counts).
 */
export function loginAccount(
  attempt: Pick<LoginAttempt, 'username' | 'password' | 'certificateName'>,
): string | undefined {
  const username = attempt.username === '' ? undefined : attempt.username;
  if (username === 'apikey') {
    const keyId = /^ck_([a-z0-9]{8,32})_/.exec(attempt.password?.toString('utf8') ?? '')?.[1];
    return keyId ? `apikey:${keyId}` : undefined;
  }
  // Likewise every signed-in person logs in as `user`: the account is the token's subject.
  if (username === USER_USERNAME) return userLoginAccount(attempt.password?.toString('utf8') ?? '');
  return username ?? attempt.certificateName;
}

export interface LoginGuard {
  /** Checked before any credential lookup: the refusal when the account or the address is blocked. */
  refusal(attempt: LoginAttempt): Promise<ConnectRefusal | undefined>;
  /** Counts the policy's decision: wrong or missing credentials are failures, a login a success. */
  settle(attempt: LoginAttempt, decision: AuthDecision): Promise<void>;
}

/**
 * Failed-login limits on the broker's front door (the counting itself is @clutch/identity's login
 * limiter, shared with other doors and across brokers through Redis).
 *
 * A blocked login is answered with CONNACK 0x03, server unavailable, and not 0x05 or 0x04:
 * - the credentials are not looked at, so 0x04 (bad username or password) would be a lie that
 *   could make an operator rotate a good credential;
 * - 0x03 means "retry later" (MQTT 3.1.1 §3.2.2.3: the service is unavailable), which a block is,
 *   whereas 0x04/0x05 tell the device's operator to fix the credential, and some client libraries
 *   stop reconnecting on them;
 * - it tells a guesser nothing about the guess.
 * [MQTT-3.2.2-5] aedes closes the connection after the non-zero CONNACK.
 *
 * The limiter failing (Redis gone and its in-memory stand-in failing too) lets the login through:
 * the limits protect the credential store, and refusing every device would be a worse outage.
 */
export function createLoginGuard(limiter: LoginLimiter, onError: (err: Error) => void = () => {}): LoginGuard {
  const keyOf = (attempt: LoginAttempt): LoginKey => ({ username: loginAccount(attempt), ip: attempt.ip });
  return {
    async refusal(attempt) {
      try {
        const verdict = await limiter.check(keyOf(attempt));
        if (verdict.allowed) return undefined;
        return {
          returnCode: SERVER_UNAVAILABLE,
          reason: `too many failed logins; blocked for ${Math.ceil(verdict.retryAfterMs / 1000)} s`,
        };
      } catch (err) {
        onError(err as Error);
        return undefined;
      }
    },
    async settle(attempt, decision) {
      try {
        if (decision.ok) await limiter.succeeded(keyOf(attempt));
        // 0x03 (database down) and 0x02 (client id outside the principal's namespace, after a valid
        // credential) say nothing about a guessed secret: not counted.
        else if (decision.returnCode === BAD_CREDENTIALS || decision.returnCode === NOT_AUTHORIZED)
          await limiter.failed(keyOf(attempt));
      } catch (err) {
        onError(err as Error);
      }
    },
  };
}
